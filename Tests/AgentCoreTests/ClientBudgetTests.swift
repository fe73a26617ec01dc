import AgentCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto

@Suite("Clients, budgets and spend")
struct ClientBudgetTests {
    static let fourImages = #"{"model":"z-image-turbo","prompt":"four foxes","width":256,"height":256,"format":"png","variants":4}"#

    @Test("a named client gets a vat_ token once; its token selects its policy and is never forwarded")
    func namedClient() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"imagegen","routes":["image"],"daily_usd":1}"#)
            #expect(created.status == 200, "\(created.text)")
            let token = try #require(created.json?["token"]?.stringValue)
            #expect(token.hasPrefix("vat_"))
            let auth = [("Authorization", "Bearer \(token)")]
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth).status == 200)
            let recorded = await agent.requestsAtSimulator()
            #expect(recorded.allSatisfy { $0.header("authorization") == nil })
            // Audio is not in its route groups; managing the agent is not allowed either.
            let speech = try await agent.request("POST", "/api/v1/audio/speech", json: #"{"model":"tts-kokoro","input":"hi"}"#, headers: auth)
            #expect(speech.status == 403)
            #expect(speech.json?["error"]?["code"]?.stringValue == "AGENT_ROUTE_NOT_ALLOWED")
            #expect(try await agent.request("POST", "/agent/v1/topup", json: #"{"usd":10}"#, headers: auth).status == 403)
            let listed = try await agent.request("GET", "/agent/v1/clients")
            #expect(listed.text.contains("imagegen"))
            #expect(!listed.text.contains(token))
            let unknown = try await agent.request("GET", "/agent/v1/status", headers: [("Authorization", "Bearer vat_0000")])
            #expect(unknown.status == 401)
        }
    }

    @Test("a client over its daily budget is refused before anything is signed, with the numbers")
    func dailyBudget() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"tight","routes":["image"],"daily_usd":0.05}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            let auth = [("Authorization", "Bearer \(token)")]
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: Self.fourImages, headers: auth).status == 200)  // $0.04
            let generationsBefore = await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/image/generate") }.count
            let refused = try await agent.request("POST", "/api/v1/image/generate", json: Self.fourImages, headers: auth)
            #expect(refused.status == 402)
            let error = refused.json?["error"]
            #expect(error?["code"]?.stringValue == "AGENT_BUDGET_EXCEEDED")
            #expect(error?["limit"]?.stringValue == "daily_usd")
            #expect(error?["estimate_usd"]?.doubleValue == 0.04)
            #expect((error?["spent_usd"]?.doubleValue ?? 0) >= 0.04)
            #expect(await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/image/generate") }.count == generationsBefore)
            // The owner's default client is not limited.
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: Self.fourImages).status == 200)
        }
    }

    @Test("a client's budget route shows its own limits, what it spent and what is left")
    func budgetRoute() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"meter","routes":["image"],"daily_usd":0.05,"max_request_usd":0.045}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            let auth = [("Authorization", "Bearer \(token)")]
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: Self.fourImages, headers: auth).status == 200)  // $0.04
            let budget = try await agent.request("GET", "/agent/v1/budget", headers: auth)
            #expect(budget.status == 200, "\(budget.text)")
            #expect(budget.json?["name"]?.stringValue == "meter")
            #expect(budget.json?["daily_usd"]?.doubleValue == 0.05)
            #expect(budget.json?["max_request_usd"]?.doubleValue == 0.045)
            let spent = try #require(budget.json?["spent_today_usd"]?.doubleValue)
            let left = try #require(budget.json?["left_today_usd"]?.doubleValue)
            #expect(spent >= 0.04 && abs(left - (0.05 - spent)) < 0.000_001)
            #expect(budget.json?["monthly_usd"]?.isNull == true && budget.json?["left_month_usd"]?.isNull == true)
            // The owner's default client has no limits and spent nothing.
            let own = try await agent.request("GET", "/agent/v1/budget")
            #expect(own.json?["name"]?.stringValue == "default" && own.json?["left_today_usd"]?.isNull == true)
        }
    }

    @Test("a per-request limit refuses an expensive request and lets a cheap one through")
    func perRequestLimit() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"cheap","max_request_usd":0.02}"#)
            let auth = [("Authorization", "Bearer \(created.json?["token"]?.stringValue ?? "")")]
            let refused = try await agent.request("POST", "/api/v1/image/generate", json: Self.fourImages, headers: auth)
            #expect(refused.json?["error"]?["limit"]?.stringValue == "max_request_usd")
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest, headers: auth).status == 200)
        }
    }

    @Test("a limited client's /video/queue is held at the simulator's /video/quote and refused 402 when the quote is over its limit")
    func videoQueueAtQuote() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"director","max_request_usd":1}"#)
            let auth = [("Authorization", "Bearer \(created.json?["token"]?.stringValue ?? "")")]
            // wan-2-7-text-to-video at 720p: $0.11 a second (docs.venice.ai/models/wan-2-7-video.md).
            let cheap = #"{"model":"wan-2-7-text-to-video","prompt":"Commerce in Venice","duration":"5s","resolution":"720p"}"#
            let queued = try await agent.request("POST", "/api/v1/video/queue", json: cheap, headers: auth)
            #expect(queued.status == 200, "\(queued.text.prefix(300))")
            #expect(queued.json?["queue_id"]?.stringValue?.isEmpty == false)
            let charges = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .charge }
            #expect(charges.map(\.amountMicro) == [-550_000])
            #expect(await agent.requestsAtSimulator().contains { $0.path.hasSuffix("/video/quote") })

            let queuesBefore = await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/video/queue") }.count
            let expensive = #"{"model":"wan-2-7-text-to-video","prompt":"Commerce in Venice","duration":"10s","resolution":"720p"}"#
            let refused = try await agent.request("POST", "/api/v1/video/queue", json: expensive, headers: auth)
            #expect(refused.status == 402)
            let error = refused.json?["error"]
            #expect(error?["code"]?.stringValue == "AGENT_BUDGET_EXCEEDED")
            #expect(error?["limit"]?.stringValue == "max_request_usd")
            #expect(error?["estimate_usd"]?.doubleValue == 1.1)
            #expect(await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/video/queue") }.count == queuesBefore)
        }
    }

    @Test("spend totals match the simulator's charges once reconciled")
    func spendMatchesSimulator() async throws {
        try await withAgent { agent in
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest).status == 200)
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: Self.fourImages).status == 200)
            let speech = try await agent.request("POST", "/api/v1/audio/speech",
                                                 json: #"{"model":"tts-kokoro","input":"Hello from the agent.","response_format":"wav"}"#)
            #expect(speech.status == 200, "\(speech.text.prefix(200))")
            let charges = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .charge }
            let simulatorTotal = -charges.map(\.amountMicro).reduce(0, +)
            var charged = -1.0
            for _ in 0..<40 {
                let spend = try await agent.request("GET", "/agent/v1/spend?by=model")
                charged = spend.json?["total_charged_usd"]?.doubleValue ?? -1
                let rows = spend.json?["rows"]?.arrayValue ?? []
                if abs(charged - Double(simulatorTotal) / 1e6) < 1e-9, rows.count == 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let debugSpend = try await agent.request("GET", "/agent/v1/spend?by=model").text
            #expect(abs(charged - Double(simulatorTotal) / 1e6) < 1e-9, "agent \(charged) vs simulator \(simulatorTotal) micro; \(debugSpend); \(charges.map { "\($0.amountMicro) \($0.requestId ?? "-") \($0.modelId ?? "-")" })")
            let byClient = try await agent.request("GET", "/agent/v1/spend?by=client")
            #expect(byClient.json?["rows"]?.arrayValue?.first?["key"]?.stringValue == "default")
            let status = try await agent.request("GET", "/agent/v1/status")
            #expect(status.json?["unexplained_charges"]?.intValue == 0)
        }
    }
}

