import PipelineConfig
import Testing

@Suite struct MetricsConfigurationTests {
    let minimal = "kafka: {bootstrap_servers: \"127.0.0.1:9092\", topic_prefix: t}\ns3: {bucket: b}\n"

    @Test func listensOnLoopback9464ByDefault() throws {
        let config = try PinpipeConfiguration.load(yaml: minimal, file: "m.yaml")
        #expect(config.metrics.listen == .init(host: "127.0.0.1", port: 9464))
    }

    @Test func nullTurnsItOffAndIPv6NeedsBrackets() throws {
        #expect(try PinpipeConfiguration.load(yaml: minimal + "metrics: {listen: null}\n", file: "m.yaml").metrics.listen == nil)
        let v6 = try PinpipeConfiguration.load(yaml: minimal + "metrics: {listen: \"[::1]:9100\"}\n", file: "m.yaml")
        #expect(v6.metrics.listen == .init(host: "::1", port: 9100))
        #expect(v6.metrics.listen?.description == "[::1]:9100")
    }

    @Test func aBadAddressNamesFileLineAndKey() {
        for bad in ["9464", "127.0.0.1:", "127.0.0.1:70000", "::1:9464", "host :1"] {
            #expect {
                _ = try PinpipeConfiguration.load(yaml: minimal + "metrics:\n  listen: \"\(bad)\"\n", file: "m.yaml")
            } throws: { error in
                let text = "\(error)"
                return text.hasPrefix("m.yaml:4:") && text.contains("metrics.listen") && text.contains("is not host:port")
            }
        }
    }

    @Test func theRenderedConfigurationRoundTrips() throws {
        for listen in ["null", "\"[::1]:9100\"", "127.0.0.1:1"] {
            let config = try PinpipeConfiguration.load(yaml: minimal + "metrics: {listen: \(listen)}\n", file: "m.yaml")
            let again = try PinpipeConfiguration.load(yaml: config.renderEffective(), file: "rendered.yaml")
            #expect(again.metrics == config.metrics)
        }
    }
}
