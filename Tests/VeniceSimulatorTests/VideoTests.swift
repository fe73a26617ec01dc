import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// Prices from docs.venice.ai/models/wan-2-7-video.md and wan-2-7-enhanced.md (per-second rates
/// whose 5 s clips the pages show as $0.55 / $0.70 and, with audio, $0.64 / $0.99).
@Suite("Video quote and queue admission (openapi.yaml /video/quote, /video/queue; skills venice-video)")
struct VideoTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)

    @Test("quote needs no auth and prices duration × resolution: wan 2.7 5 s 720p $0.55, 10 s 1080p $1.40; enhanced 5 s 720p $0.6435")
    func quote() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            func quote(_ json: String) async throws -> Reply { try await call(sim, .POST, "/video/quote", json: json) }
            #expect(try await quote(#"{"model":"wan-2-7-text-to-video","duration":"5s","resolution":"720p","aspect_ratio":"16:9","audio":true}"#).json?["quote"]?.doubleValue == 0.55)
            #expect(try await quote(#"{"model":"wan-2-7-text-to-video","duration":"10s","resolution":"1080p"}"#).json?["quote"]?.doubleValue == 1.4)
            #expect(try await quote(#"{"model":"wan-2-7-text-to-video","duration":"15s","resolution":"1080p"}"#).json?["quote"]?.doubleValue == 2.1)
            #expect(try await quote(#"{"model":"wan-2-7-enhanced-text-to-video","duration":"5s","resolution":"720p"}"#).json?["quote"]?.doubleValue == 0.6435)
        }
    }

    @Test("quote validation: each bad request is refused with its status, per-parameter ones as DetailedError naming the field", arguments: [
        (#"{"duration":"5s","resolution":"720p"}"#, 400, nil),                                   // model is required
        (#"{"model":"no-such-video","duration":"5s","resolution":"720p"}"#, 404, nil),
        (#"{"model":"tts-kokoro","duration":"5s","resolution":"720p"}"#, 400, nil),                  // not a video model
        (#"{"model":"wan-2-7-text-to-video","resolution":"720p"}"#, 400, "duration"),                // duration is required
        (#"{"model":"wan-2-7-text-to-video","duration":"45s","resolution":"720p"}"#, 400, "duration"),   // outside the enum
        (#"{"model":"wan-2-7-text-to-video","duration":"7s","resolution":"720p"}"#, 400, "duration"),    // not one of the model's
        (#"{"model":"wan-2-7-text-to-video","duration":"5s"}"#, 400, "resolution"),                  // resolution-priced model
        (#"{"model":"wan-2-7-text-to-video","duration":"5s","resolution":"480p"}"#, 400, "resolution"),
        (#"{"model":"wan-2-7-text-to-video","duration":"5s","resolution":"720p","aspect_ratio":"4:3"}"#, 400, "aspect_ratio"),
        (#"{"model":"wan-2-7-text-to-video","duration":"5s","resolution":"720p","audio":"yes"}"#, 400, "audio"),
    ] as [(String, Int, String?)])
    func quoteValidation(json: String, status: Int, field: String?) async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await call(sim, .POST, "/video/quote", json: json)
            #expect(reply.status == status, "\(json): \(reply.status) \(reply.error ?? "")")
            #expect(reply.json?["quote"] == nil)
            if let field {
                #expect(reply.error == "Invalid request parameters")
                #expect(reply.json?["details"]?[field]?["_errors"]?.arrayValue?.isEmpty == false, "\(json)")
            }
        }
    }

    @Test("/models?type=video carries the documented constraints shape for simulated models, and no pricing")
    func constraints() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let rows = try await call(sim, .GET, "/models?type=video").json?["data"]?.arrayValue ?? []
            let spec = rows.first { $0["id"]?.stringValue == "wan-2-7-text-to-video" }?["model_spec"]
            let constraints = spec?["constraints"]
            #expect(constraints?["durations"]?.arrayValue?.compactMap(\.stringValue) == ["5s", "10s", "15s"])
            #expect(constraints?["resolutions"]?.arrayValue?.compactMap(\.stringValue) == ["1080p", "720p"])
            #expect(constraints?["model_type"]?.stringValue == "text-to-video")
            #expect(constraints?["audio_configurable"]?.boolValue == false)
            #expect(spec?["pricing"] == nil)
        }
    }

    @Test("queue: a wallet is charged the quote and gets model + queue_id; no prompt, i2v without image, or credit below the quote → refused uncharged")
    func queue() async throws {
        let alice = Wallet(51)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 1])) { sim async throws in
            func send(_ json: String) async throws -> Reply {
                try await call(sim, .POST, "/video/queue", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
            }
            let queued = try await send(#"{"model":"wan-2-7-text-to-video","prompt":"Commerce in Venice","duration":"5s","resolution":"720p","aspect_ratio":"16:9"}"#)
            #expect(queued.status == 200, "\(queued.error ?? "")")
            #expect(queued.json?["model"]?.stringValue == "wan-2-7-text-to-video")
            #expect(queued.json?["queue_id"]?.stringValue?.isEmpty == false)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0.45)
            #expect(try await send(#"{"model":"wan-2-7-text-to-video","duration":"5s","resolution":"720p"}"#).status == 400)
            #expect(try await send(#"{"model":"wan-2-7-image-to-video","prompt":"Zoom out","duration":"5s","resolution":"720p"}"#).status == 400)
            // Omitted resolution → the model's cheapest (720p, $0.55): more than the $0.45 left.
            let broke = try await send(#"{"model":"wan-2-7-text-to-video","prompt":"Commerce in Venice","duration":"5s"}"#)
            #expect(broke.status == 402)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0.45)
        }
    }
}
