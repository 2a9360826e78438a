// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "teleconsultation-backend",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "teleconsultation-backend", targets: ["teleconsultation-backend"]),
        .executable(name: "upstream-emulator", targets: ["UpstreamEmulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/vapor/multipart-kit", exact: "4.7.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
    ],
    targets: [
        // libfcgi (Debian libfcgi-dev to build, libfcgi0ldbl at run time, linked dynamically also in
        // the static-stdlib build): it speaks the FastCGI protocol; plus the one shim that reads
        // a kept connection's descriptor (see shim.h).
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),
        // The C side of the executable: the Swift runtime's global-enqueue hook (SwiftNIO's event
        // loops as the global executor, also with the runtime linked in statically), signalfd.
        .target(name: "CProcessShims"),
        // Strict JSON: duplicate keys, depth and size limits, ordered objects.
        .target(name: "StrictJSON"),
        // The seam between transport and application: request and response values.
        .target(name: "Responder", dependencies: [
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // FastCGI transport: libfcgi's responder loop on I/O threads of its own (epoll), a
        // swift-service-lifecycle service; params -> Request, Response -> CGI headers and body.
        .target(name: "FastCGI", dependencies: [
            "CFastCGI", "Responder",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Values and pure rules, no I/O, time passed in.
        .target(name: "TeleconsultationDomain", dependencies: ["StrictJSON"]),
        // The ports the use cases talk through (store, video provider, user directory) and
        // the values that cross them.
        .target(name: "TeleconsultationPorts", dependencies: [
            "StrictJSON", "TeleconsultationDomain",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Use cases over the ports, routing, error mapping, configuration, logs, metrics.
        .target(name: "TeleconsultationService", dependencies: [
            "Responder", "StrictJSON", "TeleconsultationDomain", "TeleconsultationPorts",
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MultipartKit", package: "multipart-kit"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // HTTP adapters for the CRUD service, Bandyer and auth0-client.
        .target(name: "Upstreams", dependencies: [
            "StrictJSON", "TeleconsultationDomain", "TeleconsultationPorts",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MultipartKit", package: "multipart-kit"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The executable: read configuration, wire, serve.
        .executableTarget(name: "teleconsultation-backend", dependencies: [
            "CProcessShims", "FastCGI", "Responder", "StrictJSON", "TeleconsultationDomain", "TeleconsultationPorts", "TeleconsultationService", "Upstreams",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Local stand-ins for CRUD, Bandyer and auth0-client (run stack and end-to-end tests).
        .executableTarget(name: "UpstreamEmulator", dependencies: [
            "StrictJSON",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "MultipartKit", package: "multipart-kit"),
        ]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI", "Responder"]),
        .testTarget(name: "TeleconsultationDomainTests", dependencies: ["TeleconsultationDomain", "StrictJSON"]),
        .testTarget(name: "TeleconsultationServiceTests", dependencies: [
            "TeleconsultationService", "TeleconsultationDomain", "TeleconsultationPorts", "Responder", "StrictJSON",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "UpstreamsTests", dependencies: [
            "Upstreams", "TeleconsultationDomain", "TeleconsultationPorts", "StrictJSON",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .testTarget(name: "EndToEndTests", dependencies: ["StrictJSON"]),
    ]
)
