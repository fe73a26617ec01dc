import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Fault knobs (VENICE.md §10 knobs)")
struct FaultTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let auth = [("Authorization", "Bearer admin-key")]

    @Test("fail-rate knob: 429 with Retry-After 30, 500, 503, 502 with the TTS text", arguments: [429, 500, 503, 502])
    func failRates(status: Int) async throws {
        var configuration = testConfiguration(clock: clock)
        configuration.faults.failRates = [status: 1.0]
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let reply = try await call(sim, .POST, "/audio/speech", headers: auth,
                                       json: #"{"model":"tts-kokoro","input":"hi","response_format":"wav"}"#)
            #expect(reply.status == status)
            if status == 429 {
                #expect(reply.header("Retry-After") == "30")
                #expect(reply.error == "The model is currently overloaded. Please try again later.")
            }
            if status == 502 { #expect(reply.error == "Speech synthesis failed due to a temporary upstream error. Please retry.") }
            #expect(await sim.state.usage().isEmpty)
            await sim.state.updateFaults { $0.failRates = [:] }
            #expect(try await call(sim, .POST, "/image/generate", headers: auth, json: smallImage).status == 200)
        }
    }

    @Test("latency knob delays answers")
    func latency() async throws {
        var configuration = testConfiguration(clock: clock)
        configuration.faults.latencyMilliseconds = 400
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let start = ContinuousClock.now
            #expect(try await call(sim, .GET, "/image/styles").status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(400))
        }
    }

    @Test("reset knob: status and headers arrive, then the connection closes before the body is complete")
    func reset() async throws {
        var configuration = testConfiguration(clock: clock)
        configuration.faults.resetRate = 1.0
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            var request = HTTPClientRequest(url: sim.baseURL + "/image/generate")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer admin-key")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(.init(string: #"{"model":"z-image-turbo","prompt":"x","width":64,"height":64,"format":"png"}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status == .ok)
            let declared = Int(response.headers.first(name: "content-length") ?? "")
            #expect(declared != nil)
            await #expect(throws: (any Error).self) {
                _ = try await response.body.collect(upTo: 10 * 1024 * 1024)
            }
        }
    }

    @Test("concurrency-limit knob: a limit of 1 refuses the second in-flight request")
    func concurrencyKnob() async throws {
        let alice = Wallet(51)
        let signIn = SignIn(clock: clock)
        var configuration = testConfiguration(clock: clock, funds: [alice.lower: 5])
        configuration.faults.latencyMilliseconds = 3_000
        configuration.concurrencyLimit = 1
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let first = try signIn.header(alice)
            let second = try signIn.header(alice)
            async let a = call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", first)], json: smallImage)
            for _ in 0..<300 where await sim.state.inFlight(wallet: alice.lower) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            let b = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", second)], json: smallImage)
            #expect(b.code == "X402_CONCURRENCY_LIMIT")
            #expect(try await a.status == 200)
        }
    }
}

@Suite("Scripted faults and in-flight peaks (requests from the agent's tests)")
struct ScriptedFaultTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(52)

    @Test("scripted statuses answer the next inference requests in order, after sign-in (nonce burnt), with Retry-After")
    func scripted() async throws {
        let signIn = SignIn(clock: clock)
        var configuration = testConfiguration(clock: clock, funds: [alice.lower: 5])
        configuration.faults.scriptedStatuses = [429, 429, 500]
        configuration.faults.retryAfterSeconds = 2
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            // Public routes do not consume the script.
            #expect(try await call(sim, .GET, "/models?type=image").status == 200)
            var statuses: [Int] = []
            var first429: Reply?
            var burnt = ""
            for _ in 0..<4 {
                let header = try signIn.header(alice)
                let reply = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", header)], json: smallImage)
                statuses.append(reply.status)
                if reply.status == 429, first429 == nil { first429 = reply; burnt = header }
            }
            #expect(statuses == [429, 429, 500, 200])
            #expect(first429?.header("Retry-After") == "2")
            let replay = try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", burnt)], json: smallImage)
            #expect(replay.code == "X402_SIGN_IN_NONCE_REUSED")
            #expect(await sim.state.faults.scriptedStatuses.isEmpty)
        }
    }

    @Test("peakInFlight reports the most concurrent wallet requests seen")
    func peak() async throws {
        let signIn = SignIn(clock: clock)
        var configuration = testConfiguration(clock: clock, funds: [alice.lower: 5])
        // Long enough that the three requests overlap even on a loaded machine.
        configuration.faults.latencyMilliseconds = 2_500
        try await withRunningSimulator(configuration: configuration) { sim async throws in
            let headers = try (0..<3).map { _ in try signIn.header(alice) }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for header in headers {
                    group.addTask { try await call(sim, .POST, "/image/generate", headers: [("SIGN-IN-WITH-X", header)], json: smallImage).status }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(await sim.state.peakInFlight(wallet: alice.address.checksummed) == 3)
            #expect(await sim.state.inFlight(wallet: alice.lower) == 0)
            await sim.state.clearRecordings()
            #expect(await sim.state.peakInFlight(wallet: alice.lower) == 0)
        }
    }
}

@Suite("Sliding hit windows (rate limits, error budget, per-minute counts)")
struct HitWindowTests {
    @Test("a window counts only the hits after the cutoff and names the oldest one left")
    func countsHitsAfterCutoff() {
        var window = HitWindow()
        for time in [100, 200, 300, 400] as [Int64] { window.add(time) }
        #expect(window.prune(keepingAfter: 99) == (4, 100))
        #expect(window.prune(keepingAfter: 200) == (2, 300))
        #expect(window.prune(keepingAfter: 400) == (0, nil))
        #expect(window.isEmpty)
    }

    @Test("a hit from a clock that stepped back is kept in order, so it expires when its own time says")
    func clockSteppingBack() {
        var window = HitWindow()
        window.add(1_000)
        window.add(3_000)
        window.add(2_000)
        #expect(window.prune(keepingAfter: 1_500) == (2, 2_000))
        #expect(window.prune(keepingAfter: 2_500) == (1, 3_000))
    }

    @Test("tens of thousands of hits sliding through the window are counted exactly across compactions")
    func exactAcrossCompaction() {
        var window = HitWindow()
        let span: Int64 = 1_000
        for time in 0..<Int64(30_000) {
            window.add(time)
            let (count, oldest) = window.prune(keepingAfter: time - span)
            #expect(count == Int(min(time + 1, span)), "at \(time)")
            #expect(oldest == max(0, time - span + 1), "at \(time)")
            if count != Int(min(time + 1, span)) { return }
        }
    }
}
