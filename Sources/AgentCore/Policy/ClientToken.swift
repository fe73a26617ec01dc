public import HTTPTypes

/// A local client token (`vat_…`) as a request presents it. The only accepted form is one
/// `Authorization` header with the scheme `Bearer` (any case, RFC 9110 §11.1) and the token;
/// anything else that carries `vat_` — a second Authorization header, another header, the
/// query — is malformed: it is refused, never read as "no token" (which would fall back to
/// a broader policy) and never forwarded (which would hand a local secret to Venice).
public enum ClientToken: Sendable, Equatable {
    /// No token anywhere in the request.
    case absent
    case present(String)
    /// `vat_` appears where a token does not belong, or in a shape that is not a token.
    case malformed(String)

    static let marker = Array("vat_".utf8)

    public static func find(in fields: HTTPFields, target: String) -> ClientToken {
        var found: String?
        var authorizations = 0
        for field in fields {
            let carries = contains(field.value)
            if field.name == .authorization {
                authorizations += 1
                guard carries else { continue }
                guard let token = bearerToken(field.value) else {
                    return .malformed("the Authorization header must be exactly `Bearer vat_…`")
                }
                found = token
            } else if carries {
                return .malformed("a client token may only be sent as `Authorization: Bearer vat_…`, not in \(field.name.rawName)")
            }
        }
        if contains(target) { return .malformed("a client token may only be sent as `Authorization: Bearer vat_…`, not in the URL") }
        guard let found else { return .absent }
        guard authorizations == 1 else { return .malformed("a request carrying a client token must have exactly one Authorization header") }
        return .present(found)
    }

    /// `Bearer <token>`: the scheme in any case, one or more spaces or tabs, a token of
    /// `vat_` and hex digits, optional trailing whitespace.
    static func bearerToken(_ value: String) -> String? {
        let bytes = Array(value.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count else { return nil }
        for (index, letter) in scheme.enumerated() where bytes[index] | 0x20 != letter { return nil }
        var index = scheme.count
        let isBlank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard index < bytes.count, isBlank(bytes[index]) else { return nil }
        while index < bytes.count, isBlank(bytes[index]) { index += 1 }
        var end = bytes.count
        while end > index, isBlank(bytes[end - 1]) { end -= 1 }
        let token = bytes[index..<end]
        guard token.starts(with: marker), token.count > marker.count,
              token.dropFirst(marker.count).allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        return String(decoding: token, as: UTF8.self)
    }

    /// True when `text` contains `vat_` in any case.
    static func contains(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= marker.count else { return false }
        for start in 0...(bytes.count - marker.count)
        where bytes[start] | 0x20 == marker[0] && bytes[start + 1] | 0x20 == marker[1] && bytes[start + 2] | 0x20 == marker[2] && bytes[start + 3] == marker[3] {
            return true
        }
        return false
    }
}
