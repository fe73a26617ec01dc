import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Transport, routing and Bearer keys (VENICE.md §1, §10 Transport / Bearer)")
struct TransportAndBearerTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(21)
    var signIn: SignIn { SignIn(clock: clock) }

    @Test("every response carries the server's Date, shifted by the clock-offset knob")
    func dateHeader() async throws {
        var configuration = testConfiguration(clock: clock)
        configuration.faults.clockOffsetSeconds = 3_600
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            for (method, path) in [(HTTPMethod.GET, "/models?type=image"), (.POST, "/image/generate"), (.GET, "/billing/usage")] {
                let reply = try await call(sim, method, path)
                // 1_790_000_000 s + 1 h (checked with Python datetime)
                #expect(reply.header("Date") == "Mon, 21 Sep 2026 15:13:20 GMT", "\(path)")
            }
        }
    }

    @Test("every response carries a fresh Cloudflare-style CF-RAY (16 hex, dash, 3-letter colo), errors and 404s included")
    func cfRayOnEveryResponse() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let auth = [("Authorization", "Bearer inference-key")]
            let replies = [
                try await call(sim, .GET, "/models?type=image"),
                try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage),
                try await call(sim, .POST, "/image/generate"),
                try await call(sim, .POST, "/image/generate", headers: auth, json: "{"),
                try await call(sim, .GET, "/billing/usage"),
                try await call(sim, .GET, "/no/such/route"),
            ]
            #expect(replies.map(\.status) == [200, 200, 402, 400, 410, 404])
            let rays = replies.compactMap { $0.header("CF-RAY") }
            #expect(rays.count == replies.count)
            let pattern = /^[0-9a-f]{16}-[A-Z]{3}$/
            for ray in rays { #expect(ray.wholeMatch(of: pattern) != nil, "\(ray)") }
            #expect(Set(rays).count == rays.count)
        }
    }

    @Test("strict bodies: unknown field → 400 DetailedError, bad Content-Type → 400, broken JSON → 400 Invalid JSON request, > 35 MB → 413")
    func strictBodies() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let auth = [("Authorization", "Bearer inference-key")]
            let unknown = try await call(sim, .POST, "/image/generate", headers: auth, json: #"{"model":"z-image-turbo","prompt":"x","colour":"red"}"#)
            #expect(unknown.status == 400)
            #expect(unknown.error == "Invalid request parameters")
            #expect(unknown.json?["issues"]?.arrayValue?.isEmpty == false)
            #expect(unknown.json?["details"]?["_errors"] != nil)
            let plain = try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage, contentType: "text/plain")
            #expect(plain.status == 400)
            #expect(plain.error == "'Content-Type' must be 'application/json'")
            let broken = try await call(sim, .POST, "/image/generate", headers: auth, json: #"{"model": "#)
            #expect(broken.status == 400)
            #expect(broken.error == "Invalid JSON request")
            let huge = #"{"model":"z-image-turbo","prompt":""# + String(repeating: "a", count: 36 * 1024 * 1024) + #""}"#
            let tooLarge = try await call(sim, .POST, "/image/generate", headers: auth, json: huge)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.error == "Request body exceeds the maximum allowed size.")
        }
    }

    @Test("no-credential routes answer 200: /models, /image/styles, /audio/quote, GET generate_web3_key")
    func openRoutes() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            #expect(try await call(sim, .GET, "/models?type=image").status == 200)
            #expect(try await call(sim, .GET, "/image/styles").json?["data"]?.arrayValue?.contains("Anime") == true)
            #expect(try await call(sim, .POST, "/audio/quote", json: #"{"model":"elevenlabs-music","duration_seconds":60}"#).status == 200)
            #expect(try await call(sim, .GET, "/api_keys/generate_web3_key").json?["data"]?["token"]?.stringValue != nil)
        }
    }

    @Test("credentialed routes without credentials answer 402 discovery with PAYMENT-REQUIRED, never 401",
          arguments: [(HTTPMethod.POST, "/image/generate"), (.POST, "/audio/speech"), (.GET, "/billing/balance"), (.GET, "/api_keys"),
                      (.GET, "/api_keys/rate_limits"), (.POST, "/audio/queue")])
    func discovery(method: HTTPMethod, path: String) async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await call(sim, method, path)
            #expect(reply.status == 402)
            #expect(reply.json?["x402Version"]?.intValue == 2)
            let accepts = reply.json?["accepts"]?.arrayValue ?? []
            #expect(accepts.map { $0["amount"]?.stringValue } == ["10000000", "10000000"])
            #expect(accepts.map { $0["network"]?.stringValue } == ["eip155:8453", "solana"])
            #expect(reply.json?["authOptions"]?["x402Wallet"]?["header"]?.stringValue == "SIGN-IN-WITH-X")
            let required = try PaymentRequired(headerValue: try #require(reply.header("PAYMENT-REQUIRED")))
            #expect(required.signInWithX != nil)
        }
    }

    @Test("GET /billing/usage is 410 with Deprecation, Sunset and Link, with or without a key")
    func retiredUsage() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            for headers in [[], [("Authorization", "Bearer admin-key")]] {
                let reply = try await call(sim, .GET, "/billing/usage", headers: headers)
                #expect(reply.status == 410)
                #expect(reply.header("Deprecation") == "@1783555200")
                #expect(reply.header("Sunset") == "Wed, 16 Sep 2026 00:00:00 GMT")
                #expect(reply.header("Link")?.contains("rel=\"successor-version\"") == true)
                #expect(reply.error?.contains("/api/v1/billing/usage-history") == true)
            }
        }
    }

    @Test("unknown key → 401 Authentication failed; INFERENCE key on ADMIN routes → 401 Admin API key required; on rate_limits → 200")
    func keyTypes() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let unknown = try await call(sim, .POST, "/image/generate", headers: [("Authorization", "Bearer nope")], json: smallImage)
            #expect(unknown.status == 401)
            #expect(unknown.error == "Authentication failed")
            for path in ["/billing/balance", "/billing/usage-history", "/api_keys", "/api_keys/rate_limits/log"] {
                let reply = try await call(sim, .GET, path, headers: [("Authorization", "Bearer inference-key")])
                #expect(reply.status == 401, "\(path)")
                #expect(reply.error == "Admin API key required", "\(path)")
            }
            let limits = try await call(sim, .GET, "/api_keys/rate_limits", headers: [("Authorization", "Bearer inference-key")])
            #expect(limits.status == 200)
            #expect(limits.json?["data"]?["accessPermitted"]?.boolValue == true)
        }
    }

    @Test("SIWX alone on a Bearer-only route → 401; a revoked key → 401")
    func siwxOnBearerRoute() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let reply = try await call(sim, .GET, "/billing/balance", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))])
            #expect(reply.status == 401)
            #expect(reply.error == "Authentication failed")
            let record = await sim.state.addKey(secret: "temp-key", type: .admin)
            #expect(try await call(sim, .DELETE, "/api_keys?id=\(record.id)", headers: [("Authorization", "Bearer admin-key")]).status == 200)
            #expect(try await call(sim, .GET, "/billing/balance", headers: [("Authorization", "Bearer temp-key")]).status == 401)
            #expect(try await call(sim, .DELETE, "/api_keys?id=\(record.id)", headers: [("Authorization", "Bearer admin-key")]).error == "API key could not be found")
        }
    }

    @Test("a key at its USD limit gets 402 with the spend-limit text, no code")
    func keyLimit() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            await sim.state.addKey(secret: "capped", type: .inference, limitUSD: 0.02)
            let auth = [("Authorization", "Bearer capped")]
            #expect(try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage).status == 200)
            #expect(try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage).status == 200)
            let capped = try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage)
            #expect(capped.status == 402)
            #expect(capped.error?.hasPrefix("API key USD spend limit exceeded.") == true)
            #expect(capped.code == nil)
            // EPOCH limits reset at 00:00 UTC.
            clock.advance(by: 86_400_000)
            #expect(try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage).status == 200)
        }
    }

    @Test("PRIVATE_ONLY key: anonymized model → 403 privacy text, and /models hides such models")
    func privacy() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            await sim.state.addKey(secret: "private-only", type: .inference, modelPrivacy: "PRIVATE_ONLY")
            let auth = [("Authorization", "Bearer private-only")]
            let reply = try await call(sim, .POST, "/image/generate", headers: auth,
                                       json: #"{"model":"nano-banana-2","prompt":"x","format":"png"}"#)
            #expect(reply.status == 403)
            #expect(reply.error?.contains("is an Anonymous model") == true)
            let models = try await call(sim, .GET, "/models?type=image", headers: auth)
            let privacies = Set(models.json?["data"]?.arrayValue?.compactMap { $0["model_spec"]?["privacy"]?.stringValue } ?? [])
            #expect(privacies == ["private"])
            let all = try await call(sim, .GET, "/models?type=image")
            #expect(all.json?["data"]?.arrayValue?.count == 38)
        }
    }

    @Test("/models: catalog rows with synthesized object, owned_by, constraints, formats, voices; type=bogus → 400")
    func models() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let image = try await call(sim, .GET, "/models?type=image")
            let turbo = image.json?["data"]?.arrayValue?.first { $0["id"]?.stringValue == "z-image-turbo" }
            #expect(turbo?["object"]?.stringValue == "model")
            #expect(turbo?["owned_by"]?.stringValue == "venice.ai")
            #expect(turbo?["model_spec"]?["constraints"]?["widthHeightDivisor"]?.intValue == 8)
            let gpt = image.json?["data"]?.arrayValue?.first { $0["id"]?.stringValue == "gpt-image-2" }
            #expect(gpt?["model_spec"]?["constraints"]?["qualities"]?.arrayValue?.count == 3)
            let tts = try await call(sim, .GET, "/models?type=tts")
            #expect(tts.json?["data"]?.arrayValue?.count == 11)
            let kokoro = tts.json?["data"]?.arrayValue?.first { $0["id"]?.stringValue == "tts-kokoro" }
            #expect(kokoro?["model_spec"]?["default_voice"]?.stringValue == "af_sky")
            #expect(kokoro?["model_spec"]?["supported_formats"]?.arrayValue?.first?.stringValue == "mp3")
            #expect(try await call(sim, .GET, "/models?type=asr").json?["data"]?.arrayValue?.count == 5)
            let music = try await call(sim, .GET, "/models?type=music")
            #expect(music.json?["data"]?.arrayValue?.count == 14)
            #expect(music.json?["data"]?.arrayValue?.first?["model_spec"]?["min_prompt_length"] != nil)
            let bogus = try await call(sim, .GET, "/models?type=bogus")
            #expect(bogus.status == 400)
            #expect(bogus.error == "Invalid request parameters")
        }
    }

    @Test("request headers are recorded (names lowercased) and SIWX headers are listed")
    func recording() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let header = try signIn.header(alice)
            _ = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", header), ("X-Custom", "1")], json: smallImage)
            let recorded = await sim.state.recordedRequests()
            #expect(recorded.last?.path == "/api/v1/image/generate")
            #expect(recorded.last?.header("x-custom") == "1")
            #expect(recorded.last?.header("authorization") == nil)
            #expect(await sim.state.siwxHeadersSeen() == [header])
        }
    }

    @Test("a served request carries the documented x-ratelimit-*-requests headers: the model type's per-minute limit, what is left, the reset in unix seconds")
    func rateLimitHeaders() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let auth = [("Authorization", "Bearer inference-key")]
            let first = try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage)
            let second = try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage)
            #expect(first.status == 200 && second.status == 200)
            #expect(first.header("x-ratelimit-limit-requests") == "20")
            #expect(first.header("x-ratelimit-remaining-requests") == "19")
            #expect(second.header("x-ratelimit-remaining-requests") == "18")
            let reset = first.header("x-ratelimit-reset-requests").flatMap { Int64($0) }
            let now = clock.nowMilliseconds() / 1000
            #expect(reset.map { $0 > now && $0 <= now + 60 } == true, "\(String(describing: reset)) vs now \(now)")
            // A refused request is not served: it carries no per-minute headers.
            let refused = try await call(sim, .POST, "/image/generate", headers: auth, json: #"{"model":"z-image-turbo"}"#)
            #expect(refused.status == 400 && refused.header("x-ratelimit-limit-requests") == nil)
        }
    }

    @Test("the 51st failed request in 30 s locks the key × model bucket with 429 until it resets; discovery 402s do not count")
    func errorBudget() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            for _ in 0..<60 { #expect(try await call(sim, .POST, "/image/generate", json: smallImage).status == 402) }
            let auth = [("Authorization", "Bearer inference-key")]
            for _ in 0..<51 {
                _ = try await call(sim, .POST, "/image/generate", headers: auth, json: #"{"model":"z-image-turbo"}"#)
            }
            let locked = try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage)
            #expect(locked.status == 429)
            #expect(locked.error?.hasPrefix("Too many failed attempts (> 50)") == true)
            // Buckets are per model: another model still answers.
            let otherModel = try await call(sim, .POST, "/image/generate", headers: auth,
                                            json: #"{"model":"venice-sd35","prompt":"x","width":8,"height":8,"format":"png"}"#)
            #expect(otherModel.status == 200)
            clock.advance(by: 31_000)
            let open = try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage)
            #expect(open.status == 200)
            #expect(open.header("x-ratelimit-remaining") != nil)
            #expect(open.header("x-ratelimit-resets") != nil)
        }
    }
}
