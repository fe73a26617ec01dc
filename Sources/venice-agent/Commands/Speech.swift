import ArgumentParser
import WalletCrypto

/// `venice-agent speech TEXT`: text to an audio file.
struct Speech: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn text into speech (POST /audio/speech); writes an audio file and prints its path.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "The text to speak (up to 4096 characters).") var text: String
    @Option(help: "Speech model.") var model = "tts-kokoro"
    @Option(help: "Voice (default: the model's).") var voice: String?
    @Option(help: "mp3, opus, aac, flac, wav or pcm (default: from --out's extension, else wav).") var format: String?
    @Option(help: "Speed, 0.25–4.") var speed: Double?
    @Option(help: "Output file (default speech.FORMAT).") var out: String?

    static let formats = ["mp3", "opus", "aac", "flac", "wav", "pcm"]

    var resolvedFormat: String {
        if let format { return format }
        if let out, let ext = out.split(separator: ".").last.map(String.init), out.contains("."), Self.formats.contains(ext.lowercased()) {
            return ext.lowercased()
        }
        return "wav"
    }

    func validate() throws {
        if let format, !Self.formats.contains(format) { throw ValidationError("--format must be one of \(Self.formats.joined(separator: ", "))") }
        if let speed, !(0.25...4).contains(speed) { throw ValidationError("--speed must be between 0.25 and 4") }
    }

    func run() async throws {
        try await ClientCommands.run {
            var pairs: [(String, JSONValue)] = [("model", .string(model)), ("input", .string(text)), ("response_format", .string(resolvedFormat))]
            if let voice { pairs.append(("voice", .string(voice))) }
            if let speed { pairs.append(("speed", .number(String(speed)))) }
            let response = try await ProgressIndicator.run("synthesizing speech with \(model)") { _ in
                try await options.client.call(.POST, "/api/v1/audio/speech", json: .object(JSONObject(pairs)))
            }
            let path = out ?? "speech.\(resolvedFormat)"
            try ClientCommands.write(response.body, to: path)
            if options.json {
                print((["file": .string(path), "bytes": .number(String(response.body.count))] as JSONValue).serialized())
            } else {
                print(path)
            }
        }
    }
}
