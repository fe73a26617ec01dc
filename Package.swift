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
        .executable(name: "venice-agent", targets: ["venice-agent"]),
        .library(name: "WalletCrypto", targets: ["WalletCrypto"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
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

        // Keccak-256, secp256k1, EIP-55/191/712, keystore v3, CSPRNG, secret buffers.
        .target(
            name: "WalletCrypto",
            dependencies: ["CSecp256k1", "COpenSSL"],
            swiftSettings: swiftSettings
        ),

        // The command line.
        .executableTarget(
            name: "venice-agent",
            dependencies: [
                "WalletCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // `make bench`: release-mode figures for the issues' notes.
        .executableTarget(
            name: "venice-bench",
            dependencies: ["WalletCrypto"],
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
