import Foundation

/// A multipart/form-data body (transcription uploads, for the MCP tools and the CLI alike),
/// with a random boundary that cannot occur in the fields it was built for.
public struct MultipartBody: Sendable {
    public let boundary = "venice-agent-" + UUID().uuidString
    private var body: [UInt8] = []

    public init() {}

    public var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    public mutating func addField(name: String, value: String) {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    public mutating func addFile(name: String, fileName: String, contentType: String, data: [UInt8]) {
        let quoted = String(fileName.map { $0 == "\"" || $0 == "\r" || $0 == "\n" ? "_" : $0 })
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(quoted)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
        body += data
        body += Array("\r\n".utf8)
    }

    public func bytes() -> [UInt8] { body + Array("--\(boundary)--\r\n".utf8) }

    public static func audioType(_ fileName: String) -> String {
        switch (fileName as NSString).pathExtension.lowercased() {
        case "wav", "wave": "audio/wav"
        case "flac": "audio/flac"
        case "mp3": "audio/mpeg"
        case "m4a", "mp4": "audio/mp4"
        case "aac": "audio/aac"
        case "ogg", "oga": "audio/ogg"
        case "webm": "audio/webm"
        default: "application/octet-stream"
        }
    }
}
