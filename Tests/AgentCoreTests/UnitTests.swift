@testable import AgentCore
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import VeniceClient
import WalletCrypto
import X402Protocol

/// The request path's parts, each alone: no socket, no simulator.
@Suite("Request path parts without sockets")
struct UnitTests {
    // MARK: scheduler

    @Test("the scheduler serves waiting clients round-robin, one request per client per turn")
    func schedulerIsFair() async throws {
        let scheduler = UpstreamScheduler(maxInFlight: 1, maxQueued: 16)
        let first = try await scheduler.lease(.client("a"))
        let order = Recorded<[String]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Client a queues three requests before b and c queue one each.
            for (index, client) in ["a", "a", "a", "b", "c"].enumerated() {
                group.addTask {
                    let lease = try await scheduler.lease(.client(client))
                    order.withLock { $0.append(client) }
                    await lease.release()
                }
                try await Self.waitUntil { await scheduler.snapshot.queued == index + 1 }
            }
            await first.release()
            try await group.waitForAll()
        }
        #expect(order.withLock { $0 } == ["a", "b", "c", "a", "a"])
    }

    @Test("the agent's own work waits behind every client, and a full queue refuses")
    func backgroundWaitsBehindClients() async throws {
        let scheduler = UpstreamScheduler(maxInFlight: 1, maxQueued: 2)
        let held = try await scheduler.lease(.client("x"))
        let order = Recorded<[String]>([])
        async let background: Void = {
            let lease = try await scheduler.lease(.background)
            order.withLock { $0.append("background") }
            await lease.release()
        }()
        try await Self.waitUntil { await scheduler.snapshot.queued == 1 }
        async let client: Void = {
            let lease = try await scheduler.lease(.client("y"))
            order.withLock { $0.append("client") }
            await lease.release()
        }()
        try await Self.waitUntil { await scheduler.snapshot.queued == 2 }
        await #expect(throws: UpstreamScheduler.Refusal.full) { _ = try await scheduler.lease(.client("z")) }
        await held.release()
        _ = try await (background, client)
        #expect(order.withLock { $0 } == ["client", "background"])
    }

    @Test("a lease nobody releases is returned when it is dropped; a cancelled waiter leaves the queue")
    func leasesReleaseOnEveryPath() async throws {
        let scheduler = UpstreamScheduler(maxInFlight: 1, maxQueued: 4)
        do { _ = try await scheduler.lease(.client("a")) }  // dropped at once
        try await Self.waitUntil { await scheduler.snapshot.inFlight == 0 }
        let held = try await scheduler.lease(.client("a"))
        let waiter = Task { try await scheduler.lease(.client("b")) }
        try await Self.waitUntil { await scheduler.snapshot.queued == 1 }
        waiter.cancel()
        await #expect(throws: UpstreamScheduler.Refusal.cancelled) { _ = try await waiter.value }
        try await Self.waitUntil { await scheduler.snapshot.queued == 0 }
        await held.release()
        #expect(await scheduler.snapshot.inFlight == 0)
    }

    @Test("reconciliation polls at most every 6 s, backs off to a minute while nothing new appears, and waits for Venice to debit")
    func reconcilePacer() {
        var pacer = ReconcilePacer()
        let start = ContinuousClock.now
        #expect(pacer.delayBeforePoll(now: start) == .seconds(2))
        pacer.polled(at: start, foundNew: true)
        #expect(pacer.delayBeforePoll(now: start) == .seconds(6))
        var intervals: [Duration] = []
        for index in 1...6 {
            pacer.polled(at: start + .seconds(index * 100), foundNew: false)
            intervals.append(pacer.interval)
        }
        #expect(intervals == [.seconds(12), .seconds(24), .seconds(48), .seconds(60), .seconds(60), .seconds(60)])
        pacer.polled(at: start + .seconds(1_000), foundNew: true)
        #expect(pacer.interval == .seconds(6))
        // Never closer than the budget, whatever the caller asks.
        #expect(pacer.delayBeforePoll(now: start + .seconds(1_001)) == .seconds(5))
    }

    // MARK: payment journal

    @Test("the journal reserves within the caps, counts every open or settled intent, and holds one open intent at most")
    func journalReservations() async throws {
        let ledger = try AgentLedger(writer: DatabaseQueue())
        let journal = TopUpJournal(ledger: ledger)
        func reserve(_ id: String, _ micro: Int64) async throws -> Result<TopUpJournal.Reservation, TopUpJournal.Refusal> {
            try await journal.reserve(id: id, amountMicro: micro, now: 1_000, dayStart: 0, perTopUpCapMicro: 10_000_000, dailyCapMicro: 15_000_000)
        }
        guard case .failure(.overCap) = try await reserve("a", 11_000_000) else { Issue.record("over the per-top-up cap was reserved"); return }
        guard case .success(let first) = try await reserve("b", 10_000_000) else { Issue.record("a top-up within the caps was refused"); return }
        #expect(first.committedBeforeMicro == 0)
        guard case .failure(.unresolved(let open)) = try await reserve("c", 1_000_000) else { Issue.record("a second open intent was reserved"); return }
        #expect(open == "b")
        try await journal.recordSigned("b", payTo: "0xpay", nonce: "0x01", validBefore: 9, payload: "signed")
        try await journal.update("b", state: .settled, outcome: "ok")
        guard case .failure(.overDailyCap(_, let committed)) = try await reserve("d", 6_000_000) else { Issue.record("over the daily cap was reserved"); return }
        #expect(committed == 10_000_000)
        guard case .success = try await reserve("e", 5_000_000) else { Issue.record("the rest of the daily cap was refused"); return }
        try await journal.update("e", state: .failed, outcome: "not paid")
        // A failed intent does not count: the same amount can be reserved again.
        guard case .success = try await reserve("f", 5_000_000) else { Issue.record("a failed intent still counted"); return }
        #expect(try await journal.unresolved().map(\.id) == ["f"])
    }

    // MARK: price book

    struct FixedPrices: PriceSource {
        let models: [String: [String: JSONValue]]
        let quote: Double?
        func models(type: String) async throws(VeniceClientError) -> [String: JSONValue] {
            guard let listed = models[type] else { throw .unexpectedAnswer(status: 500, message: "") }
            return listed
        }
        func audioQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double {
            guard let quote else { throw .unexpectedAnswer(status: 400, message: "") }
            return quote
        }
        func videoQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double {
            guard let quote, body["model"]?.stringValue == "clip", body["duration"]?.stringValue == "5s" else {
                throw .unexpectedAnswer(status: 400, message: "")
            }
            return quote * 2
        }
        /// $0.01 a started minute, like Venice's tiers; only for "changer".
        func voiceChangerQuote(_ body: JSONValue) async throws(VeniceClientError) -> Double {
            guard body["model"]?.stringValue == "changer", let seconds = body["duration_seconds"]?.intValue, seconds > 0 else {
                throw .unexpectedAnswer(status: 400, message: "")
            }
            return Double((seconds + 59) / 60) / 100
        }
    }

    static func model(_ pricing: JSONValue) -> JSONValue { ["model_spec": ["pricing": pricing]] }

    static let prices = PriceBook(venice: FixedPrices(models: [
        "image": ["cheap": model(["generation": ["usd": .number("0.01")]]),
                  "bria-bg-remover": model(["generation": ["usd": .number("0.25")]]),
                  "tiers": model(["resolutions": ["1K": ["usd": .number("0.1")], "4K": ["usd": .number("0.5")]]]),
                  "absurd": model(["generation": ["usd": .number("1e300")]]),
                  "negative": model(["generation": ["usd": .number("-1")]])],
        "tts": ["voice": model(["input": ["usd": .number("15")]])],
        "text": ["chatty": model(["input": ["usd": 2], "output": ["usd": 10]], context: 100_000),
                 "long": model(["input": ["usd": 1], "cache_write": ["usd": .number("1.5")], "output": ["usd": 2],
                                "extended": ["context_token_threshold": 1000, "input": ["usd": 4], "output": ["usd": 8]]], context: 2000),
                 "nocontext": model(["input": ["usd": 2], "output": ["usd": 10]]),
                 "absurd": model(["input": ["usd": .number("1e300")], "output": ["usd": 1]], context: 1000),
                 "hugecontext": model(["input": ["usd": 1], "output": ["usd": 1]], context: .number("1e300"))],
        "embedding": ["embed": model(["input": ["usd": 2]]), "pair": model(["input": ["usd": 1], "output": ["usd": 3]])],
        "asr": ["ears": model(["per_audio_second": ["usd": .number("0.25")]]),
                "nvidia/parakeet-tdt-0.6b-v3": model(["per_audio_second": ["usd": .number("0.5")]])],
        "music": ["changer": ["model_spec": ["voice_changer": true, "max_source_audio_duration_seconds": 300]]],
        "upscale": ["upscaler": model(["upscale": ["2x": ["usd": .number("0.25")], "4x": ["usd": .number("0.75")]]])],
        "inpaint": ["firered-image-edit": model(["inpaint": ["usd": .number("0.125")]]),
                    "tiered": model(["inpaint": ["usd": .number("0.25")],
                                     "resolutions": ["1K": ["usd": .number("0.25")], "4K": ["usd": .number("0.5")]],
                                     "quality": ["4K": ["high": ["usd": .number("0.75")], "low": ["usd": .number("0.125")]]],
                                     "inputImages": ["included": 1, "additional": ["usd": .number("0.125")]]])],
    ], quote: 0.25))

    static func model(_ pricing: JSONValue, context: JSONValue) -> JSONValue {
        ["model_spec": ["pricing": pricing, "availableContextTokens": context]]
    }

    static func route(_ template: String) throws -> VeniceRoute {
        try #require(try RouteTable.route(method: "POST", template: template, walletAddress: "0x00"))
    }

    @Test("the price book prices images by model, variants and resolution, speech by characters, queued audio by quote")
    func priceBookBoundsWhatItCan() async throws {
        let image = try Self.route("/image/generate")
        #expect(try await Self.prices.estimate(route: image, body: ["model": "cheap", "variants": 4]).0 == .bounded(micro: 40_000))
        #expect(try await Self.prices.estimate(route: image, body: ["model": "tiers", "resolution": "4K"]).0 == .bounded(micro: 500_000))
        let speech = try Self.route("/audio/speech")
        #expect(try await Self.prices.estimate(route: speech, body: ["model": "voice", "input": "hello"]).0 == .bounded(micro: 75))
        let queue = try Self.route("/audio/queue")
        #expect(try await Self.prices.estimate(route: queue, body: ["model": "m", "prompt": "a song"]).0 == .bounded(micro: 250_000))
        let retrieve = try Self.route("/audio/retrieve")
        #expect(try await Self.prices.estimate(route: retrieve, body: nil).0 == .free)
    }

    @Test("the price book leaves unbounded what it cannot price: unknown or absurd prices, unreadable bodies, unpriced routes")
    func priceBookFailsClosed() async throws {
        let image = try Self.route("/image/generate")
        for body: JSONValue? in [["model": "nope"], ["model": "absurd"], ["model": "negative"], ["prompt": "no model"], nil, .string("x")] {
            guard case .unbounded = try await Self.prices.estimate(route: image, body: body).0 else {
                Issue.record("\(String(describing: body)) was priced")
                continue
            }
        }
        let hello: JSONValue = [["role": "user", "content": "hello"]]
        let unpriceable: [(String, JSONValue?)] = [
            ("/chat/completions", ["model": "m", "messages": hello, "max_tokens": 10]),
            ("/chat/completions", ["model": "chatty", "messages": hello, "max_tokens": 10, "venice_parameters": ["enable_web_search": "auto"]]),
            ("/chat/completions", ["model": "chatty", "messages": hello, "venice_parameters": ["enable_web_scraping": true]]),
            ("/chat/completions", ["model": "chatty", "messages": [["role": "user", "content": [["type": "input_audio", "input_audio": ["data": "AAAA"]]]]]]),
            ("/chat/completions", ["model": "absurd", "messages": hello, "max_tokens": 10]),
            ("/chat/completions", ["model": "hugecontext", "messages": hello, "max_tokens": 10]),
            ("/chat/completions", ["model": "nocontext", "messages": hello]),
            ("/chat/completions", ["messages": hello, "max_tokens": 10]),
            ("/responses", ["model": "chatty", "input": "more", "previous_response_id": "resp_1", "max_output_tokens": 10]),
            ("/embeddings", ["model": "embed", "input": [1, 2, 3]]),
            ("/embeddings", ["model": "nope", "input": "x"]),
            ("/audio/transcriptions", ["model": "ears"]),
            ("/image/edit", ["prompt": "x", "image": "AAAA", "enhance_prompt": true]),
            ("/image/multi-edit", ["modelId": "nope", "prompt": "x", "images": ["AAAA"]]),
            ("/video/queue", ["model": "clip", "duration": "5s", "reference_video_urls": ["https://x/a.mp4"]]),
            ("/video/queue", ["model": "clip", "duration": "auto"]),
            ("/video/queue", ["model": "clip"]),
            ("/video/queue", ["model": "other", "duration": "5s"]),
        ]
        for (template, body) in unpriceable {
            guard case .unbounded = try await Self.prices.estimate(route: try Self.route(template), body: body).0 else {
                Issue.record("\(template) \(String(describing: body)) was priced")
                continue
            }
        }
        await #expect(throws: AgentError.self) { _ = try await Self.prices.estimate(route: image, body: ["model": "cheap", "variants": 5]) }
    }

    static let hello: JSONValue = [["role": "user", "content": "hello"]]

    static func micro(_ template: String, _ body: JSONValue?, form: MultipartForm? = nil) async throws -> Int64? {
        let estimate = try await prices.estimate(route: try route(template), body: body, form: form).0
        guard case .bounded(let micro) = estimate else { Issue.record("\(template) was not priced: \(estimate)"); return nil }
        return micro
    }

    // Input tokens: UTF-8 bytes of every key and value + 16 per message + 16 + 4,096 for
    // Venice's system prompt; "chatty" is $2 in / $10 out per 1M tokens, context 100,000.
    @Test("a chat is priced from its bytes and max_tokens, else from the context the input leaves, each choice billed")
    func chatEstimates() async throws {
        // model+chatty 11, messages 8, role+user+content+hello 20, max_tokens+100 13 = 52 bytes;
        // 52 + 32 + 4,096 = 4,180 in × $2 = 8,360; 100 out × $10 = 1,000.
        #expect(try await Self.micro("/chat/completions", ["model": "chatty", "messages": Self.hello, "max_tokens": 100]) == 9_360)
        // max_completion_tokens is 11 bytes longer: 4,191 in (8,382) + 1,000.
        #expect(try await Self.micro("/chat/completions", ["model": "chatty", "messages": Self.hello, "max_completion_tokens": 100]) == 9_382)
        // No limit: 39 + 32 + 4,096 = 4,167 in (8,334); 100,000 − 4,167 = 95,833 out (958,330).
        #expect(try await Self.micro("/chat/completions", ["model": "chatty", "messages": Self.hello]) == 966_664)
        // max_tokens 0 is "the model's default" (openapi.yaml): as none, with 11 bytes more in:
        // 4,178 in (8,356) + 95,822 out (958,220).
        #expect(try await Self.micro("/chat/completions", ["model": "chatty", "messages": Self.hello, "max_tokens": 0]) == 966_576)
        // n 2: 54 bytes → 4,182 in (8,364); 2 × 100 out (2,000).
        #expect(try await Self.micro("/chat/completions", ["model": "chatty", "messages": Self.hello, "max_tokens": 100, "n": 2]) == 10_364)
        // An image part is 16,384 tokens, whatever its URL's bytes: 60 bytes + 22 for the part's
        // type+image_url+image_url, + 16,384 + 32 + 4,096 = 20,594 in (41,188) + 10 out (100).
        let picture: JSONValue = [["role": "user", "content": [["type": "text", "text": "hi"],
                                                                ["type": "image_url", "image_url": ["url": "data:image/png;base64,AAAA"]]]]]
        #expect(try await Self.micro("/chat/completions", ["model": "chatty", "messages": picture, "max_tokens": 10]) == 41_288)
        // Outside the conversation an image-shaped object is text like any other: 100,000 bytes
        // of it pass the context, so the input is the whole context (200,000) + 10 out (100).
        let disguised: JSONValue = [["type": "image_url", "image_url": ["url": .string(String(repeating: "x", count: 100_000))]]]
        #expect(try await Self.micro("/chat/completions", ["model": "chatty", "messages": Self.hello, "tools": disguised, "max_tokens": 10]) == 200_100)
    }

    @Test("a response is priced from its input bytes and max_output_tokens")
    func responsesEstimate() async throws {
        // model+chatty 11, input+hello 10, max_output_tokens+50 19 = 40; 40 + 32 + 4,096 = 4,168 in (8,336) + 50 out (500).
        #expect(try await Self.micro("/responses", ["model": "chatty", "input": "hello", "max_output_tokens": 50]) == 8_836)
    }

    @Test("a chat that may pass the long-context threshold is priced at the extended rates, and cache writes bound input")
    func extendedRates() async throws {
        let quiet: JSONValue = ["include_venice_system_prompt": false]
        // 9 + 28 + 13 + 46 = 96 bytes + 32 = 128 in; 228 tokens stay under 1,000: input at the
        // cache-write rate $1.5 (192), output $2 (200).
        #expect(try await Self.micro("/chat/completions", ["model": "long", "messages": Self.hello, "max_tokens": 100, "venice_parameters": quiet]) == 392)
        // 129 in + 1,000 out pass 1,000: extended $4 in (516), $8 out (8,000).
        #expect(try await Self.micro("/chat/completions", ["model": "long", "messages": Self.hello, "max_tokens": 1000, "venice_parameters": quiet]) == 8_516)
    }

    @Test("token limits, n and scale out of range are a 400 naming the field", arguments: [
        ("/chat/completions", "max_tokens", JSONValue.number("1e300")), ("/chat/completions", "max_tokens", .number("1000000000")),
        ("/chat/completions", "max_tokens", .string("100")), ("/chat/completions", "max_completion_tokens", .number("0")),
        ("/chat/completions", "n", .number("0")), ("/chat/completions", "n", .number("9223372036854775808")),
        ("/responses", "max_output_tokens", .number("-1")), ("/image/upscale", "scale", .number("3")),
        ("/image/upscale", "scale", .string("x")), ("/image/upscale", "scale", .number("1e400")),
    ])
    func outOfRangeFields(template: String, field: String, value: JSONValue) async throws {
        var body = JSONObject([("model", "chatty"), ("messages", Self.hello), ("input", "hi"), ("image", "AAAA")])
        body[field] = value
        let route = try Self.route(template)
        do {
            _ = try await Self.prices.estimate(route: route, body: .object(body))
            Issue.record("\(field) \(value) was accepted")
        } catch {
            #expect(error.message.contains(field), "\(error.message)")
        }
    }

    @Test("embeddings are priced from the input's bytes at the input rate plus the output rate when listed")
    func embeddingEstimates() async throws {
        // "hello": 5 bytes + 4 = 9 tokens × $2.
        #expect(try await Self.micro("/embeddings", ["model": "embed", "input": "hello"]) == 18)
        // (2 + 4) + (3 + 4) = 13 tokens × ($1 + $3).
        #expect(try await Self.micro("/embeddings", ["model": "pair", "input": ["ab", "cde"]]) == 52)
    }

    static func form(_ fields: [(String, String)], files: [(String, [UInt8])]) -> MultipartForm? {
        var body: [UInt8] = []
        for (name, value) in fields { body += Array("--b0und\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8) }
        for (name, bytes) in files {
            body += Array("--b0und\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            body += bytes + Array("\r\n".utf8)
        }
        body += Array("--b0und--\r\n".utf8)
        return MultipartForm(body: body, contentType: "multipart/form-data; boundary=b0und")
    }

    /// 8 kHz, 8-bit mono PCM (8,000 bytes a second) whose header claims 80,000: the smaller rate counts.
    static func wav(dataBytes: Int) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8((v >> (8 * $0)) & 0xff) } }
        return Array("RIFF".utf8) + le32(36 + dataBytes) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1) + le32(8000) + le32(80_000)
            + le16(1) + le16(8) + Array("data".utf8) + le32(dataBytes) + [UInt8](repeating: 0x80, count: dataBytes)
    }

    @Test("a transcription is priced per second: a WAV from its header, anything else from its size at 1 kbit/s")
    func transcriptionEstimates() async throws {
        // 16,000 bytes at 8,000 a second = 2 s × $0.25.
        #expect(try await Self.micro("/audio/transcriptions", nil, form: Self.form([("model", "ears")], files: [("file", Self.wav(dataBytes: 16_000))])) == 500_000)
        // 251 bytes of MP3 at 125 bytes a second: 3 s (rounded up) × $0.25.
        #expect(try await Self.micro("/audio/transcriptions", nil, form: Self.form([("model", "ears")], files: [("file", Array(repeating: 0xFF, count: 251))])) == 750_000)
        // No model: Venice's default, nvidia/parakeet-tdt-0.6b-v3 ($0.5 here).
        #expect(try await Self.micro("/audio/transcriptions", nil, form: Self.form([], files: [("file", Self.wav(dataBytes: 16_000))])) == 1_000_000)
    }

    @Test("an upscale is priced by scale, an edit at the dearest tier plus extra input images, a background removal at bria-bg-remover")
    func imageToolEstimates() async throws {
        #expect(try await Self.micro("/image/upscale", ["image": "AAAA"]) == 250_000)
        #expect(try await Self.micro("/image/upscale", ["image": "AAAA", "scale": 4]) == 750_000)
        #expect(try await Self.micro("/image/upscale", nil, form: Self.form([("scale", "4")], files: [("image", [1, 2, 3])])) == 750_000)
        // No model: firered-image-edit.
        #expect(try await Self.micro("/image/edit", ["prompt": "x", "image": "AAAA"]) == 125_000)
        // Dearest tier $0.75 (4K high) + 2 images past the one included × $0.125.
        #expect(try await Self.micro("/image/multi-edit", ["modelId": "tiered", "prompt": "x", "images": ["A", "B", "C"]]) == 1_000_000)
        #expect(try await Self.micro("/image/multi-edit", nil, form: Self.form([("modelId", "tiered"), ("prompt", "x")], files: [("images", [1]), ("images", [2])])) == 875_000)
        #expect(try await Self.micro("/image/background-remove", ["image": "AAAA"]) == 250_000)
    }

    @Test("a queued video is priced at Venice's /video/quote for its model and duration")
    func videoEstimate() async throws {
        #expect(try await Self.micro("/video/queue", ["model": "clip", "prompt": "a fox", "duration": "5s", "resolution": "720p"]) == 500_000)
    }

    @Test("a voice change is quoted for the upload's length bound, at most the model's longest source; a URL source is unpriced")
    func voiceChangerEstimate() async throws {
        // A 2 s WAV: one started minute, $0.01.
        #expect(try await Self.micro("/audio/voice-changer/queue", nil, form: Self.form([("model", "changer")], files: [("file", Self.wav(dataBytes: 16_000))])) == 10_000)
        // 125,000 bytes of MP3: 1,000 s at 1 kbit/s, capped at the 300 s the model accepts: 5 minutes, $0.05.
        #expect(try await Self.micro("/audio/voice-changer/queue", nil, form: Self.form([("model", "changer")], files: [("file", Array(repeating: 0xFF, count: 125_000))])) == 50_000)
        guard case .unbounded = try await Self.prices.estimate(route: try Self.route("/audio/voice-changer/queue"),
                                                               body: ["model": "changer", "audio_url": "https://x/a.mp3"]).0 else {
            Issue.record("a voice change from a URL was priced")
            return
        }
    }

    @Test("a multipart form is split at the byte level: text fields, repeated files, binary content kept whole")
    func multipartForm() throws {
        let binary: [UInt8] = [0x00, 0x0D, 0x0A, 0x2D, 0x2D, 0xFF]
        let form = try #require(Self.form([("model", "ears"), ("scale", "4")], files: [("file", binary), ("images", [7]), ("images", [8])]))
        #expect(form.text("model") == "ears")
        #expect(form.text("scale") == "4")
        #expect(form.text("file") == nil)
        #expect(form.contents("file").map(Array.init) == [binary])
        #expect(form.contents("images").count == 2)
        #expect(MultipartForm(body: Array("x".utf8), contentType: "application/json") == nil)
        #expect(MultipartForm(body: Array("garbage".utf8), contentType: "multipart/form-data; boundary=b")?.parts.isEmpty == true)
        #expect(MultipartForm(body: [], contentType: "multipart/form-data; boundary=" + String(repeating: "b", count: 71)) == nil)
        // Overlapping prefixes are found where they start, and not past the limit.
        #expect(MultipartForm.find(Array("--ab".utf8), in: Array("x---ab".utf8), from: 0) == 2)
        #expect(MultipartForm.find(Array("--ab".utf8), in: Array("x---ab".utf8), from: 0, before: 5) == nil)
        #expect(MultipartForm.find(Array("aab".utf8), in: Array("aaaab".utf8), from: 1) == 2)
    }

    // MARK: middlewares

    static func context(connection: ConnectionRegistry.Info?) -> AgentRequestContext {
        var context = AgentRequestContext(source: .init(channel: EmbeddedChannel(), logger: Logger(label: "test")))
        context.connection = connection
        return context
    }

    static func request(_ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:]) -> Request {
        Request(head: HTTPRequest(method: method, scheme: "http", authority: "agent", path: path, headerFields: headers), body: .init(buffer: ByteBuffer()))
    }

    static let owner = UInt32(getuid())

    static func info(uid: UInt32) -> ConnectionRegistry.Info {
        ConnectionRegistry.Info(id: 1, peer: PeerCredentials(uid: uid, gid: 0, pid: 42), identity: nil)
    }

    static func callers(_ configure: (inout AgentConfiguration) -> Void = { _ in }) async throws -> CallerMiddleware {
        var configuration = AgentConfiguration(keystorePath: "k", socketPath: "/tmp/s")
        configure(&configuration)
        let clients = try await ClientStore(ledger: try AgentLedger(writer: DatabaseQueue()))
        return CallerMiddleware(resolver: CallerResolver(configuration: configuration, clients: clients), metrics: AgentMetrics())
    }

    @Test("the caller middleware names the caller: the owner administers, another allowed uid does not, others are refused")
    func callerMiddleware() async throws {
        let middleware = try await Self.callers { $0.allowedUIDs = [Self.owner &+ 1] }
        let seen = Recorded<Caller?>(nil)
        let next: @Sendable (Request, AgentRequestContext) async throws -> Response = { _, context in
            seen.withLock { $0 = context.caller }
            return Response(status: .ok)
        }
        _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: Self.info(uid: Self.owner)), next: next)
        #expect(seen.withLock { $0?.administrator } != nil)
        _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: Self.info(uid: Self.owner &+ 1)), next: next)
        #expect(seen.withLock { $0?.administrator } == nil)
        #expect(seen.withLock { $0?.policy.name } == "uid-\(Self.owner &+ 1)")
        await #expect(throws: AgentError.self) {
            _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: Self.info(uid: Self.owner &+ 2)), next: next)
        }
        await #expect(throws: AgentError.self) {
            _ = try await middleware.handle(Self.request("/agent/v1/status"), context: Self.context(connection: nil), next: next)
        }
        var headers = HTTPFields()
        headers[.authorization] = "Bearer vat_00"
        await #expect(throws: AgentError.self) {
            _ = try await middleware.handle(Self.request("/agent/v1/status", headers: headers), context: Self.context(connection: Self.info(uid: Self.owner)), next: next)
        }
    }

    @Test("the owner's context can only be made for a caller that administers")
    func ownerContextNeedsAnAdministrator() async throws {
        let middleware = try await Self.callers { $0.allowedUIDs = [Self.owner &+ 1] }
        for (uid, administers) in [(Self.owner, true), (Self.owner &+ 1, false)] {
            let made = Recorded<Bool?>(nil)
            _ = try await middleware.handle(Self.request("/agent/v1/lock", method: .post), context: Self.context(connection: Self.info(uid: uid))) { _, context in
                made.withLock { $0 = (try? OwnerRequestContext(context: context)) != nil }
                return Response(status: .ok)
            }
            #expect(made.withLock { $0 } == administers)
        }
    }

    @Test("the lock gate refuses signed and Bearer routes while locked, and lets public ones through")
    func lockGate() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let session = try KeySession(keystorePath: try makeKeystore(in: dir).path, lifetime: nil)
        let ledger = try AgentLedger(writer: DatabaseQueue())
        let client = try UpstreamClient(configuration: .init(baseURL: "http://127.0.0.1:9/api/v1"), httpClient: .shared,
                                        credentials: AgentCredentials(signer: try SiwxSigner(signer: session, clock: SkewClock()), bearer: { nil }),
                                        clock: SkewClock(), logger: Logger(label: "test"))
        let apiKeys = try await ApiKeyService(ledger: ledger, venice: VeniceAPI(client: client, slots: UpstreamScheduler(), wallet: session.address),
                                              session: session, logger: Logger(label: "test"))
        let gate = LockGate(session: session, apiKeys: apiKeys)
        let next: @Sendable (Request, AgentRequestContext) async throws -> Response = { _, _ in Response(status: .ok) }
        for (method, template, expected) in [("POST", "/image/generate", "AGENT_LOCKED"), ("GET", "/billing/balance", "AGENT_LOCKED"), ("GET", "/models", nil)] {
            var context = Self.context(connection: Self.info(uid: Self.owner))
            context.coreContext.endpointPath.value = "/api/v1" + template
            do {
                _ = try await gate.handle(Self.request("/api/v1" + template, method: HTTPRequest.Method(method) ?? .get), context: context, next: next)
                #expect(expected == nil, "\(template) passed while locked")
            } catch let error as AgentError {
                #expect(error.code == expected, "\(template): \(error.code)")
            }
        }
    }

    static func waitUntil(_ condition: @Sendable () async -> Bool) async throws {
        for _ in 0..<500 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the condition never held")
    }
}

