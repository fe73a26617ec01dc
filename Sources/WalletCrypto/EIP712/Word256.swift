/// A 256-bit two's-complement word as EIP-712/ABI encodes integers (32 bytes, big-endian),
/// parsed from a JSON number literal, a decimal string, or a `0x` hex string.
struct Word256 {
    /// Magnitude, big-endian, 32 bytes.
    var magnitude = [UInt8](repeating: 0, count: 32)
    var negative = false

    enum ParseFailure: Error { case notAnInteger, tooLarge }

    static func parse(_ value: JSONValue) throws(ParseFailure) -> Word256 {
        switch value {
        case .number(let literal): return try parse(decimal: literal)
        case .string(let s):
            let trimmed = s
            if trimmed.hasPrefix("0x") || trimmed.hasPrefix("0X") || trimmed.hasPrefix("-0x") {
                return try parse(hex: trimmed)
            }
            return try parse(decimal: trimmed)
        default: throw .notAnInteger
        }
    }

    static func parse(decimal: String) throws(ParseFailure) -> Word256 {
        var word = Word256()
        var digits = Substring(decimal)
        if digits.hasPrefix("-") { word.negative = true; digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .notAnInteger }
        for d in digits.utf8 {
            var carry = Int(d - 48)
            for i in stride(from: 31, through: 0, by: -1) {
                let v = Int(word.magnitude[i]) * 10 + carry
                word.magnitude[i] = UInt8(v & 0xff)
                carry = v >> 8
            }
            guard carry == 0 else { throw .tooLarge }
        }
        if word.isZero { word.negative = false }
        return word
    }

    static func parse(hex: String) throws(ParseFailure) -> Word256 {
        var word = Word256()
        var body = Substring(hex)
        if body.hasPrefix("-") { word.negative = true; body = body.dropFirst() }
        body = body.dropFirst(2)
        guard !body.isEmpty else { throw .notAnInteger }
        var nibbles = [UInt8]()
        for c in body.utf8 {
            guard let n = Hex.nibble(c) else { throw .notAnInteger }
            nibbles.append(n)
        }
        while nibbles.count > 1, nibbles.first == 0 { nibbles.removeFirst() }
        guard nibbles.count <= 64 else { throw .tooLarge }
        var pos = 63
        for n in nibbles.reversed() {
            let byteIndex = pos / 2
            if pos % 2 == 1 { word.magnitude[byteIndex] |= n } else { word.magnitude[byteIndex] |= n << 4 }
            pos -= 1
        }
        if word.isZero { word.negative = false }
        return word
    }

    var isZero: Bool { magnitude.allSatisfy { $0 == 0 } }

    /// Number of significant bits of the magnitude.
    var bitLength: Int {
        for (i, b) in magnitude.enumerated() where b != 0 {
            return (32 - i) * 8 - b.leadingZeroBitCount
        }
        return 0
    }

    /// True when the magnitude is exactly 2^(bits).
    func magnitudeIsPowerOfTwo(_ bits: Int) -> Bool {
        guard bitLength == bits + 1 else { return false }
        var ones = 0
        for b in magnitude { ones += b.nonzeroBitCount }
        return ones == 1
    }

    func fitsUnsigned(bits: Int) -> Bool { !negative && bitLength <= bits }

    func fitsSigned(bits: Int) -> Bool {
        if negative { return bitLength < bits || magnitudeIsPowerOfTwo(bits - 1) }
        return bitLength < bits
    }

    /// Two's-complement 32-byte encoding.
    var encoded: [UInt8] {
        guard negative else { return magnitude }
        var out = magnitude.map { ~$0 }
        var carry: UInt16 = 1
        for i in stride(from: 31, through: 0, by: -1) {
            let v = UInt16(out[i]) + carry
            out[i] = UInt8(v & 0xff)
            carry = v >> 8
        }
        return out
    }
}
