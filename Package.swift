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
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "WalletCrypto", targets: ["WalletCrypto"]),
        .library(name: "X402Protocol", targets: ["X402Protocol"]),
    ],
    dependencies: [],
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

        // JSON-over-stdio bridge used by the Python interop suite (Tests/Interop).
        .executableTarget(
            name: "interop-tool",
            dependencies: ["X402Protocol", "WalletCrypto"],
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "X402ProtocolTests",
            dependencies: ["X402Protocol", "WalletCrypto"],
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
