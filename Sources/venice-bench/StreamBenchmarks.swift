import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WalletCrypto
import X402Protocol

/// Issue 13 figures: a streamed chat (`stream: true`, `include_usage`) through the agent versus
/// straight to the simulator — time to the first byte of the answer body and completion tokens
/// per second as the client sees them — with the simulator pausing 0 and 20 ms between events
/// (its `streamEventDelayMilliseconds` knob). One client, sequential requests.
enum StreamBenchmarks {
    static let body = #"{"model":"venice-uncensored-1-2","messages":[{"role":"user","content":"Tell me a long story about Venice."}],"#
        + #""max_tokens":400,"stream":true,"stream_options":{"include_usage":true}}"#

    struct Sample {
        let firstByte: Double
        let tokensPerSecond: Double
    }

    static func run(count: Int) async throws {
        print("== Streamed chat, agent vs direct (POST /chat/completions stream + include_usage, \(count) sequential per cell, one process) ==")
        print("event gap " + "direct TTFB p50".leftPad(15) + " " + "p99 ms".leftPad(7) + " " + "tok/s".leftPad(9) + " "
              + "agent TTFB p50".leftPad(15) + " " + "p99 ms".leftPad(7) + " " + "tok/s".leftPad(9) + " "
              + "added TTFB p50".leftPad(16) + " " + "agent/direct tok/s".leftPad(19))
        for gap in [0, 20] {
            try await AgentBenchmarks.withBench(latency: 0, maxInFlight: 5, streamEventDelay: gap) { bench in
                let agentURL = URL(httpURLWithSocketPath: bench.socketPath, uri: "/api/v1/chat/completions")?.absoluteString ?? ""
                func direct() throws -> HTTPClientRequest {
                    let signer = try SiwxSigner(signer: bench.directKeys[0], clock: SystemWallClock())
                    var request = HTTPClientRequest(url: bench.simURL + "/chat/completions")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "SIGN-IN-WITH-X", value: try signer.makeHeader().headerValue)
                    request.body = .bytes(ByteBuffer(string: body))
                    return request
                }
                func viaAgent() -> HTTPClientRequest {
                    var request = HTTPClientRequest(url: agentURL)
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: body))
                    return request
                }
                // Warm-up: connections open, the price catalog fetched.
                _ = try await once(bench.http, try direct())
                _ = try await once(bench.http, viaAgent())
                var directSamples: [Sample] = []
                var agentSamples: [Sample] = []
                for _ in 0..<count {
                    if let sample = try await once(bench.http, try direct()) { directSamples.append(sample) }
                    if let sample = try await once(bench.http, viaAgent()) { agentSamples.append(sample) }
                }
                func pct(_ values: [Double], _ p: Double) -> Double {
                    let sorted = values.sorted()
                    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
                }
                func f(_ x: Double, _ w: Int) -> String { Bench.format(x, 2).leftPad(w) }
                let d = (ttfb: directSamples.map(\.firstByte), rate: directSamples.map(\.tokensPerSecond))
                let a = (ttfb: agentSamples.map(\.firstByte), rate: agentSamples.map(\.tokensPerSecond))
                let directRate = pct(d.rate, 0.5)
                let agentRate = pct(a.rate, 0.5)
                print("\(String(gap).leftPad(6)) ms \(f(pct(d.ttfb, 0.5), 15)) \(f(pct(d.ttfb, 0.99), 7)) \(f(directRate, 9)) "
                      + "\(f(pct(a.ttfb, 0.5), 15)) \(f(pct(a.ttfb, 0.99), 7)) \(f(agentRate, 9)) "
                      + "\(f(pct(a.ttfb, 0.5) - pct(d.ttfb, 0.5), 16)) \(Bench.format(agentRate / max(directRate, 0.001) * 100, 0).leftPad(18))%"
                      + (directSamples.count + agentSamples.count < 2 * count
                         ? "  (failures: direct \(count - directSamples.count), agent \(count - agentSamples.count))" : ""))
            }
        }
    }

    /// One streamed request: milliseconds to the first body chunk, and completion tokens (the
    /// final chunk's `usage`) per second of the whole exchange; nil when it failed.
    static func once(_ http: HTTPClient, _ request: HTTPClientRequest) async throws -> Sample? {
        let start = ContinuousClock.now
        let response = try await http.execute(request, timeout: .seconds(120))
        guard response.status == .ok else {
            _ = try await response.body.collect(upTo: 1 << 20)
            return nil
        }
        var firstByte: ContinuousClock.Instant?
        var tail = ""
        for try await chunk in response.body {
            if firstByte == nil { firstByte = .now }
            // The usage is on the last event: keep only the end of the stream.
            tail = String((tail + String(buffer: chunk)).suffix(4096))
        }
        let end = ContinuousClock.now
        guard let firstByte, let tokens = completionTokens(in: tail) else { return nil }
        let seconds = (end - start).milliseconds / 1000
        return Sample(firstByte: (firstByte - start).milliseconds, tokensPerSecond: Double(tokens) / max(seconds, 1e-9))
    }

    static func completionTokens(in text: String) -> Int? {
        guard let range = text.range(of: "\"completion_tokens\":", options: .backwards) else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }
}
