import ArgumentParser
import Foundation
import WalletCrypto

/// `venice-agent transcribe FILE`: speech to text (multipart upload).
struct Transcribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Transcribe an audio file (POST /audio/transcriptions) and print the text.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "Audio file: wav, flac, m4a, aac, mp4, mp3, ogg or webm (up to 25 MB).") var file: String
    @Option(help: "Transcription model.") var model = "nvidia/parakeet-tdt-0.6b-v3"

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, text }
    @Option(help: "Ask Venice for json or text.") var format: Format = .json
    @Flag(help: "Ask for word and segment timestamps (json only) and print segments.") var timestamps = false

    static let maxBytes = 25 << 20

    func validate() throws {
        if timestamps, format == .text { throw ValidationError("--timestamps needs --format json") }
    }

    func run() async throws {
        try await ClientCommands.run {
            let audio: Data
            do {
                audio = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw AgentClientError.usage("cannot read \(file): \(error.localizedDescription)")
            }
            guard audio.count <= Self.maxBytes else { throw AgentClientError.usage("\(file) is larger than Venice's 25 MB limit") }
            var form = MultipartForm()
            form.addFile(name: "file", fileName: (file as NSString).lastPathComponent, contentType: MultipartForm.audioType(file), data: [UInt8](audio))
            form.addField(name: "model", value: model)
            form.addField(name: "response_format", value: format.rawValue)
            if timestamps { form.addField(name: "timestamps", value: "true") }
            let response = try await ProgressIndicator.run("transcribing with \(model)") { _ in
                try await options.client.call(.POST, "/api/v1/audio/transcriptions", body: form.bytes(), contentType: form.contentType)
            }
            if options.json || format == .text { return ClientCommands.printRaw(response) }
            let r = try ClientCommands.object(response)
            print(ClientCommands.text(r["text"]))
            if timestamps {
                for segment in r["timestamps"]?["segment"]?.arrayValue ?? [] {
                    let start = segment["start"]?.doubleValue ?? 0, end = segment["end"]?.doubleValue ?? 0
                    print(String(format: "[%7.2f – %7.2f] ", start, end) + ClientCommands.text(segment["text"]))
                }
            }
        }
    }
}

/// A multipart/form-data body with a random boundary.
struct MultipartForm {
    let boundary = "venice-agent-" + Hex.encode(SecureRandom.bytes(count: 12))
    private var body: [UInt8] = []

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func addField(name: String, value: String) {
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
    }

    mutating func addFile(name: String, fileName: String, contentType: String, data: [UInt8]) {
        let quoted = fileName.replacingOccurrences(of: "\"", with: "_").replacingOccurrences(of: "\r", with: "_").replacingOccurrences(of: "\n", with: "_")
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(quoted)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
        body += data
        body += Array("\r\n".utf8)
    }

    func bytes() -> [UInt8] { body + Array("--\(boundary)--\r\n".utf8) }

    static func audioType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
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
