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

    @Test("retrieve: PROCESSING with timings until ready, then a video/mp4 (ftyp, moov); uncharged; complete → success and the media is gone (404); another wallet's or model's queue_id → 400")
    func retrieveAndComplete() async throws {
        let alice = Wallet(52), bob = Wallet(53)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 2, bob.lower: 1])) { sim async throws in
            func send(_ path: String, _ json: String, as wallet: Wallet? = nil) async throws -> Reply {
                try await call(sim, .POST, path, headers: [("SIGN-IN-WITH-X", try signIn.header(wallet ?? alice))], json: json)
            }
            let queued = try await send("/video/queue", #"{"model":"wan-2-7-text-to-video","prompt":"Gondolas at dusk","duration":"5s","resolution":"720p"}"#)
            let id = try #require(queued.json?["queue_id"]?.stringValue)
            let job = #"{"model":"wan-2-7-text-to-video","queue_id":"\#(id)"}"#
            let running = try await send("/video/retrieve", job)
            #expect(running.status == 200)
            #expect(running.json?["status"]?.stringValue == "PROCESSING")
            #expect(running.json?["average_execution_time"]?.doubleValue != nil)
            #expect(running.json?["execution_duration"]?.doubleValue == 0)
            clock.advance(by: 1_500)
            let done = try await send("/video/retrieve", job)
            #expect(done.status == 200)
            #expect(done.header("Content-Type") == "video/mp4")
            #expect(Array(done.body.dropFirst(4).prefix(4)) == Array("ftyp".utf8))
            #expect(String(decoding: done.body, as: UTF8.self).contains("moov"))
            #expect(done.header("X-Balance-Remaining") == "1.450000")
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 1.45)
            #expect(try await send("/video/retrieve", job, as: bob).error == "Request ID is invalid.")
            #expect(try await send("/video/retrieve", #"{"model":"wan-2-7-image-to-video","queue_id":"\#(id)"}"#).error == "Request ID is invalid.")
            #expect(try await send("/audio/retrieve", #"{"model":"wan-2-7-text-to-video","queue_id":"\#(id)"}"#).status == 400)
            #expect(try await send("/video/retrieve", #"{"model":"wan-2-7-text-to-video","queue_id":"\#(id)","extra":1}"#).status == 400)
            #expect(try await send("/video/complete", job, as: bob).status == 400)
            let completed = try await send("/video/complete", job)
            #expect(completed.status == 200)
            #expect(completed.json?["success"]?.boolValue == true)
            #expect(try await send("/video/retrieve", job).status == 404)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 1.45)
        }
    }

    @Test("retrieve with delete_media_on_completion answers the video once, then 404")
    func deleteOnCompletion() async throws {
        let alice = Wallet(54)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 2])) { sim async throws in
            func send(_ path: String, _ json: String) async throws -> Reply {
                try await call(sim, .POST, path, headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
            }
            let queued = try await send("/video/queue", #"{"model":"wan-2-7-text-to-video","prompt":"Gondolas at dusk","duration":"5s"}"#)
            let id = try #require(queued.json?["queue_id"]?.stringValue)
            clock.advance(by: 1_500)
            let job = #"{"model":"wan-2-7-text-to-video","queue_id":"\#(id)","delete_media_on_completion":true}"#
            #expect(try await send("/video/retrieve", job).header("Content-Type") == "video/mp4")
            #expect(try await send("/video/retrieve", job).status == 404)
        }
    }
}

