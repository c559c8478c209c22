// swift-tools-version: 6.0
import PackageDescription

let log: Target.Dependency = .product(name: "Logging", package: "swift-log")
let clocks: Target.Dependency = .product(name: "Clocks", package: "swift-clocks")

let package = Package(
    name: "pinpipe",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pinpipe", targets: ["pinpipe"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Tests only: TestClock drives the watchdog, heartbeat, roller and retry timers.
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.0.6"),
    ],
    targets: [
        // Floor 0: module maps over the native libraries (found through pkg-config).
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Floor 1: Support (one policy each for secrets and backoff, used by every bridge), then one bridge per native
        // library or protocol.
        .target(name: "Support"),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "Kafka", dependencies: ["CRdKafka", "Support", log]),
        .target(name: "Postgres", dependencies: ["CLibPQ", "Support", log]),
        .target(name: "Systemd", dependencies: ["CSystemd", "Support", log]),
        .target(name: "S3", dependencies: [
            log, "Support",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            "CChecksum",
        ]),
        .target(name: "SampleData", dependencies: ["Support"]),
        .target(name: "Gzip", dependencies: ["CZlib"]),
        .target(name: "CChecksum"),
        // A small HTTP/1.1 server on swift-nio for the loopback endpoints (/metrics, /healthz, /readyz, later ingest).
        .target(name: "HTTPServer", dependencies: [
            log,
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // Floor 2: configuration and the pipeline.
        .target(name: "PipelineConfig", dependencies: ["YAML", "Support"]),
        .target(name: "Pipeline", dependencies: [
            "Kafka", "Postgres", "S3", "Systemd", "PipelineConfig", "SampleData", "Gzip", "Support", "HTTPServer", log,
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
        ]),

        // Floor 3: the executable (commands and wiring only).
        .executableTarget(name: "pinpipe", dependencies: [
            "Pipeline", "PipelineConfig", "Kafka", "Postgres", "S3", "Systemd", "SampleData", "YAML", "HTTPServer", log,
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        // Tests.
        .target(name: "TestSupport", dependencies: [log], path: "Tests/TestSupport"),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"]),
        .testTarget(name: "PipelineConfigTests", dependencies: ["PipelineConfig", "YAML", "Support"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "Support", "TestSupport", log]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "Support", "TestSupport", log, clocks]),
        .testTarget(name: "S3Tests", dependencies: [
            "S3", "Support", "TestSupport", log,
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], exclude: ["Oracle"]),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd", "Support", "TestSupport", log, clocks]),
        .testTarget(name: "SupportTests", dependencies: ["Support", clocks]),
        .testTarget(name: "HTTPServerTests", dependencies: [
            "HTTPServer", "TestSupport", log,
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        .testTarget(name: "SampleDataTests", dependencies: ["SampleData"]),
        .testTarget(name: "PipelineTests", dependencies: [
            "Pipeline", "PipelineConfig", "Kafka", "Systemd", "S3", "Postgres", "Gzip", "Support", "TestSupport", "HTTPServer", log,
            clocks,
            .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
    ]
)
