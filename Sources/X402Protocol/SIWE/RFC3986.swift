/// Character-level RFC 3986 checks used by the SIWE grammar (ASCII only; non-ASCII fails).
public enum RFC3986 {
    /// `text` with every byte but the unreserved ones percent-encoded (a query value, a path segment).
    public static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            if isUnreserved(byte) { out.append(byte) } else { out += [37, hex[Int(byte >> 4)], hex[Int(byte & 15)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func isHex(_ c: UInt8) -> Bool { isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) }
    static func isUnreserved(_ c: UInt8) -> Bool {
        isAlpha(c) || isDigit(c) || c == 45 || c == 46 || c == 95 || c == 126 // - . _ ~
    }
    static func isSubDelim(_ c: UInt8) -> Bool {
        switch c { case 33, 36, 38, 39, 40, 41, 42, 43, 44, 59, 61: true default: false } // !$&'()*+,;=
    }
    static func isGenDelim(_ c: UInt8) -> Bool {
        switch c { case 58, 47, 63, 35, 91, 93, 64: true default: false } // :/?#[]@
    }
    static func isReserved(_ c: UInt8) -> Bool { isGenDelim(c) || isSubDelim(c) }

    /// Validates runs that may contain pct-encoded triplets and bytes matching `allowed`.
    static func isValid(_ b: ArraySlice<UInt8>, allowed: (UInt8) -> Bool) -> Bool {
        var i = b.startIndex
        while i < b.endIndex {
            let c = b[i]
            if c == 37 { // %
                guard i + 2 < b.endIndex, isHex(b[i + 1]), isHex(b[i + 2]) else { return false }
                i += 3
                continue
            }
            guard allowed(c) else { return false }
            i += 1
        }
        return true
    }

    static func isPchar(_ c: UInt8) -> Bool { isUnreserved(c) || isSubDelim(c) || c == 58 || c == 64 }

    static func isScheme(_ b: ArraySlice<UInt8>) -> Bool {
        guard let first = b.first, isAlpha(first) else { return false }
        return b.allSatisfy { isAlpha($0) || isDigit($0) || $0 == 43 || $0 == 45 || $0 == 46 }
    }

    /// `authority = [ userinfo "@" ] host [ ":" port ]`.
    static func isAuthority(_ b: ArraySlice<UInt8>) -> Bool {
        var rest = b
        if let at = rest.lastIndex(of: 64) {
            let userinfo = rest[rest.startIndex..<at]
            guard isValid(userinfo, allowed: { isUnreserved($0) || isSubDelim($0) || $0 == 58 }) else { return false }
            rest = rest[(at + 1)...]
        }
        var host = rest
        if rest.first == 91 { // IP-literal
            guard let close = rest.firstIndex(of: 93) else { return false }
            let inner = rest[(rest.startIndex + 1)..<close]
            guard !inner.isEmpty, inner.allSatisfy({ isHex($0) || $0 == 58 || $0 == 46 || isUnreserved($0) || isSubDelim($0) }) else { return false }
            host = rest[rest.startIndex...close]
            rest = rest[(close + 1)...]
            if !rest.isEmpty {
                guard rest.first == 58 else { return false }
                return rest.dropFirst().allSatisfy(isDigit)
            }
            return true
        }
        if let colon = rest.lastIndex(of: 58) {
            host = rest[rest.startIndex..<colon]
            guard rest[(colon + 1)...].allSatisfy(isDigit) else { return false }
        }
        return isValid(host, allowed: { isUnreserved($0) || isSubDelim($0) })
    }

    /// `URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ]` (authority checked when `//` follows).
    static func isURI(_ text: String) -> Bool {
        let b = Array(text.utf8)
        guard let colon = b.firstIndex(of: 58), isScheme(b[0..<colon]) else { return false }
        var rest = b[(colon + 1)...]
        // Query/fragment split: fragment after the first '#', no '#' inside it.
        if let hash = rest.firstIndex(of: 35) {
            let fragment = rest[(hash + 1)...]
            guard isValid(fragment, allowed: { isPchar($0) || $0 == 47 || $0 == 63 }) else { return false }
            rest = rest[rest.startIndex..<hash]
        }
        if let q = rest.firstIndex(of: 63) {
            let query = rest[(q + 1)...]
            guard isValid(query, allowed: { isPchar($0) || $0 == 47 || $0 == 63 }) else { return false }
            rest = rest[rest.startIndex..<q]
        }
        if rest.starts(with: [47, 47]) {
            let afterSlashes = rest.dropFirst(2)
            let end = afterSlashes.firstIndex(of: 47) ?? afterSlashes.endIndex
            guard isAuthority(afterSlashes[afterSlashes.startIndex..<end]) else { return false }
            rest = afterSlashes[end...]
        } else if rest.starts(with: [47]) {
            // path-absolute: first segment non-empty
            if rest.count >= 2, rest[rest.startIndex + 1] == 47 { return false }
        }
        return isValid(rest, allowed: { isPchar($0) || $0 == 47 })
    }
}
