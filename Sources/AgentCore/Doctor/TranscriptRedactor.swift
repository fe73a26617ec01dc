/// Removes every secret from what `venice-agent doctor --transcript` writes: credential and
/// payment headers are replaced whole; in any other text (header values, bodies) local client
/// tokens (`vat_…`), JSON fields named like keys or tokens, and 65-byte hex signatures
/// (`0x` + 130 hex digits) are masked. It errs on the side of masking: a transcript is for
/// reading, never for replaying.
public struct TranscriptRedactor: Sendable {
    public static let mask = "[redacted]"

    /// Headers whose whole value is a credential or a payment (lower-case names).
    static let secretHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "set-cookie",
        "sign-in-with-x", "x-sign-in-with-x",
        "payment-signature", "x-payment", "x-402-payment", "payment-required", "payment-response", "x-payment-response",
    ]

    /// JSON fields whose string value is a secret, compared case-insensitively.
    static let secretFields: Set<String> = [
        "apikey", "api_key", "token", "access_token", "refresh_token", "secret", "password", "signature", "key",
        "authorization", "private_key", "privatekey",
    ]

    public init() {}

    /// A header as it may be written: the value masked when the header carries a credential.
    public func header(name: String, value: String) -> String {
        let lower = name.lowercased()
        if Self.secretHeaders.contains(lower) || lower.contains("payment") || lower.contains("sign-in") || lower.contains("api-key") {
            return Self.mask
        }
        return text(value)
    }

    /// Any text with tokens, secret JSON fields and signatures masked.
    public func text(_ input: String) -> String {
        var out = maskSecretFields(input)
        out = maskTokens(out, prefix: "vat_")
        out = maskSignatures(out)
        return out
    }

    /// `vat_` followed by token characters.
    func maskTokens(_ input: String, prefix: String) -> String {
        let chars = Array(input.unicodeScalars)
        let p = Array(prefix.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            if i + p.count <= chars.count, Array(chars[i..<(i + p.count)]) == p {
                var j = i + p.count
                while j < chars.count, Self.isTokenChar(chars[j]) { j += 1 }
                out.append(contentsOf: Self.mask.unicodeScalars)
                i = j
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        return String(out)
    }

    /// `0x` + at least 130 hex digits (a 65-byte r‖s‖v signature, or longer packed data holding one).
    func maskSignatures(_ input: String) -> String {
        let chars = Array(input.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            if chars[i] == "0", i + 1 < chars.count, chars[i + 1] == "x" || chars[i + 1] == "X" {
                var j = i + 2
                while j < chars.count, Self.isHex(chars[j]) { j += 1 }
                if j - (i + 2) >= 130 {
                    out.append(contentsOf: Self.mask.unicodeScalars)
                    i = j
                    continue
                }
            }
            out.append(chars[i])
            i += 1
        }
        return String(out)
    }

    /// `"apiKey": "…"` (any secret field name, either quote style of JSON) → `"apiKey": "[redacted]"`.
    func maskSecretFields(_ input: String) -> String {
        let chars = Array(input.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < chars.count {
            guard chars[i] == "\"", let close = Self.closingQuote(chars, from: i + 1) else {
                out.append(chars[i])
                i += 1
                continue
            }
            let name = String(String.UnicodeScalarView(chars[(i + 1)..<close])).lowercased()
            // After the name: optional spaces, a colon, optional spaces, then a string value.
            var j = close + 1
            while j < chars.count, chars[j] == " " { j += 1 }
            guard Self.secretFields.contains(name), j < chars.count, chars[j] == ":" else {
                out.append(contentsOf: chars[i...close])
                i = close + 1
                continue
            }
            j += 1
            while j < chars.count, chars[j] == " " { j += 1 }
            guard j < chars.count, chars[j] == "\"", let valueEnd = Self.closingQuote(chars, from: j + 1) else {
                out.append(contentsOf: chars[i...close])
                i = close + 1
                continue
            }
            out.append(contentsOf: chars[i..<(j + 1)])
            out.append(contentsOf: Self.mask.unicodeScalars)
            out.append("\"")
            i = valueEnd + 1
        }
        return String(out)
    }

    /// The index of the unescaped `"` closing a JSON string that starts at `from`.
    static func closingQuote(_ chars: [Unicode.Scalar], from: Int) -> Int? {
        var k = from
        while k < chars.count {
            if chars[k] == "\\" { k += 2; continue }
            if chars[k] == "\"" { return k }
            k += 1
        }
        return nil
    }

    static func isHex(_ c: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(c) || ("a"..."f").contains(c) || ("A"..."F").contains(c)
    }

    static func isTokenChar(_ c: Unicode.Scalar) -> Bool {
        ("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == "-"
    }
}