import AsyncHTTPClient

/// A value tasks record into and the test reads afterwards.
final class Recorded<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

// MARK: sign-in headers signed ahead

@Suite("Sign-in headers signed ahead (SignInReserve)")
struct SignInReserveTests {
    /// A reserve over counters instead of a key: each signature is a new numbered header.
    final class Fixture: Sendable {
        let signatures = Atomic<Int>(0)
        let epoch = Atomic<Int>(1)
        let offset = Atomic<Int64>(0)
        let corrections = Atomic<Int>(0)
        let confirmed = Atomic<Bool>(true)
        let clock = TestClock()

        func makeReserve() -> SignInReserve {
            SignInReserve(lifetime: .seconds(5), sign: { [self] in "header-\(signatures.add(1, ordering: .relaxed).newValue)" },
                          epoch: { [self] in epoch.load(ordering: .relaxed) },
                          confirm: { [self] in $0 == epoch.load(ordering: .relaxed) && confirmed.load(ordering: .relaxed) },
                          clock: { [self] in .init(offsetMilliseconds: offset.load(ordering: .relaxed), corrections: corrections.load(ordering: .relaxed)) },
                          now: { [self] in clock.now })
        }
    }

    @Test("a header signed ahead is handed out once; the next request finds none until a refill")
    func handedOutOnce() async {
        let f = Fixture()
        let reserve = f.makeReserve()
        #expect(reserve.take() == nil)
        await reserve.refill()?.value
        #expect(reserve.refill() == nil, "a kept header needs no refill")
        #expect(reserve.take() == "header-1")
        #expect(reserve.take() == nil)
        await reserve.refill()?.value
        #expect(reserve.take() == "header-2")
        #expect(f.signatures.load(ordering: .relaxed) == 2)
    }

