import Foundation
import NIOHTTP1
import Testing
@testable import VeniceSimulator
import WalletCrypto
import X402Protocol

/// Decodes MP3 bytes with `lame --decode` (Debian package `lame`, as the simulator uses) into a WAV.
func decodeMP3(_ mp3: [UInt8]) throws -> [UInt8] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-mp3-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let input = directory.appendingPathComponent("in.mp3"), output = directory.appendingPathComponent("out.wav")
    try Data(mp3).write(to: input)
    // The simulator's own spawner: Foundation's Process.run crashes now and then on Swift 6.3.1.
    let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
    defer { close(devNull) }
    let finished = try ChildProcess.run("/usr/bin/env", arguments: ["lame", "--quiet", "--decode", input.path, output.path], input: devNull,
                                        timeout: .seconds(30), maxOutputBytes: 1 << 20).get()
    guard finished.exitStatus == 0 else { return [] }
    return Array(try Data(contentsOf: output))
}

/// RMS of the 16-bit little-endian samples after a 44-byte canonical WAV header.
func rms(ofWAV wav: [UInt8]) -> Double {
    guard wav.count > 46 else { return 0 }
    var sum = 0.0, count = 0
    var index = 44
    while index + 1 < wav.count {
        let sample = Double(Int16(bitPattern: UInt16(wav[index]) | UInt16(wav[index + 1]) << 8))
        sum += sample * sample
        count += 1
        index += 2
    }
    return count == 0 ? 0 : (sum / Double(count)).squareRoot()
}

