import AgentMCP
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
            var form = MultipartBody()
            form.addFile(name: "file", fileName: (file as NSString).lastPathComponent, contentType: MultipartBody.audioType(file), data: [UInt8](audio))
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