    @Test("a header signed ahead is never handed out after a lock, a clock correction, a clock drift past 1 s, or once older than its lifetime")
    func staleHeadersAreDiscarded() async {
        let f = Fixture()
        let reserve = f.makeReserve()
        await reserve.refill()?.value
        f.epoch.add(2, ordering: .relaxed)   // locked and unlocked again
        #expect(reserve.take() == nil)
        await reserve.refill()?.value
        f.offset.store(-900, ordering: .relaxed)   // the median of Venice's `Date` samples wanders
        #expect(reserve.take() == "header-2", "a drift within Date's 1 s resolution keeps it")
        await reserve.refill()?.value
        f.offset.store(-1_901, ordering: .relaxed)   // the clock moved by more than that
        #expect(reserve.take() == nil)
        await reserve.refill()?.value
        f.corrections.add(1, ordering: .relaxed)   // a clock error from Venice, even a small correction
        #expect(reserve.take() == nil)
        await reserve.refill()?.value
        f.clock.advance(by: .milliseconds(5_001))
        #expect(reserve.take() == nil)
        await reserve.refill()?.value
        f.clock.advance(by: .seconds(5))
        #expect(reserve.take() == "header-6", "exactly at its lifetime it is still good")
        await reserve.refill()?.value
        f.confirmed.store(false, ordering: .relaxed)   // the key session says no at the hand-out (a lock came)
        #expect(reserve.take() == nil)
    }

