/// A 20-byte Ethereum account address. Parsing is strict: `0x` + 40 hex digits; a
/// mixed-case string must carry a valid EIP-55 checksum; all-lower and all-upper are accepted.
public struct EthereumAddress: Sendable, Hashable, Comparable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws(WalletCryptoError) {
        guard bytes.count == 20 else {
            throw .invalidLength(what: "an address", expected: "20", actual: bytes.count)
        }
        self.bytes = bytes
    }

    /// For 20 bytes the caller has already sized (e.g. the tail of a Keccak digest).
    init(validated bytes: [UInt8]) {
        precondition(bytes.count == 20, "EthereumAddress(validated:) needs 20 bytes")
        self.bytes = bytes
    }

    public init(_ string: String) throws(WalletCryptoError) {
        let utf8 = Array(string.utf8)
        guard utf8.count == 42, utf8[0] == UInt8(ascii: "0"), utf8[1] == UInt8(ascii: "x") else {
            throw .invalidAddress(utf8.count != 42 ? "\(utf8.count) characters instead of 42" : "missing 0x prefix")
        }
        let body = utf8[2...]
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        var hasLower = false, hasUpper = false
        var index = body.startIndex
        while index < body.endIndex {
            let c1 = body[index], c2 = body[index + 1]
            guard let hi = Hex.nibble(c1), let lo = Hex.nibble(c2) else {
                throw .invalidAddress("non-hex character")
            }
            for c in [c1, c2] {
                if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f") { hasLower = true }
                if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F") { hasUpper = true }
            }
            bytes.append(hi << 4 | lo)
            index += 2
        }
        self.bytes = bytes
        if hasLower && hasUpper && checksummed != string {
            throw .badChecksum(string)
        }
    }

    /// EIP-55 mixed-case form, `0x`-prefixed.
    public var checksummed: String {
        let lower = Array(Hex.encode(bytes).utf8)
        let hash = Keccak256.hash(lower)
        var out: [UInt8] = [UInt8(ascii: "0"), UInt8(ascii: "x")]
        out.reserveCapacity(42)
        for (i, c) in lower.enumerated() {
            let nibble = i % 2 == 0 ? hash[i / 2] >> 4 : hash[i / 2] & 0x0f
            if c >= UInt8(ascii: "a") && nibble >= 8 {
                out.append(c - 32)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `0x` + lowercase hex.
    public var lowercasedHex: String { Hex.encode(bytes, prefix: true) }

    public static func < (lhs: EthereumAddress, rhs: EthereumAddress) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

extension EthereumAddress: CustomStringConvertible {
    public var description: String { checksummed }
}

extension EthereumAddress: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            try self.init(string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(checksummed)
    }
}