@Suite("Uploads are attributed")
struct UploadAttributionTests {
    static func wav(seconds: Int) -> [UInt8] {
        let rate = 16_000, samples = rate * seconds
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xff) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8((v >> (8 * $0)) & 0xff) } }
        var out = Array("RIFF".utf8) + le32(36 + samples * 2) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(1)
        out += le32(rate) + le32(rate * 2) + le16(2) + le16(16) + Array("data".utf8) + le32(samples * 2)
        out += (0..<samples).flatMap { i in le16(Int(8000 * sin(Double(i) / 20)) & 0xffff) }
        return out
    }

    /// POSTs a `seconds`-long WAV to /audio/transcriptions as multipart/form-data.
    static func transcribe(_ agent: AgentHarness, seconds: Int, token: String? = nil) async throws -> (status: HTTPResponseStatus, body: JSONValue?) {
        let boundary = "agentboundary"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nnvidia/parakeet-tdt-0.6b-v3\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n".utf8)
        body += Self.wav(seconds: seconds) + Array("\r\n--\(boundary)--\r\n".utf8)
        let url = try #require(URL(httpURLWithSocketPath: agent.socketPath, uri: "/api/v1/audio/transcriptions"))
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await agent.http.execute(request, timeout: .seconds(60))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (response.status, try? JSONValue(parsing: Array(answer.readableBytesView)))
    }

    @Test("a limited client's transcription is priced from the WAV's length: a short one is sent, a long one is over max_request_usd")
    func transcriptionWithinRequestLimit() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"ears","max_request_usd":0.001}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            // Parakeet: $0.0001 a second. 2 s is $0.0002; 40 s is $0.004, over $0.001.
            let long = try await Self.transcribe(agent, seconds: 40, token: token)
            #expect(long.status == .paymentRequired)
            #expect(long.body?["error"]?["code"]?.stringValue == "AGENT_BUDGET_EXCEEDED")
            #expect(long.body?["error"]?["limit"]?.stringValue == "max_request_usd")
            #expect(try await Self.transcribe(agent, seconds: 2, token: token).status == .ok)
        }
    }

    @Test("a transcription upload (multipart) is charged to its model in the spend table", arguments: [2, 40])
    func transcription(seconds: Int) async throws {
        try await withAgent { agent in
            #expect(try await Self.transcribe(agent, seconds: seconds).status == .ok)
            var row: JSONValue?
            for _ in 0..<50 {
                try await Task.sleep(for: .milliseconds(100))
                row = try await agent.request("GET", "/agent/v1/spend?by=model").json?["rows"]?.arrayValue?
                    .first { $0["key"]?.stringValue == "nvidia/parakeet-tdt-0.6b-v3" }
                if (row?["charged_usd"]?.doubleValue ?? 0) > 0 { break }
            }
            let charges = await agent.sim.state.transactions(wallet: agent.address.lowercasedHex).filter { $0.kind == .charge }
            #expect(abs((row?["charged_usd"]?.doubleValue ?? 0) - Double(-charges.map(\.amountMicro).reduce(0, +)) / 1e6) < 1e-9)
            let spendText = try await agent.request("GET", "/agent/v1/spend?by=model").text
            #expect((row?["charged_usd"]?.doubleValue ?? 0) > 0, "\(spendText) \(charges.map { "\($0.requestId ?? "-") \($0.modelId ?? "-") \($0.createdAtMilliseconds)" })")
        }
    }
}