    @Test("a failed signature (the key is locked) keeps nothing, and the next refill may try again")
    func failedSignatureKeepsNothing() async {
        let locked = Atomic<Bool>(true)
        let reserve = SignInReserve(sign: {
            if locked.load(ordering: .relaxed) { throw X402Error.signerLocked }
            return "fresh"
        }, epoch: { 1 }, confirm: { _ in true }, clock: { .init(offsetMilliseconds: 0, corrections: 0) })
        await reserve.refill()?.value
        #expect(reserve.take() == nil)
        locked.store(false, ordering: .relaxed)
        await reserve.refill()?.value
        #expect(reserve.take() == "fresh")
    }

    @Test("200 concurrent refills sign one header, and of 200 concurrent takers exactly one gets it")
    func concurrentRefillsAndTakers() async {
        let f = Fixture()
        let reserve = f.makeReserve()
        let refills = await withTaskGroup(of: Task<Void, Never>?.self) { group in
            for _ in 0..<200 { group.addTask { reserve.refill() } }
            var started: [Task<Void, Never>] = []
            for await task in group { if let task { started.append(task) } }
            return started
        }
        for refill in refills { await refill.value }
        #expect(refills.count == 1)
        #expect(f.signatures.load(ordering: .relaxed) == 1)
        let taken = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<200 { group.addTask { reserve.take() } }
            var taken: [String] = []
            for await header in group { if let header { taken.append(header) } }
            return taken
        }
        #expect(taken == ["header-1"])
    }

    static func unlockedSession(lifetime: Duration?, clock: TestClock) async throws -> (KeySession, String) {
        let dir = try temporaryDirectory()
        let keystore = try makeKeystore(in: dir)
        let session = try KeySession(keystorePath: keystore.path, lifetime: lifetime, clock: { clock.now })
        var pw = Array("test password".utf8)
        try await session.unlock(password: SecretBytes(zeroingSource: &pw))
        return (session, dir)
    }

    @Test("with a real key session: a header signed before a lock is never handed out, and a lock after the checks refuses the hand-out")
    func realSessionLock() async throws {
        let (session, dir) = try await Self.unlockedSession(lifetime: nil, clock: TestClock())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = SkewClock()
        let reserve = SignInReserve.signingAhead(with: try SiwxSigner(signer: session, clock: clock), session: session, clock: clock)
        await reserve.refill()?.value
        session.lock()
        var pw = Array("test password".utf8)
        try await session.unlock(password: SecretBytes(zeroingSource: &pw))
        #expect(reserve.take() == nil, "a lock and an unlock came between")
        await reserve.refill()?.value
        #expect(reserve.refill() == nil, "a good kept header needs no refill")
        session.lock()
        pw = Array("test password".utf8)
        try await session.unlock(password: SecretBytes(zeroingSource: &pw))
        let replacing = reserve.refill()
        #expect(replacing != nil, "a header gone stale at a lock is replaced at the next refill")
        await replacing?.value
        #expect(reserve.take() != nil)
        // The hand-out is confirmed under the key session's lock: a lock after the checks refuses it.
        let epoch = session.keyEpoch
        session.lock()
        #expect(!session.confirmSignedAhead(epoch: epoch))
    }

    @Test("only a proxied request takes the header signed ahead; inline, passive and background sign-ins sign their own and leave it")
    func onlyProxiedRequestsTake() async throws {
        let (session, dir) = try await Self.unlockedSession(lifetime: nil, clock: TestClock())
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let clock = SkewClock()
        let signer = try SiwxSigner(signer: session, clock: clock)
        let reserve = SignInReserve.signingAhead(with: signer, session: session, clock: clock)
        let credentials = AgentCredentials(signer: signer, bearer: { nil }, signedAhead: reserve)
        // An empty reserve: every kind of sign-in signs inline, once, and nothing is signed ahead.
        let before = session.signatureCount
        let inline = try credentials.signInHeader()
        let passive = try await KeySession.withoutKeepingAlive { try await SignInReserve.$eligible.withValue(true) { try credentials.signInHeader() } }
        let proxied = try await SignInReserve.$eligible.withValue(true) { try credentials.signInHeader() }
        try await Task.sleep(for: .milliseconds(50))
        #expect(session.signatureCount == before + 3)
        #expect(reserve.take() == nil)
        // A kept header: the inline and passive sign-ins leave it; the proxied one takes it.
        await reserve.refill()?.value
        let inline2 = try credentials.signInHeader()
        let passive2 = try await KeySession.withoutKeepingAlive { try await SignInReserve.$eligible.withValue(true) { try credentials.signInHeader() } }
        let signed = session.signatureCount
        let taken = try await SignInReserve.$eligible.withValue(true) { try credentials.signInHeader() }
        #expect(session.signatureCount == signed, "taking signs nothing")
        #expect(reserve.handedOut == 1)
        #expect(Set([inline, passive, proxied, inline2, passive2, taken]).count == 6)
    }

    @Test("signing ahead never keeps an idle key unlocked; sending the header counts as a use")
    func idleLifetime() async throws {
        let clock = TestClock()
        let (session, dir) = try await Self.unlockedSession(lifetime: .milliseconds(200), clock: clock)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let skew = SkewClock()
        let signer = try SiwxSigner(signer: session, clock: skew)
        let reserve = SignInReserve.signingAhead(with: signer, session: session, clock: skew)
        let credentials = AgentCredentials(signer: signer, bearer: { nil }, signedAhead: reserve)
        clock.advance(by: .milliseconds(150))
        await reserve.refill()?.value
        clock.advance(by: .milliseconds(100))
        #expect(session.lockIfIdle(), "the background signature was not a use")
        var pw = Array("test password".utf8)
        try await session.unlock(password: SecretBytes(zeroingSource: &pw))
        await reserve.refill()?.value
        clock.advance(by: .milliseconds(150))
        _ = try await SignInReserve.$eligible.withValue(true) { try credentials.signInHeader() }
        #expect(reserve.handedOut == 1)
        clock.advance(by: .milliseconds(100))
        #expect(!session.lockIfIdle(), "sending the kept header was a use")
    }
}
