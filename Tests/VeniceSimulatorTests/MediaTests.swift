import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// Reads a PNG far enough to trust it: signature, chunk CRCs, IHDR size, and the zlib stream inflated
/// (stored blocks) to exactly height × (1 + 3 × width) bytes with a matching Adler-32.
func inspectPNG(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
    guard bytes.count > 33, Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
    func u32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
    func crc(_ data: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c ^= UInt32(b); for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 } }
        return c ^ 0xFFFF_FFFF
    }
    var offset = 8
    var width = 0, height = 0
    var idat: [UInt8] = []
    var sawEnd = false
    while offset + 12 <= bytes.count {
        let length = u32(offset)
        let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
        guard offset + 12 + length <= bytes.count else { return nil }
        guard UInt32(u32(offset + 8 + length)) == crc(bytes[(offset + 4)..<(offset + 8 + length)]) else { return nil }
        if type == "IHDR" { width = u32(offset + 8); height = u32(offset + 12) }
        if type == "IDAT" { idat += bytes[(offset + 8)..<(offset + 8 + length)] }
        if type == "IEND" { sawEnd = true }
        offset += 12 + length
    }
    guard sawEnd, idat.count > 6, (Int(idat[0]) << 8 | Int(idat[1])) % 31 == 0 else { return nil }
    var raw: [UInt8] = []
    var p = 2
    while true {
        let header = idat[p]
        guard header & 0b110 == 0 else { return nil }   // stored blocks only
        let len = Int(idat[p + 1]) | Int(idat[p + 2]) << 8
        let nlen = Int(idat[p + 3]) | Int(idat[p + 4]) << 8
        guard len ^ 0xFFFF == nlen else { return nil }
        raw += idat[(p + 5)..<(p + 5 + len)]
        p += 5 + len
        if header & 1 == 1 { break }
    }
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    let adler = UInt32(idat[p]) << 24 | UInt32(idat[p + 1]) << 16 | UInt32(idat[p + 2]) << 8 | UInt32(idat[p + 3])
    guard adler == (b << 16 | a), raw.count == height * (1 + 3 * width) else { return nil }
    return (width, height)
}