@Suite("Speech formats per model and real MP3 (skills venice-audio-speech; openapi.yaml CreateSpeechRequestSchema)")
struct SpeechFormatTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let auth = [("Authorization", "Bearer admin-key")]

    /// veniceai/skills `skills/venice-audio-speech/SKILL.md`, "Models": formats, default first.
    static let documented: [(model: String, formats: [String])] = [
        ("tts-kokoro", ["mp3", "opus", "aac", "flac", "wav", "pcm"]),
        ("tts-qwen3-0-6b", ["mp3"]), ("tts-qwen3-1-7b", ["mp3"]),
        ("tts-xai-v1", ["mp3", "wav", "pcm"]),
        ("tts-inworld-1-5-max", ["wav"]), ("tts-chatterbox-hd", ["wav"]), ("tts-orpheus", ["wav"]),
        ("tts-elevenlabs-turbo-v2-5", ["mp3"]),
        ("tts-minimax-speech-02-hd", ["mp3", "pcm", "flac"]),
        ("tts-gemini-3-1-flash", ["mp3", "opus", "wav"]),
        ("tts-gradium-v1", ["wav", "pcm", "opus"]),
    ]
    static let contentTypes = ["mp3": "audio/mpeg", "opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"]

    @Test("mp3 speech is real MPEG audio: it decodes to audible PCM about as long as the WAV of the same text")
    func realMP3() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let text = "The quick brown fox jumps over the lazy dog near the river bank."
            let mp3 = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"\#(text)","response_format":"mp3"}"#)
            #expect(mp3.status == 200, "\(mp3.error ?? "")")
            #expect(mp3.header("Content-Type") == "audio/mpeg")
            let wav = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"\#(text)","response_format":"wav"}"#)
            let expected = try #require(WAVCodec.duration(ofWAV: wav.body))
            let decoded = try decodeMP3(mp3.body)
            let seconds = try #require(WAVCodec.duration(ofWAV: decoded), "lame could not decode the simulator's MP3")
            // 64 characters × 60 ms ≈ 3.8 s; MP3 adds encoder delay and frame padding (< 0.2 s).
            #expect(abs(seconds - expected) < 0.2, "mp3 \(seconds) s vs wav \(expected) s")
            #expect(expected > 3)
            #expect(rms(ofWAV: decoded) > 1_000, "decoded MP3 is (nearly) silent")
        }
    }

    @Test("an uploaded MP3 is transcribed and billed for its length from its frames, like the WAV of the same speech")
    func transcribeMP3() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let text = "Measure this sentence by its frames, not by its size."
            let mp3 = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"\#(text)","response_format":"mp3"}"#)
            let wav = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"\#(text)","response_format":"wav"}"#)
            let expected = try #require(WAVCodec.duration(ofWAV: wav.body))
            let boundary = "mp3boundary"
            var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nopenai/whisper-large-v3\r\n".utf8)
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\n".utf8)
            body += mp3.body + Array("\r\n--\(boundary)--\r\n".utf8)
            let reply = try await call(sim, .POST, "/audio/transcriptions", headers: auth, body: body, contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(reply.status == 200, "\(reply.error ?? "")")
            let seconds = try #require(reply.json?["duration"]?.doubleValue)
            #expect(abs(seconds - expected) < 0.2, "transcribed \(seconds) s of an MP3 of \(expected) s")
        }
    }

    @Test("twelve parallel mp3 requests all come back as MPEG audio (encoders take turns, at most four at once)")
    func parallelMP3() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for index in 0..<12 {
                    group.addTask {
                        try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"Parallel speech number \#(index)"}"#)
                    }
                }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            #expect(replies.count == 12)
            for reply in replies {
                #expect(reply.status == 200, "\(reply.error ?? "")")
                #expect(reply.body.count > 2 && reply.body[0] == 0xFF && reply.body[1] & 0xE0 == 0xE0)
            }
        }
    }

    @Test("without the lame binary an mp3 request is a 500 naming the encoder, and nothing is charged")
    func missingEncoder() async throws {
        var configuration = testConfiguration(clock: clock)
        configuration.mp3Encoder = "/nonexistent/venice-sim/lame"
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let before = await sim.state.usage().count
            let reply = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"Hello","response_format":"mp3"}"#)
            #expect(reply.status == 500)
            #expect(reply.error?.contains("MP3 encoder unavailable") == true)
            #expect(reply.error?.contains("lame") == true)
            #expect(await sim.state.usage().count == before)
            // Other formats still work.
            #expect(try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"Hello","response_format":"wav"}"#).status == 200)
        }
    }

    @Test("an encoder that fails or hangs is answered with a 500 that says so, and nothing is charged", arguments: [
        ("exit 3", "exited with status 3"),
        ("exec sleep 30", "did not finish"),
    ])
    func brokenEncoder(script: String, message: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sim-lame-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fake = directory.appendingPathComponent("lame")
        try Data("#!/bin/sh\n\(script)\n".utf8).write(to: fake)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: fake.path)
        var configuration = testConfiguration(clock: clock)
        configuration.mp3Encoder = fake.path
        configuration.mp3EncoderTimeout = .milliseconds(300)
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let before = await sim.state.usage().count
            let reply = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"Hello","response_format":"mp3"}"#)
            #expect(reply.status == 500)
            #expect(reply.error?.contains(message) == true, "\(reply.error ?? "")")
            #expect(await sim.state.usage().count == before)
        }
    }

    @Test("every TTS model: /models advertises its documented formats and default; an omitted format gets the default; others are refused naming the allowed ones")
    func perModelFormats() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let listing = try await call(sim, .GET, "/models?type=tts")
            let rows = listing.json?["data"]?.arrayValue ?? []
            for (model, formats) in Self.documented {
                let spec = rows.first { $0["id"]?.stringValue == model }?["model_spec"]
                #expect(spec?["supported_formats"]?.arrayValue?.compactMap(\.stringValue) == formats, "\(model)")
                #expect(spec?["default_format"]?.stringValue == formats.first, "\(model)")
                #expect(spec?["supports_custom_voice_id"]?.boolValue == (model == "tts-elevenlabs-turbo-v2-5"), "\(model)")

                let defaulted = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"\#(model)","input":"Hello"}"#)
                let defaultFormat = try #require(formats.first)
                if ["opus", "aac"].contains(defaultFormat) {
                    #expect(defaulted.status == 400, "\(model)")
                } else {
                    #expect(defaulted.status == 200, "\(model): \(defaulted.error ?? "")")
                    #expect(defaulted.header("Content-Type") == Self.contentTypes[defaultFormat], "\(model)")
                }
                for format in ["mp3", "opus", "aac", "flac", "wav", "pcm"] {
                    let reply = try await call(sim, .POST, "/audio/speech", headers: auth,
                                               json: #"{"model":"\#(model)","input":"Hello","response_format":"\#(format)"}"#)
                    if !formats.contains(format) {
                        #expect(reply.status == 400, "\(model) \(format)")
                        #expect(reply.error == "Response format \(format) is not supported by \(model). Supported formats: \(formats.joined(separator: ", "))")
                    } else if ["opus", "aac"].contains(format) {
                        #expect(reply.status == 400, "\(model) \(format)")   // [sim] no opus/aac encoder
                    } else {
                        #expect(reply.status == 200, "\(model) \(format): \(reply.error ?? "")")
                        #expect(reply.header("Content-Type") == Self.contentTypes[format], "\(model) \(format)")
                    }
                }
            }
            let bad = try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"tts-kokoro","input":"Hello","response_format":"ogg"}"#)
            #expect(bad.status == 400)
            #expect(bad.error == "Invalid request parameters")
        }
    }

    @Test("ElevenLabs Turbo takes a raw 20-character Voice ID; other models refuse an unknown voice")
    func customVoiceID() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            func speak(_ model: String, _ voice: String) async throws -> Int {
                try await call(sim, .POST, "/audio/speech", headers: auth, json: #"{"model":"\#(model)","input":"Hello","voice":"\#(voice)","response_format":"mp3"}"#).status
            }
            #expect(try await speak("tts-elevenlabs-turbo-v2-5", "21m00Tcm4TlvDq8ikWAM") == 200)
            #expect(try await speak("tts-elevenlabs-turbo-v2-5", "not-a-voice") == 400)
            #expect(try await speak("tts-qwen3-0-6b", "21m00Tcm4TlvDq8ikWAM") == 400)
        }
    }
}

