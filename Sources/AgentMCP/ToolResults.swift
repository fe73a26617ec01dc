import Foundation
public import MCP

/// Turns agent answers into MCP tool results: text, JSON, images as image content, audio and
/// other media as embedded resources; and failures into `isError` results.
public enum ToolResults {
    public static func text(_ text: String, warning: String? = nil) -> CallTool.Result {
        CallTool.Result(content: withWarning([.text(text: text, annotations: nil, _meta: nil)], warning), isError: false)
    }

    /// Pretty JSON as text, and the object itself as structured content.
    public static func json(_ value: Value, summary: String? = nil, warning: String? = nil) -> CallTool.Result {
        var content: [Tool.Content] = []
        if let summary { content.append(.text(text: summary, annotations: nil, _meta: nil)) }
        content.append(.text(text: JSONCoding.text(value, pretty: true), annotations: nil, _meta: nil))
        let structured: Value? = if case .object = value { value } else { nil }
        return CallTool.Result(content: withWarning(content, warning), structuredContent: structured, isError: false)
    }

    public static func failure(_ failure: ToolFailure) -> CallTool.Result {
        CallTool.Result(content: [.text(text: failure.description, annotations: nil, _meta: nil)], isError: true)
    }

    public static func image(_ bytes: [UInt8]) -> Tool.Content {
        .image(data: Data(bytes).base64EncodedString(), mimeType: MediaType.image(bytes), annotations: nil, _meta: nil)
    }

    /// Audio, video or any file as an embedded resource (`blob` in base64).
    public static func media(_ bytes: [UInt8], mimeType: String, uri: String) -> Tool.Content {
        .resource(resource: .binary(Data(bytes), uri: uri, mimeType: mimeType))
    }

    static func withWarning(_ content: [Tool.Content], _ warning: String?) -> [Tool.Content] {
        guard let warning else { return content }
        return content + [.text(text: "budget warning: \(warning)", annotations: nil, _meta: nil)]
    }
}

/// Media types from magic numbers (models may ignore the asked format) or content types.
public enum MediaType {
    public static func image(_ bytes: [UInt8]) -> String {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return "image/webp" }
        return "application/octet-stream"
    }

    /// The file extension for a media type (`audio/mpeg` → `mp3`).
    public static func fileExtension(_ contentType: String) -> String {
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch type {
        case "image/png": return "png"
        case "image/jpeg": return "jpg"
        case "image/webp": return "webp"
        case "audio/mpeg", "audio/mp3": return "mp3"
        case "audio/wav", "audio/x-wav", "audio/wave": return "wav"
        case "audio/flac", "audio/x-flac": return "flac"
        case "audio/opus", "audio/ogg": return "opus"
        case "audio/aac": return "aac"
        case "audio/pcm", "audio/l16": return "pcm"
        case "video/mp4": return "mp4"
        default: return "bin"
        }
    }

    /// The file extension for audio of `contentType`, `audio` when it is not a known audio type
    /// (the CLI's default output name).
    public static func audioExtension(_ contentType: String?) -> String {
        let type = bare(contentType ?? "").lowercased()
        return type.hasPrefix("audio/") && fileExtension(type) != "bin" ? fileExtension(type) : "audio"
    }

    /// The bare type of a `Content-Type` value (`audio/mpeg; charset=…` → `audio/mpeg`).
    public static func bare(_ contentType: String) -> String {
        contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? contentType
    }
}