@Suite("Images and audio (VENICE.md §6, §7, §10 Images / Audio)")
struct MediaTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let auth = [("Authorization", "Bearer admin-key")]

    func generate(_ sim: RunningSimulator, _ json: String) async throws -> Reply {
        try await call(sim, .POST, "/image/generate", headers: auth, json: json)
    }

    @Test("JSON answer: decodable PNGs of the requested size, timing, request echo; 3 variants billed 3×; deterministic per seed")
    func generateJSON() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let body = #"{"model":"z-image-turbo","prompt":"a lighthouse","width":48,"height":32,"format":"png","seed":42,"variants":3}"#
            let reply = try await generate(sim, body)
            #expect(reply.status == 200)
            let images = reply.json?["images"]?.arrayValue?.compactMap { $0.stringValue.flatMap { Data(base64Encoded: $0) }.map(Array.init) } ?? []
            #expect(images.count == 3)
            for image in images {
                let size = inspectPNG(image)
                #expect(size?.width == 48 && size?.height == 32)
            }
            #expect(reply.json?["timing"]?["total"] != nil)
            #expect(reply.json?["request"]?["data"]?["seed"]?.intValue == 42)
            #expect(await sim.state.usage().last?.amountMicro == -30_000)
            let again = try await generate(sim, body)
            #expect(again.json?["images"] == reply.json?["images"])
            let other = try await generate(sim, body.replacingOccurrences(of: "\"seed\":42", with: "\"seed\":43"))
            #expect(other.json?["images"] != reply.json?["images"])
        }
    }

    @Test("return_binary gives raw PNG bytes with image/png; with variants 2 → 400")
    func binary() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await generate(sim, #"{"model":"venice-sd35","prompt":"x","width":16,"height":24,"format":"png","return_binary":true}"#)
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "image/png")
            #expect(inspectPNG(reply.body)?.height == 24)
            let refused = try await generate(sim, #"{"model":"venice-sd35","prompt":"x","format":"png","return_binary":true,"variants":2}"#)
            #expect(refused.status == 400)
        }
    }

    @Test("image validation: each bad request is refused with its status", arguments: [
        (#"{"prompt":"x","format":"png"}"#, 400),
        (#"{"model":"no-such-model","prompt":"x","format":"png"}"#, 404),
        (#"{"model":"z-image-turbo","prompt":"\#(String(repeating: "a", count: 7_501))","format":"png"}"#, 400),
        (#"{"model":"z-image-turbo","prompt":"x","style_preset":"Nope","format":"png"}"#, 400),
        (#"{"model":"nano-banana-2","prompt":"x","resolution":"8K","format":"png"}"#, 400),
        (#"{"model":"grok-imagine-image-2-0","prompt":"x","quality":"high","format":"png"}"#, 400),
        (#"{"model":"venice-sd35","prompt":"x","steps":51,"format":"png"}"#, 400),
        (#"{"model":"qwen-image-3","prompt":"x","width":512,"format":"png"}"#, 400),
        (#"{"model":"z-image-turbo","prompt":"x","inpaint":{},"format":"png"}"#, 400),
        (#"{"model":"z-image-turbo","prompt":"x","variants":5,"format":"png"}"#, 400),
        (#"{"model":"z-image-turbo","prompt":"x","width":1281,"format":"png"}"#, 400),
        (#"{"model":"z-image-turbo","prompt":"x","width":16,"height":16,"format":"jpeg"}"#, 200),
        (#"{"model":"z-image-turbo","prompt":"x","format":"gif"}"#, 400),
        (#"{"model":"nano-banana-2","prompt":"x","aspect_ratio":"7:5","format":"png"}"#, 200),
    ])
    func validation(body: String, status: Int) async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await generate(sim, body)
            #expect(reply.status == status, "\(reply.json?.serialized() ?? "")")
        }
    }

    @Test("format defaults to webp (lossless VP8L of the requested size); jpeg is baseline JFIF of the requested size")
    func webpDefault() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await generate(sim, #"{"model":"z-image-turbo","prompt":"x","width":37,"height":23,"return_binary":true}"#)
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "image/webp")
            let bytes = reply.body
            #expect(String(decoding: bytes[0..<4], as: UTF8.self) == "RIFF")
            #expect(String(decoding: bytes[8..<16], as: UTF8.self) == "WEBPVP8L")
            #expect(bytes[20] == 0x2F)
            let bits = UInt32(bytes[21]) | UInt32(bytes[22]) << 8 | UInt32(bytes[23]) << 16 | UInt32(bytes[24]) << 24
            #expect(Int(bits & 0x3FFF) + 1 == 37)
            #expect(Int((bits >> 14) & 0x3FFF) + 1 == 23)
            let riffSize = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
            #expect(riffSize + 8 == bytes.count)
            let jpeg = try await generate(sim, #"{"model":"z-image-turbo","prompt":"x","width":37,"height":23,"return_binary":true,"format":"jpeg"}"#)
            #expect(jpeg.header("Content-Type") == "image/jpeg")
            #expect(Array(jpeg.body.prefix(2)) == [0xFF, 0xD8])
            #expect(Array(jpeg.body.suffix(2)) == [0xFF, 0xD9])
            let sof = try #require((0..<(jpeg.body.count - 9)).first { jpeg.body[$0] == 0xFF && jpeg.body[$0 + 1] == 0xC0 })
            #expect(Int(jpeg.body[sof + 5]) << 8 | Int(jpeg.body[sof + 6]) == 23)
            #expect(Int(jpeg.body[sof + 7]) << 8 | Int(jpeg.body[sof + 8]) == 37)
            let json = try await generate(sim, #"{"model":"z-image-turbo","prompt":"x","width":8,"height":8}"#)
            #expect(json.json?["request"]?["data"]?["format"]?.stringValue == "webp")
            let openAI = try await call(sim, .POST, "/images/generations", headers: auth,
                                        json: #"{"model":"z-image-turbo","prompt":"x","size":"256x256","output_format":"webp","response_format":"url"}"#)
            #expect(openAI.json?["data"]?.arrayValue?.first?["url"]?.stringValue?.hasPrefix("data:image/webp;base64,UklGR") == true)
        }
    }

    @Test("content-violation knob: 200, header true, blacked-out image, no charge")
    func violation() async throws {
        var configuration = testConfiguration(clock: clock)
        configuration.faults.contentViolation = true
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply = try await generate(sim, smallImage)
            #expect(reply.status == 200)
            #expect(reply.header("x-venice-is-content-violation") == "true")
            #expect(await sim.state.usage().isEmpty)
        }
    }

    @Test("/images/generations: model required, dall-e-3 maps to z-image-turbo, n:2 refused, url is a data URL, b64 by default")
    func openAIImages() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let missing = try await call(sim, .POST, "/images/generations", headers: auth, json: #"{"prompt":"x"}"#)
            #expect(missing.status == 400)
            #expect(missing.error == "model is required")
            let mapped = try await call(sim, .POST, "/images/generations", headers: auth, json: #"{"model":"dall-e-3","prompt":"x","size":"256x256"}"#)
            #expect(mapped.status == 200)
            let b64 = try #require(mapped.json?["data"]?.arrayValue?.first?["b64_json"]?.stringValue)
            #expect(inspectPNG(Array(Data(base64Encoded: b64) ?? Data()))?.width == 256)
            #expect(await sim.state.usage().last?.modelId == "z-image-turbo")
            #expect(try await call(sim, .POST, "/images/generations", headers: auth, json: #"{"model":"z-image-turbo","prompt":"x","n":2}"#).status == 400)
            let url = try await call(sim, .POST, "/images/generations", headers: auth,
                                     json: #"{"model":"z-image-turbo","prompt":"x","size":"256x256","response_format":"url"}"#)
            #expect(url.json?["data"]?.arrayValue?.first?["url"]?.stringValue?.hasPrefix("data:image/png;base64,") == true)
        }
    }

    @Test("speech: real WAV, PCM, FLAC and MP3, opus refused, per-model default format, validation, chunked streaming, per-character price")
    func speech() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            func speak(_ json: String) async throws -> Reply { try await call(sim, .POST, "/audio/speech", headers: auth, json: json) }
            let wav = try await speak(#"{"model":"tts-kokoro","input":"Hello there","response_format":"wav","voice":"af_sky"}"#)
            #expect(wav.status == 200)
            #expect(wav.header("Content-Type") == "audio/wav")
            #expect(String(decoding: wav.body.prefix(4), as: UTF8.self) == "RIFF")
            #expect((WAVCodec.duration(ofWAV: wav.body) ?? 0) > 0.5)
            #expect(await sim.state.usage().last?.amountMicro == -39)   // 11 chars × $3.5/1M, rounded to micro-dollars
            let pcm = try await speak(#"{"model":"tts-kokoro","input":"Hello","response_format":"pcm"}"#)
            #expect(pcm.header("Content-Type") == "audio/pcm")
            #expect(pcm.body.count % 2 == 0 && pcm.body.count > 1000)
            let defaultFormat = try await speak(#"{"model":"tts-orpheus","input":"Hello"}"#)
            #expect(defaultFormat.header("Content-Type") == "audio/wav")
            // kokoro's default is mp3: MPEG audio frames (see SpeechFormatTests for decoding).
            let mp3 = try await speak(#"{"model":"tts-kokoro","input":"Hello"}"#)
            #expect(mp3.status == 200)
            #expect(mp3.header("Content-Type") == "audio/mpeg")
            #expect(mp3.body.count > 2 && mp3.body[0] == 0xFF && mp3.body[1] & 0xE0 == 0xE0)
            let flac = try await speak(#"{"model":"tts-kokoro","input":"Hello","response_format":"flac"}"#)
            #expect(flac.header("Content-Type") == "audio/flac")
            #expect(String(decoding: flac.body.prefix(4), as: UTF8.self) == "fLaC")
            #expect(Array(flac.body[42..<44]) == [0xFF, 0xF8])   // first frame right after STREAMINFO
            let opus = try await speak(#"{"model":"tts-kokoro","input":"Hello","response_format":"opus"}"#)
            #expect(opus.status == 400)
            #expect(opus.error?.contains("cannot encode opus") == true)
            #expect(try await speak(#"{"input":"Hello","response_format":"wav"}"#).error == "model is required")
            #expect(try await speak(#"{"model":"tts-kokoro","input":"Hello","voice":"Vivian","response_format":"wav"}"#).status == 400)
            #expect(try await speak(#"{"model":"tts-orpheus","input":"Hello","response_format":"mp3"}"#).status == 400)
            #expect(try await speak(#"{"model":"tts-kokoro","input":"\#(String(repeating: "a", count: 4_097))","response_format":"wav"}"#).status == 400)
            let streamed = try await speak(#"{"model":"tts-kokoro","input":"Hello streaming world","response_format":"wav","streaming":true}"#)
            #expect(streamed.status == 200)
            #expect(streamed.header("Transfer-Encoding") == "chunked")
            #expect(WAVCodec.duration(ofWAV: streamed.body) != nil)
        }
    }

    func multipart(file: [UInt8], filename: String, fields: [(String, String)]) -> (body: [UInt8], contentType: String) {
        let boundary = "simboundary42"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: audio/wav\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    @Test("transcription: multipart WAV → json/text, duration from the header, billed per second; JSON body, bad magic, 25 MB + 1 refused")
    func transcription() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let speech = try await call(sim, .POST, "/audio/speech", headers: auth,
                                        json: #"{"model":"tts-kokoro","input":"one two three four","response_format":"wav"}"#)
            let seconds = try #require(WAVCodec.duration(ofWAV: speech.body))
            let form = multipart(file: speech.body, filename: "clip.wav", fields: [("model", "openai/whisper-large-v3"), ("timestamps", "true")])
            let reply = try await call(sim, .POST, "/audio/transcriptions", headers: auth, body: form.body, contentType: form.contentType)
            #expect(reply.status == 200, "\(reply.json?.serialized() ?? "")")
            #expect(abs((reply.json?["duration"]?.doubleValue ?? 0) - seconds) < 0.01)
            #expect(reply.json?["timestamps"]?["word"]?.arrayValue?.isEmpty == false)
            #expect(reply.json?["timestamps"]?["segment"]?.arrayValue?.count == 1)
            #expect(reply.json?["timestamps"]?["char"] == nil)
            let wizperForm = multipart(file: speech.body, filename: "clip.wav", fields: [("model", "fal-ai/wizper"), ("timestamps", "true")])
            let wizper = try await call(sim, .POST, "/audio/transcriptions", headers: auth, body: wizperForm.body, contentType: wizperForm.contentType)
            #expect(wizper.json?["timestamps"]?.objectValue?.keys == ["segment"])
            #expect(await sim.state.usage().contains { $0.modelId == "openai/whisper-large-v3" })
            let text = multipart(file: speech.body, filename: "clip.wav", fields: [("model", "openai/whisper-large-v3"), ("response_format", "text")])
            let plain = try await call(sim, .POST, "/audio/transcriptions", headers: auth, body: text.body, contentType: text.contentType)
            #expect(plain.header("Content-Type")?.hasPrefix("text/plain") == true)
            let json = try await call(sim, .POST, "/audio/transcriptions", headers: auth, json: #"{"model":"openai/whisper-large-v3"}"#)
            #expect(json.error == "No audio file provided")
            let junk = multipart(file: Array(repeating: 0x41, count: 4_000), filename: "clip.wav", fields: [("model", "openai/whisper-large-v3")])
            #expect(try await call(sim, .POST, "/audio/transcriptions", headers: auth, body: junk.body, contentType: junk.contentType).status == 400)
            let wrongExtension = multipart(file: speech.body, filename: "clip.txt", fields: [("model", "openai/whisper-large-v3")])
            #expect(try await call(sim, .POST, "/audio/transcriptions", headers: auth, body: wrongExtension.body, contentType: wrongExtension.contentType).status == 400)
            let huge = multipart(file: speech.body + Array(repeating: 0, count: 25 * 1024 * 1024 + 1 - speech.body.count), filename: "big.wav",
                                 fields: [("model", "openai/whisper-large-v3")])
            let tooLarge = try await call(sim, .POST, "/audio/transcriptions", headers: auth, body: huge.body, contentType: huge.contentType)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.code == "PAYLOAD_TOO_LARGE")
        }
    }

    @Test("audio quote without auth: elevenlabs-music 60 s → 0.69, 90 s → 1.38; duration on a non-duration model and missing character_count → 400")
    func quote() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            func quote(_ json: String) async throws -> Reply { try await call(sim, .POST, "/audio/quote", json: json) }
            #expect(try await quote(#"{"model":"elevenlabs-music","duration_seconds":60}"#).json?["quote"]?.doubleValue == 0.69)
            #expect(try await quote(#"{"model":"elevenlabs-music","duration_seconds":"90"}"#).json?["quote"]?.doubleValue == 1.38)
            #expect(try await quote(#"{"model":"ace-step-15","duration_seconds":90}"#).json?["quote"]?.doubleValue == 0.04)
            #expect(try await quote(#"{"model":"minimax-music-v25","duration_seconds":60}"#).status == 400)
            #expect(try await quote(#"{"model":"elevenlabs-tts-v3"}"#).status == 400)
            #expect(try await quote(#"{"model":"elevenlabs-tts-v3","character_count":2500}"#).json?["quote"]?.doubleValue == 0.2875)
        }
    }

    @Test("queued audio: QUEUED, PROCESSING, then WAV bytes with x-venice headers; foreign id 400; gone after complete (404)")
    func queueFlow() async throws {
        let alice = Wallet(41)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            func send(_ path: String, _ json: String) async throws -> Reply {
                try await call(sim, .POST, path, headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
            }
            let queued = try await send("/audio/queue", #"{"model":"elevenlabs-music","prompt":"a calm piano piece","duration_seconds":60}"#)
            #expect(queued.status == 200)
            #expect(queued.json?["status"]?.stringValue == "QUEUED")
            let id = try #require(queued.json?["queue_id"]?.stringValue)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 4.31)
            let running = try await send("/audio/retrieve", #"{"model":"elevenlabs-music","queue_id":"\#(id)"}"#)
            #expect(running.json?["status"]?.stringValue == "PROCESSING")
            clock.advance(by: 1_500)
            let done = try await send("/audio/retrieve", #"{"model":"elevenlabs-music","queue_id":"\#(id)"}"#)
            #expect(done.header("Content-Type") == "audio/wav")
            #expect(done.header("x-venice-model-id") == "elevenlabs-music")
            #expect(WAVCodec.duration(ofWAV: done.body) != nil)
            #expect(try await send("/audio/retrieve", #"{"model":"elevenlabs-music","queue_id":"not-mine"}"#).error == "Request ID is invalid.")
            #expect(try await send("/audio/complete", #"{"model":"elevenlabs-music","queue_id":"\#(id)"}"#).json?["success"]?.boolValue == true)
            #expect(try await send("/audio/retrieve", #"{"model":"elevenlabs-music","queue_id":"\#(id)"}"#).status == 404)
            #expect(try await send("/audio/queue", #"{"model":"elevenlabs-music","prompt":"a calm piano piece","speed":2}"#).status == 400)
            // Above the wallet's credit: plain 402.
            let expensive = try await send("/audio/queue", #"{"model":"elevenlabs-music","prompt":"a long calm piano piece","duration_seconds":600}"#)
            #expect(expensive.status == 402)
            #expect(expensive.error?.hasPrefix("Insufficient USD or Diem balance") == true)
            #expect(expensive.code == nil)
        }
    }

    @Test("a failed queued job answers on retrieve and is refunded with one REFUND row")
    func queueFailure() async throws {
        let alice = Wallet(42)
        let signIn = SignIn(clock: clock)
        var configuration = testConfiguration(clock: clock, funds: [alice.lower: 5])
        configuration.faults.audioJobFailure = true
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            func send(_ path: String, _ json: String) async throws -> Reply {
                try await call(sim, .POST, path, headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
            }
            let queued = try await send("/audio/queue", #"{"model":"ace-step-15","prompt":"a calm piano piece","duration_seconds":90}"#)
            let id = try #require(queued.json?["queue_id"]?.stringValue)
            clock.advance(by: 2_000)
            let failed = try await send("/audio/retrieve", #"{"model":"ace-step-15","queue_id":"\#(id)"}"#)
            #expect(failed.status == 422)
            let rows = await sim.state.transactions(wallet: alice.lower)
            #expect(rows.map(\.kind) == [.topUp, .charge, .refund])
            #expect(rows.last?.amountMicro == 40_000)
            #expect(rows.last?.modelId == "ace-step-15")
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 5)
        }
    }
}


@Suite("Queued audio rate limits (VENICE.md §7.3)")
struct AudioQueueLimitTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)

    @Test("the 41st queue and the 121st retrieve in a minute get 429")
    func limits() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let auth = [("Authorization", "Bearer admin-key")]
            var id = ""
            for _ in 0..<40 {
                let reply = try await call(sim, .POST, "/audio/queue", headers: auth, json: #"{"model":"ace-step-15","prompt":"a calm piano piece"}"#)
                #expect(reply.status == 200)
                id = reply.json?["queue_id"]?.stringValue ?? id
            }
            #expect(try await call(sim, .POST, "/audio/queue", headers: auth, json: #"{"model":"ace-step-15","prompt":"a calm piano piece"}"#).status == 429)
            for _ in 0..<120 {
                #expect(try await call(sim, .POST, "/audio/retrieve", headers: auth, json: #"{"model":"ace-step-15","queue_id":"\#(id)"}"#).status == 200)
            }
            #expect(try await call(sim, .POST, "/audio/retrieve", headers: auth, json: #"{"model":"ace-step-15","queue_id":"\#(id)"}"#).status == 429)
            clock.advance(by: 61_000)
            #expect(try await call(sim, .POST, "/audio/queue", headers: auth, json: #"{"model":"ace-step-15","prompt":"a calm piano piece"}"#).status == 200)
        }
    }
}
