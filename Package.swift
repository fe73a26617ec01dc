// swift-tools-version:6.1
import PackageDescription

// One settings array for every target (see STYLE.md §1, Hummingbird's Package.swift).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "venice-agent",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "venice-agent", targets: ["venice-agent"]),
        .library(name: "WalletCrypto", targets: ["WalletCrypto"]),
        .library(name: "X402Protocol", targets: ["X402Protocol"]),
        .library(name: "VeniceClient", targets: ["VeniceClient"]),
        .library(name: "AgentCore", targets: ["AgentCore"]),
        .library(name: "VeniceSimulator", targets: ["VeniceSimulator"]),
        .executable(name: "venice-sim", targets: ["venice-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk.git", from: "0.12.1"),
    ],
    targets: [
        // System libraries (Debian: libsecp256k1-dev, libssl-dev).
        .systemLibrary(
            name: "CSecp256k1",
            pkgConfig: "libsecp256k1",
            providers: [.apt(["libsecp256k1-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // SO_PEERCRED / prctl glue that Swift's Glibc module does not expose.
        .target(name: "CAgentSystem"),

        // Keccak-256, secp256k1, EIP-55/191/712, keystore v3, CSPRNG, secret buffers.
        .target(
            name: "WalletCrypto",
            dependencies: ["CSecp256k1", "COpenSSL"],
            swiftSettings: swiftSettings
        ),

        // SIWE/SIWX, nonces, skew clock, x402 requirements, payment policy, EIP-3009 payloads.
        .target(
            name: "X402Protocol",
            dependencies: ["WalletCrypto"],
            swiftSettings: swiftSettings
        ),

        // The typed upstream client: route table, per-attempt signing, retries.
        .target(
            name: "VeniceClient",
            dependencies: [
                "X402Protocol", "WalletCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The daemon: socket server, peer credentials, scheduler, key session, agent API, metrics.
        .target(
            name: "AgentCore",
            dependencies: [
                "VeniceClient", "X402Protocol", "WalletCrypto", "CAgentSystem", "AgentMCP",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The dashboard's page, script and style, compiled into the binary (no files to install).
            resources: [
                .embedInCode("Dashboard/Assets/index.html"),
                .embedInCode("Dashboard/Assets/app.js"),
                .embedInCode("Dashboard/Assets/app.css"),
                .embedInCode("Dashboard/Assets/favicon.svg"),
            ],
            swiftSettings: swiftSettings
        ),

        // The MCP server's logic (tool catalogue, schemas, result and error mapping) over an abstract
        // caller of the agent's routes; it holds no key and no token of its own.
        .target(
            name: "AgentMCP",
            dependencies: [
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The command line. Test seams (VENICE_AGENT_TEST_CRASH_AT) exist in debug builds only.
        .executableTarget(
            name: "venice-agent",
            dependencies: [
                "WalletCrypto", "AgentCore", "AgentMCP",
                .product(name: "MCP", package: "swift-sdk"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings + [.define("VENICE_TEST_SEAMS", .when(configuration: .debug))]
        ),

        // JSON-over-stdio bridge used by the Python interop suite (Tests/Interop).
        .executableTarget(
            name: "interop-tool",
            dependencies: ["X402Protocol", "WalletCrypto"],
            swiftSettings: swiftSettings
        ),

        // `make bench`: release-mode figures for the issues' notes.
        .executableTarget(
            name: "venice-bench",
            dependencies: [
                "WalletCrypto", "X402Protocol", "AgentCore", "VeniceSimulator",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The local Venice (rules, ledger, faults, media) as a Hummingbird app.
        .target(
            name: "VeniceSimulator",
            dependencies: [
                "X402Protocol", "WalletCrypto", "CAgentSystem",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),

        // `venice-sim`: runs the simulator on loopback.
        .executableTarget(
            name: "venice-sim",
            dependencies: [
                "VeniceSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "VeniceSimulatorTests",
            dependencies: [
                "VeniceSimulator", "X402Protocol", "WalletCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "VeniceClientTests",
            dependencies: [
                "VeniceClient", "X402Protocol",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentCoreTests",
            dependencies: [
                "AgentCore", "VeniceClient", "VeniceSimulator", "X402Protocol", "WalletCrypto",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentMCPTests",
            dependencies: [
                "AgentMCP",
                .product(name: "MCP", package: "swift-sdk"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "X402ProtocolTests",
            dependencies: ["X402Protocol", "WalletCrypto"],
            resources: [.copy("Vectors")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WalletCryptoTests",
            dependencies: ["WalletCrypto"],
            resources: [.copy("Vectors")],
            swiftSettings: swiftSettings
        ),
    ]
)

// Fuzzing (scripts/fuzz.sh): a libFuzzer target that exists only when VENICE_FUZZ is set, so the
// normal build never compiles it (it needs -sanitize=fuzzer and has no main of its own).
if Context.environment["VENICE_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "fuzz-siwe",
        dependencies: ["X402Protocol", "WalletCrypto"],
        swiftSettings: swiftSettings
    ))
    // The agent's parsers of untrusted input, one libFuzzer binary each (all under Sources/fuzz-agent):
    // API bodies, client token, multipart sniffing and the CLI's HTTP response parser; the TOML
    // config; the keystore. They use `@testable import`, which debug builds allow.
    package.targets.append(contentsOf: [
        .executableTarget(
            name: "fuzz-agent-api",
            dependencies: ["AgentCore", "WalletCrypto", "X402Protocol", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Sources/fuzz-agent/api",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fuzz-agent-config",
            dependencies: ["AgentCore"],
            path: "Sources/fuzz-agent/config",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fuzz-agent-keystore",
            dependencies: ["WalletCrypto"],
            path: "Sources/fuzz-agent/keystore",
            swiftSettings: swiftSettings
        ),
    ])
}