/// The simulator's child processes (`lame` for MP3), spawned without Foundation's Process.
@Suite("Child processes (posix_spawn)")
struct ChildProcessTests {
    static func withDescriptor<T>(holding text: String, _ body: (Int32) throws -> T) rethrows -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        unlink(path)
        defer { close(descriptor) }
        return try body(descriptor)
    }

    @Test("the child reads the given descriptor as stdin, inherits no other descriptor, and its exit status and output come back")
    func stdinOutputAndStatus() throws {
        let finished = try Self.withDescriptor(holding: "from stdin\n") { input in
            try ChildProcess.run("/bin/sh", arguments: ["-c", "cat; ls /proc/$$/fd; exit 3"], input: input,
                                 timeout: .seconds(10), maxOutputBytes: 1 << 16).get()
        }
        #expect(finished.exitStatus == 3)
        #expect(String(decoding: finished.output, as: UTF8.self) == "from stdin\n0\n1\n2\n")
    }

    @Test("a child past its timeout is killed and reported as timed out")
    func timeout() {
        let started = ContinuousClock.now
        let result = Self.withDescriptor(holding: "") { input in
            ChildProcess.run("/bin/sleep", arguments: ["30"], input: input, timeout: .milliseconds(200), maxOutputBytes: 1024)
        }
        #expect(result == .failure(.timedOut))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("a child writing past the output cap is killed and reported as too large")
    func outputCap() {
        let result = Self.withDescriptor(holding: "") { input in
            ChildProcess.run("/usr/bin/yes", arguments: [], input: input, timeout: .seconds(10), maxOutputBytes: 10_000)
        }
        #expect(result == .failure(.outputTooLarge))
    }

    @Test("a missing executable is a start failure naming the cause, and a signal leaves no exit status")
    func missingAndSignalled() throws {
        let missing = Self.withDescriptor(holding: "") { input in
            ChildProcess.run("/nonexistent/encoder", arguments: [], input: input, timeout: .seconds(5), maxOutputBytes: 1024)
        }
        #expect(missing == .failure(.couldNotStart("No such file or directory")))
        let signalled = try Self.withDescriptor(holding: "") { input in
            try ChildProcess.run("/bin/sh", arguments: ["-c", "kill -KILL $$"], input: input, timeout: .seconds(5), maxOutputBytes: 1024).get()
        }
        #expect(signalled.exitStatus == nil)
    }
}
