import Foundation
public import MCP

/// JSON bytes to and from `Value`, with sorted keys so answers and tests are stable.
public enum JSONCoding {
    public static func bytes(_ value: Value) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { [UInt8]($0) } ?? Array("null".utf8)
    }

    public static func text(_ value: Value, pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    public static func value(_ bytes: [UInt8]) -> Value? {
        try? JSONDecoder().decode(Value.self, from: Data(bytes))
    }

    /// The answer as JSON, or an `unexpectedAnswer` naming what came instead.
    public static func object(_ reply: AgentReply) throws(ToolFailure) -> [String: Value] {
        guard let object = value(reply.body)?.objectValue else {
            throw .unexpectedAnswer("expected a JSON object, got \(reply.contentType.isEmpty ? "no content type" : reply.contentType) (\(reply.body.count) bytes)")
        }
        return object
    }
}

extension AgentRequest {
    /// A POST with a JSON body.
    public static func post(_ path: String, json: [String: Value], timeoutSeconds: Int = 300) -> AgentRequest {
        AgentRequest(.POST, path, body: JSONCoding.bytes(.object(json)), contentType: "application/json", timeoutSeconds: timeoutSeconds)
    }

    /// A GET whose query items are percent-encoded (nil values are left out).
    public static func get(_ path: String, query: [(String, String?)] = [], timeoutSeconds: Int = 60) -> AgentRequest {
        let items = query.compactMap { name, value in value.map { "\(name)=\(percentEncoded($0))" } }
        return AgentRequest(.GET, items.isEmpty ? path : path + "?" + items.joined(separator: "&"), timeoutSeconds: timeoutSeconds)
    }

    static func percentEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
