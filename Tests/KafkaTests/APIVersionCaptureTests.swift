import Testing

@testable import Kafka

/// librdkafka's `APIVERSION` debug lines (as 2.16 writes them against Tansu) become the broker's API ranges; the
/// first broker's complete report wins over later ones.
@Suite struct APIVersionCaptureTests {
    @Test func collectsTheFirstCompleteReport() {
        var capture = APIVersionCapture()
        for line in [
            "127.0.0.1:19092/bootstrap: Broker API support:",
            "127.0.0.1:19092/bootstrap:   ApiKey Produce (0) Versions 0..11",
            "127.0.0.1:19092/bootstrap:   ApiKey Metadata (3) Versions 0..12",
            "127.0.0.1:19092/bootstrap:   ApiKey DescribeCluster (60) Versions 0..1",
        ] { capture.add(line) }
        #expect(capture.first ?? capture.current == ["Produce": "0..11", "Metadata": "0..12", "DescribeCluster": "0..1"])
        for line in ["111: Broker API support:", "111:   ApiKey Produce (0) Versions 3..9"] { capture.add(line) }
        #expect(capture.first?["Produce"] == "0..11")
        let description = KafkaClusterDescription(clusterID: "c", controllerID: 1, brokers: [],
                                                  apiVersions: capture.first ?? [:])
        #expect(description.brokerVersionSummary
            == "ApiVersions: 3 APIs (Produce v0..11, Metadata v0..12, DescribeCluster v0..1); Kafka reports no software version")
        #expect(KafkaClusterDescription(clusterID: nil, controllerID: nil, brokers: [], apiVersions: [:])
            .brokerVersionSummary.hasPrefix("not reported"))
    }
}
