import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Image edit, upscale, background removal and voice cloning (openapi.yaml /image/*, /audio/voices)")
struct ImageToolsAndVoiceCloneTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(12)
    let auth = [("Authorization", "Bearer admin-key")]
    var signIn: SignIn { SignIn(clock: clock) }

    static func png(_ width: Int, _ height: Int) -> [UInt8] {
        PNGEncoder.encode(width: width, height: height, rgb: [UInt8](repeating: 90, count: width * height * 3))
    }

    /// A silent 16-bit mono 24 kHz WAV file.
    static func wav(seconds: Int) -> [UInt8] {
        let data = seconds * 24_000 * 2
        func le32(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24 & 0xFF)] }
        return Array("RIFF".utf8) + le32(36 + data) + Array("WAVEfmt ".utf8) + le32(16) + [1, 0, 1, 0] + le32(24_000) + le32(48_000)
            + [2, 0, 16, 0] + Array("data".utf8) + le32(data) + [UInt8](repeating: 0, count: data)
    }

    static func base64(_ width: Int, _ height: Int) -> String { Data(png(width, height)).base64EncodedString() }

    /// A multipart body with text fields and one file part.
    static func multipart(fields: [(String, String)], file: (name: String, filename: String, data: [UInt8])?) -> (body: [UInt8], contentType: String) {
        let boundary = "sim-test-boundary"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        if let file {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            body += file.data + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    @Test("a wallet's edit answers a PNG of the input's size, with Venice's headers, charged the model's inpaint price on its ledger")
    func editChargesTheWallet() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let body = #"{"prompt":"make the sky orange","image":"\#(Self.base64(320, 256))"}"#
            let reply = try await call(sim, .POST, "/image/edit", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: body)
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "image/png")
            let size = inspectPNG(reply.body)
            #expect(size?.width == 320 && size?.height == 256)
            #expect(reply.header("x-venice-model-id") == "firered-image-edit")
            #expect(reply.header("x-venice-is-content-violation") == "false")
            let charges = await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }
            #expect(charges.count == 1)
            #expect(charges.first?.modelId == "firered-image-edit")
            #expect(charges.first?.amountMicro == -40_000)
            #expect(reply.header("X-Balance-Remaining") == Money.text(5_000_000 - 40_000, decimals: 6))
        }
    }

    @Test("an edit at 2K defaults to JPEG and is charged the model's 2K tier")
    func editResolutionTier() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let body = #"{"prompt":"x","model":"nano-banana-pro-edit","resolution":"2K","image":"\#(Self.base64(256, 256))"}"#
            let reply = try await call(sim, .POST, "/image/edit", headers: auth, json: body)
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "image/jpeg")
            #expect(await sim.state.usage().last?.amountMicro == -230_000)
        }
    }

    @Test("edit validation: each bad request is refused with its status and nothing is charged", arguments: [
        (#"{"image":"IMG"}"#, 400),                                                  // prompt required
        (#"{"prompt":"x"}"#, 400),                                                   // image required
        (#"{"prompt":"x","image":"IMG","model":"z-image-turbo"}"#, 400),            // not an edit model
        (#"{"prompt":"x","image":"IMG","model":"no-such-edit"}"#, 404),
        (#"{"prompt":"x","image":"IMG","aspect_ratio":"7:5"}"#, 400),
        (#"{"prompt":"x","image":"IMG","output_format":"gif"}"#, 400),
        (#"{"prompt":"x","image":"IMG","model":"grok-imagine-edit","resolution":"4K"}"#, 400),
        (#"{"prompt":"x","image":"SMALL"}"#, 400),                                   // under 65536 pixels
        (#"{"prompt":"x","image":"bm90IGFuIGltYWdl"}"#, 400),                        // not an image
        (#"{"prompt":"x","image":"HUGE"}"#, 400),                                    // a header claiming 4294967295 × 4294967295
        (#"{"prompt":"x","image":"IMG","mask":"y"}"#, 400),                          // additionalProperties: false
        (#"{"prompt":"x","image":"IMG","output_format":"jpg"}"#, 200),
    ])
    func editValidation(body: String, status: Int) async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let huge = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
                            + [UInt8](repeating: 0xFF, count: 8) + [8, 2, 0, 0, 0]).base64EncodedString()
            let json = body.replacingOccurrences(of: "HUGE", with: huge).replacingOccurrences(of: "SMALL", with: Self.base64(200, 200)).replacingOccurrences(of: "IMG", with: Self.base64(256, 256))
            let reply = try await call(sim, .POST, "/image/edit", headers: auth, json: json)
            #expect(reply.status == status, "\(body): \(String(decoding: reply.body.prefix(200), as: UTF8.self))")
            if status != 200 { #expect(await sim.state.usage().isEmpty) }
        }
    }

    @Test("an upscale of a multipart file doubles it by default (2x price) and 4x costs the 4x tier")
    func upscaleScales() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let form = Self.multipart(fields: [], file: ("image", "in.png", Self.png(256, 300)))
            let doubled = try await call(sim, .POST, "/image/upscale", headers: auth, body: form.body, contentType: form.contentType)
            #expect(doubled.status == 200)
            #expect(doubled.header("Content-Type") == "image/png")
            let size = inspectPNG(doubled.body)
            #expect(size?.width == 512 && size?.height == 600)
            #expect(await sim.state.usage().last?.amountMicro == -20_000)
            let quadrupled = try await call(sim, .POST, "/image/upscale", headers: auth, json: #"{"scale":4,"image":"\#(Self.base64(256, 256))"}"#)
            #expect(inspectPNG(quadrupled.body)?.width == 1024)
            #expect(await sim.state.usage().last?.amountMicro == -80_000)
        }
    }

    @Test("upscale validation: scale 3, too small an image, and no image are 400s")
    func upscaleValidation() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            for body in [#"{"scale":3,"image":"\#(Self.base64(256, 256))"}"#, #"{"image":"\#(Self.base64(100, 100))"}"#, #"{"scale":2}"#] {
                let reply = try await call(sim, .POST, "/image/upscale", headers: auth, json: body)
                #expect(reply.status == 400, "\(body.prefix(40))")
            }
            let text = try await call(sim, .POST, "/image/upscale", headers: auth, body: Array("x".utf8), contentType: "text/plain")
            #expect(text.status == 415)
            #expect(await sim.state.usage().isEmpty)
        }
    }

    @Test("background removal answers a PNG of the input's size at bria-bg-remover's price; image_url alone is refused")
    func backgroundRemove() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await call(sim, .POST, "/image/background-remove", headers: auth, json: #"{"image":"\#(Self.base64(64, 48))"}"#)
            #expect(reply.status == 200)
            let size = inspectPNG(reply.body)
            #expect(size?.width == 64 && size?.height == 48)
            #expect(await sim.state.usage().last?.modelId == "bria-bg-remover")
            #expect(await sim.state.usage().last?.amountMicro == -30_000)
            let both = try await call(sim, .POST, "/image/background-remove", headers: auth,
                                      json: #"{"image":"\#(Self.base64(64, 48))","image_url":"https://example.com/a.png"}"#)
            #expect(both.status == 400)
            let none = try await call(sim, .POST, "/image/background-remove", headers: auth, json: #"{}"#)
            #expect(none.status == 400)
        }
    }

    @Test("a voice clone answers a vv_ handle for the model and leaves a charge on the wallet's ledger")
    func voiceCloneAnswersHandle() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let wav = Self.wav(seconds: 6)
            let form = Self.multipart(fields: [("model", "tts-chatterbox-hd")], file: ("file", "me.wav", wav))
            let reply = try await call(sim, .POST, "/audio/voices", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))],
                                       body: form.body, contentType: form.contentType)
            #expect(reply.status == 200)
            let id = try #require(reply.json?["id"]?.stringValue)
            #expect(id.hasPrefix("vv_"))
            #expect(reply.json?["model"]?.stringValue == "tts-chatterbox-hd")
            #expect(reply.json?.objectValue?.keys.count == 2)
            let charges = await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }
            #expect(charges.count == 1 && charges.first?.modelId == "tts-chatterbox-hd")
        }
    }

    @Test("speech takes a cloned handle with the model that minted it, not with another model, and not an unknown handle")
    func clonedHandleSpeaks() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let form = Self.multipart(fields: [("model", "tts-chatterbox-hd")], file: ("file", "me.wav", Self.wav(seconds: 6)))
            let cloned = try await call(sim, .POST, "/audio/voices", headers: auth, body: form.body, contentType: form.contentType)
            let handle = try #require(cloned.json?["id"]?.stringValue)
            let spoken = try await call(sim, .POST, "/audio/speech", headers: auth,
                                        json: #"{"model":"tts-chatterbox-hd","voice":"\#(handle)","input":"Hello in my own voice."}"#)
            #expect(spoken.status == 200)
            #expect(spoken.header("Content-Type") == "audio/wav")
            let otherModel = try await call(sim, .POST, "/audio/speech", headers: auth,
                                            json: #"{"model":"tts-minimax-speech-02-hd","voice":"\#(handle)","input":"Hello."}"#)
            #expect(otherModel.status == 400)
            let unknown = try await call(sim, .POST, "/audio/speech", headers: auth,
                                         json: #"{"model":"tts-chatterbox-hd","voice":"vv_voice_unknown","input":"Hello."}"#)
            #expect(unknown.status == 400)
        }
    }

    @Test("voice clone validation: a FLAC sample for MiniMax, another model, no file and JSON are refused before any charge")
    func voiceCloneValidation() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let flac = Array("fLaC".utf8) + [UInt8](repeating: 0, count: 64)
            let cases: [(fields: [(String, String)], file: (name: String, filename: String, data: [UInt8])?, status: Int)] = [
                ([("model", "tts-minimax-speech-02-hd")], ("file", "a.flac", flac), 400),
                ([("model", "tts-kokoro")], ("file", "a.flac", flac), 400),
                ([("model", "tts-chatterbox-hd")], nil, 400),
                ([("model", "tts-chatterbox-hd")], ("file", "a.txt", Array("just some text, not audio".utf8)), 400),
                ([("model", "tts-chatterbox-hd")], ("file", "a.flac", flac), 200),
            ]
            for item in cases {
                let form = Self.multipart(fields: item.fields, file: item.file)
                let reply = try await call(sim, .POST, "/audio/voices", headers: auth, body: form.body, contentType: form.contentType)
                #expect(reply.status == item.status, "\(item.fields) \(item.file?.filename ?? "-")")
            }
            #expect(await sim.state.usage().count == 1)
            let json = try await call(sim, .POST, "/audio/voices", headers: auth, json: #"{"model":"tts-chatterbox-hd"}"#)
            #expect(json.status == 415)
        }
    }
}
