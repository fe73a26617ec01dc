import AgentMCP
import ArgumentParser
import Foundation
import WalletCrypto

/// `venice-agent speech TEXT`: text to an audio file.
struct Speech: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn text into speech (POST /audio/speech); writes an audio file and prints its path.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The text to speak (up to 4096 characters).") var text: String
    @Option(help: "Speech model.") var model = "tts-kokoro"
    @Option(help: "Voice (default: the model's).") var voice: String?
    @Option(help: "mp3, opus, aac, flac, wav or pcm (default: from --out's extension, else the model's own format; several models speak mp3 only).") var format: String?
    @Option(help: "Speed, 0.25–4.") var speed: Double?
    @Option(help: "Output file (default speech.FORMAT).") var out: String?

    static let formats = ["mp3", "opus", "aac", "flac", "wav", "pcm"]

    /// The format to ask for: `--format`, else `--out`'s extension; nil leaves it to the model
    /// (Qwen 3 and ElevenLabs voices are mp3 only, MiniMax mp3/pcm/flac: asking for another
    /// format is a 400, so nothing is asked unless the user did).
    var requestedFormat: String? {
        if let format { return format }
        if let out, let ext = out.split(separator: ".").last.map(String.init), out.contains("."), Self.formats.contains(ext.lowercased()) {
            return ext.lowercased()
        }
        return nil
    }

    func validate() throws {
        if let format, !Self.formats.contains(format) { throw ValidationError("--format must be one of \(Self.formats.joined(separator: ", "))") }
        if let speed, !(0.25...4).contains(speed) { throw ValidationError("--speed must be between 0.25 and 4") }
    }

    func run() async throws {
        try await ClientCommands.run {
            var pairs: [(String, JSONValue)] = [("model", .string(model)), ("input", .string(text))]
            if let requestedFormat { pairs.append(("response_format", .string(requestedFormat))) }
            if let voice { pairs.append(("voice", .string(voice))) }
            if let speed { pairs.append(("speed", .number(String(speed)))) }
            let response = try await ProgressIndicator.run("synthesizing speech with \(model)") { _ in
                try await options.client.call(.POST, "/api/v1/audio/speech", json: .object(JSONObject(pairs)))
            }
            let path = out ?? "speech.\(requestedFormat ?? MediaType.audioExtension(response.header("content-type")))"
            try ClientCommands.write(response.body, to: path)
            if options.json {
                print((["file": .string(path), "bytes": .number(String(response.body.count))] as JSONValue).serialized())
            } else {
                print(path)
            }
        }
    }
}
