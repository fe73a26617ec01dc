/// Reads one string member of a JSON object straight into `SecretBytes`.
///
/// A secret that arrives as JSON (the keystore password of `POST /agent/v1/unlock`) must
/// not pass through a Swift `String`, which can be neither locked nor zeroed. This
/// scanner walks the object once, skips every other member without building values, and
/// decodes the wanted string (escapes included) into one scratch buffer sized up front,
/// so it never reallocates and leaves no copy behind: the scratch buffer is zeroed as it
/// is handed to `SecretBytes`.
public enum SecretJSONField {
    /// Why a body did not yield the field; never carries any byte of the body.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        case notAnObject
        case missing(field: String)
        case notAString(field: String)
        case duplicate(field: String)
        case malformed(offset: Int, reason: String)

        public var description: String {
            switch self {
            case .notAnObject: "the body is not a JSON object"
            case .missing(let field): "the JSON object has no \"\(field)\" member"
            case .notAString(let field): "\"\(field)\" must be a JSON string"
            case .duplicate(let field): "\"\(field)\" appears more than once"
            case .malformed(let offset, let reason): "malformed JSON at byte \(offset): \(reason)"
            }
        }
    }

    /// Nesting allowed in the members that are skipped.
    static let maxDepth = 32

    public static func string(_ field: String, in json: UnsafeRawBufferPointer) throws(Failure) -> SecretBytes {
        var scanner = Scanner(bytes: json)
        var scratch: [UInt8] = []
        scratch.reserveCapacity(json.count)
        defer { MemoryHygiene.zero(&scratch) }
        var found = false
        let wanted = Array(field.utf8)

        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else { throw .notAnObject }
        try scanner.members { s, key throws(Failure) in
            guard key == wanted else { return try s.skipValue(depth: 0) }
            if found { throw .duplicate(field: field) }
            guard s.peek() == UInt8(ascii: "\"") else { throw .notAString(field: field) }
            try s.readString(into: &scratch)
            found = true
        }
        scanner.skipWhitespace()
        guard scanner.atEnd else { throw scanner.malformed("content after the object") }
        guard found else { throw .missing(field: field) }
        return SecretBytes(zeroingSource: &scratch)
    }

    /// A cursor over the body; every read is bounds-checked.
    struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        func malformed(_ reason: String) -> Failure { .malformed(offset: index, reason: reason) }

        mutating func skipWhitespace() {
            while let b = peek(), b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Failure) {
            guard peek() == byte else { throw malformed("expected '\(Character(Unicode.Scalar(byte)))'") }
            index += 1
        }

        /// Decodes a JSON string (cursor on its opening quote) and appends its UTF-8 bytes.
        mutating func readString(into out: inout [UInt8]) throws(Failure) {
            try expect(UInt8(ascii: "\""))
            while true {
                guard let b = peek() else { throw malformed("unterminated string") }
                index += 1
                switch b {
                case UInt8(ascii: "\""):
                    return
                case UInt8(ascii: "\\"):
                    guard let e = peek() else { throw malformed("unterminated escape") }
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"): try appendUnicodeEscape(to: &out)
                    default: throw malformed("unknown escape")
                    }
                case 0x00..<0x20:
                    throw malformed("control character in a string")
                default:
                    out.append(b)
                }
            }
        }

        /// `\uXXXX` (cursor after the `u`), pairing surrogates, appended as UTF-8.
        mutating func appendUnicodeEscape(to out: inout [UInt8]) throws(Failure) {
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard peek() == UInt8(ascii: "\\") else { throw malformed("unpaired surrogate") }
                index += 1
                guard peek() == UInt8(ascii: "u") else { throw malformed("unpaired surrogate") }
                index += 1
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw malformed("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw malformed("unpaired surrogate")
            }
            switch scalar {
            case 0..<0x80:
                out.append(UInt8(scalar))
            case 0x80..<0x800:
                out.append(UInt8(0xC0 | (scalar >> 6)))
                out.append(UInt8(0x80 | (scalar & 0x3F)))
            case 0x800..<0x10000:
                out.append(UInt8(0xE0 | (scalar >> 12)))
                out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                out.append(UInt8(0x80 | (scalar & 0x3F)))
            default:
                out.append(UInt8(0xF0 | (scalar >> 18)))
                out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
                out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
                out.append(UInt8(0x80 | (scalar & 0x3F)))
            }
        }

        mutating func readHex4() throws(Failure) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let b = peek() else { throw malformed("short \\u escape") }
                let digit: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
                default: throw malformed("bad hex digit in a \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        /// An object's members (cursor on its `{`): `member` gets each key with the cursor on the
        /// value, and must consume the value.
        mutating func members(_ member: (inout Scanner, [UInt8]) throws(Failure) -> Void) throws(Failure) {
            try sequence(closedBy: UInt8(ascii: "}")) { s throws(Failure) in
                var key: [UInt8] = []
                try s.readString(into: &key)
                s.skipWhitespace()
                try s.expect(UInt8(ascii: ":"))
                s.skipWhitespace()
                try member(&s, key)
            }
        }

        /// A comma-separated list after an opening bracket (cursor on it) up to `close`.
        mutating func sequence(closedBy close: UInt8, _ item: (inout Scanner) throws(Failure) -> Void) throws(Failure) {
            index += 1
            skipWhitespace()
            if peek() == close { index += 1; return }
            while true {
                skipWhitespace()
                try item(&self)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") { index += 1; continue }
                try expect(close)
                return
            }
        }

        /// Skips one JSON value of any kind, checking its syntax.
        mutating func skipValue(depth: Int) throws(Failure) {
            guard depth < SecretJSONField.maxDepth else { throw malformed("nested too deeply") }
            guard let b = peek() else { throw malformed("missing value") }
            switch b {
            case UInt8(ascii: "\""):
                var discard: [UInt8] = []
                try readString(into: &discard)
            case UInt8(ascii: "{"):
                try members { s, _ throws(Failure) in try s.skipValue(depth: depth + 1) }
            case UInt8(ascii: "["):
                try sequence(closedBy: UInt8(ascii: "]")) { s throws(Failure) in try s.skipValue(depth: depth + 1) }
            case UInt8(ascii: "t"): try skipLiteral("true")
            case UInt8(ascii: "f"): try skipLiteral("false")
            case UInt8(ascii: "n"): try skipLiteral("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
            default: throw malformed("unexpected character")
            }
        }

        mutating func skipLiteral(_ literal: StaticString) throws(Failure) {
            let expected = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
            for byte in expected {
                guard peek() == byte else { throw malformed("unknown literal") }
                index += 1
            }
        }

        /// RFC 8259 number grammar: -? int frac? exp?
        mutating func skipNumber() throws(Failure) {
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard let first = peek(), isDigit(first) else { throw malformed("bad number") }
            index += 1
            if first != UInt8(ascii: "0") { while let d = peek(), isDigit(d) { index += 1 } }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard let d = peek(), isDigit(d) else { throw malformed("bad number") }
                while let d = peek(), isDigit(d) { index += 1 }
            }
            if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                index += 1
                if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { index += 1 }
                guard let d = peek(), isDigit(d) else { throw malformed("bad number") }
                while let d = peek(), isDigit(d) { index += 1 }
            }
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    }
}
