public import WalletCrypto

/// The 4-field EIP-712 domain of an EIP-3009 token (`name`, `version`, `chainId`, `verifyingContract`).
public struct Eip3009Domain: Sendable, Hashable {
    public let name: String
    public let version: String
    public let chainId: UInt64
    public let verifyingContract: EthereumAddress
    /// keccak(EIP712Domain typeHash ‖ keccak(name) ‖ keccak(version) ‖ chainId ‖ contract).
    public let separator: [UInt8]

    static let domainTypeHash = Keccak256.hash("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")

    public init(name: String, version: String, chainId: UInt64, verifyingContract: EthereumAddress) {
        self.name = name
        self.version = version
        self.chainId = chainId
        self.verifyingContract = verifyingContract
        var data = Self.domainTypeHash
        data.reserveCapacity(160)
        data += Keccak256.hash(name)
        data += Keccak256.hash(version)
        data += UInt256(chainId).bytes32
        data += [UInt8](repeating: 0, count: 12) + verifyingContract.bytes
        separator = Keccak256.hash(data)
    }

    /// Base mainnet native USDC (`USD Coin`, `2`, 8453, `0x8335…2913`).
    public static let baseUSDC = Eip3009Domain(
        name: "USD Coin", version: "2", chainId: 8453,
        verifyingContract: EthereumAddress.constant([0x83, 0x35, 0x89, 0xfc, 0xd6, 0xed, 0xb6, 0xe0, 0x8f, 0x4c,
                                                     0x7c, 0x32, 0xd4, 0xf7, 0x1b, 0x54, 0xbd, 0xa0, 0x29, 0x13]))

    /// Base Sepolia USDC (`USDC`, `2`, 84532, `0x036C…CF7e`).
    public static let baseSepoliaUSDC = Eip3009Domain(
        name: "USDC", version: "2", chainId: 84532,
        verifyingContract: EthereumAddress.constant([0x03, 0x6c, 0xbd, 0x53, 0x84, 0x2c, 0x54, 0x26, 0x63, 0x4e,
                                                     0x79, 0x29, 0x54, 0x1e, 0xc2, 0x31, 0x8f, 0x3d, 0xcf, 0x7e]))
}

extension EthereumAddress {
    /// For 20-byte literals in this module.
    static func constant(_ bytes: [UInt8]) -> EthereumAddress {
        // Only called with 20-byte literals: the invariant is checked by construction.
        guard let address = try? EthereumAddress(bytes: bytes) else { preconditionFailure("20-byte address literal rejected") }
        return address
    }
}
