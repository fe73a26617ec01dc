/// Compact JSON output, byte by byte, with no Foundation encoder: the one JSON writer of the
/// project. `JSONValue.serialized()` writes through it, and the hot paths (SIWX headers,
/// payment payloads) use it directly.
public struct JSONWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    public mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    public mutating func string(_ s: String) { Self.escape(s, into: &bytes) }

    /// `"key":`, preceded by a comma unless first.
    public mutating func key(_ k: String, first: Bool = false) {
        if !first { bytes.append(44) }
        string(k)
        bytes.append(58)
    }

    /// `s` as a JSON string literal (quotes, backslashes and control characters escaped).
    public static func escape(_ s: String, into bytes: inout [UInt8]) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        bytes.append(34)
        for c in s.utf8 {
            switch c {
            case 34: bytes.append(92); bytes.append(34)
            case 92: bytes.append(92); bytes.append(92)
            case 10: bytes.append(92); bytes.append(110)
            case 13: bytes.append(92); bytes.append(114)
            case 9: bytes.append(92); bytes.append(116)
            case 8: bytes.append(92); bytes.append(98)
            case 12: bytes.append(92); bytes.append(102)
            case 0..<0x20: bytes.append(contentsOf: [92, 117, 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: bytes.append(c)
            }
        }
        bytes.append(34)
    }
}
