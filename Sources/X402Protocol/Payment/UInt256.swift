/// An unsigned 256-bit integer (EIP-3009 `value`, `validAfter`, `validBefore`), as four
/// big-endian 64-bit words. Only what the payment code needs: decimal I/O, compare, 32-byte word.
public struct UInt256: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// words[0] is the most significant.
    public private(set) var words: (UInt64, UInt64, UInt64, UInt64)

    public init(_ value: UInt64) { words = (0, 0, 0, value) }

    public static let zero = UInt256(0)

    /// Decimal digits only, no sign, no leading zeros (except "0"), below 2^256.
    public init(decimal text: some StringProtocol) throws(X402Error) {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count <= 78, utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
            throw .invalidAmount("\(text.prefix(80)) is not a decimal integer")
        }
        guard utf8.count == 1 || utf8[0] != 48 else { throw .invalidAmount("\(text) has leading zeros") }
        var limbs: [UInt64] = [0, 0, 0, 0]   // big-endian
        for d in utf8 {
            var carry = UInt64(d - 48)
            for i in stride(from: 3, through: 0, by: -1) {
                let (hi, lo) = limbs[i].multipliedFullWidth(by: 10)
                let (sum, overflow) = lo.addingReportingOverflow(carry)
                limbs[i] = sum
                carry = hi + (overflow ? 1 : 0)
            }
            guard carry == 0 else { throw .invalidAmount("\(text.prefix(80)) is 2^256 or more") }
        }
        words = (limbs[0], limbs[1], limbs[2], limbs[3])
    }

    /// `0x`-prefixed hex (accepted on decode only; the older x402 scheme revision allowed it).
    public init(hex text: some StringProtocol) throws(X402Error) {
        var s = Substring(text)
        guard s.hasPrefix("0x") || s.hasPrefix("0X") else { throw .invalidAmount("\(text.prefix(80)) is not 0x hex") }
        s = s.dropFirst(2)
        guard !s.isEmpty, s.utf8.count <= 64 else { throw .invalidAmount("\(text.prefix(80)) is not 1…64 hex digits") }
        var limbs: [UInt64] = [0, 0, 0, 0]
        for c in s.utf8 {
            let v: UInt64
            switch c {
            case 48...57: v = UInt64(c - 48)
            case 97...102: v = UInt64(c - 87)
            case 65...70: v = UInt64(c - 55)
            default: throw .invalidAmount("\(text.prefix(80)) has a non-hex digit")
            }
            for i in 0..<3 { limbs[i] = limbs[i] << 4 | limbs[i + 1] >> 60 }
            limbs[3] = limbs[3] << 4 | v
        }
        words = (limbs[0], limbs[1], limbs[2], limbs[3])
    }

    private var limbs: [UInt64] { [words.0, words.1, words.2, words.3] }

    /// The value if it fits in 64 bits.
    public var uint64Value: UInt64? { words.0 == 0 && words.1 == 0 && words.2 == 0 ? words.3 : nil }

    public var decimalString: String {
        var l = limbs
        if l[0] == 0 && l[1] == 0 && l[2] == 0 { return String(l[3]) }
        var digits: [UInt8] = []
        while l.contains(where: { $0 != 0 }) {
            var rem: UInt64 = 0
            for i in 0..<4 {
                let (q, r) = UInt64(10).dividingFullWidth((rem, l[i]))
                l[i] = q
                rem = r
            }
            digits.append(UInt8(48 + rem))
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    public var description: String { decimalString }

    /// 32-byte big-endian ABI word.
    public var bytes32: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for w in limbs {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(shift))) }
        }
        return out
    }

    public static func == (a: UInt256, b: UInt256) -> Bool { a.limbs == b.limbs }
    public func hash(into hasher: inout Hasher) { hasher.combine(limbs) }
    public static func < (a: UInt256, b: UInt256) -> Bool { a.limbs.lexicographicallyPrecedes(b.limbs) }
}
