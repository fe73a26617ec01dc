@testable import AgentCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing

@Suite("Config file and executable bindings")
struct ConfigAndBindingTests {
    @Test("a TOML config sets caps, uids, limits, the default policy and bindings")
    func applies() throws {
        let file = try ConfigFile.parse("""
            keystore = "~/keys/wallet.json"
            lifetime = "8h"
            max_in_flight = 3
            allowed_uids = [1001]
            [payments]
            topup_cap_usd = 20
            daily_cap_usd = 40
            auto_topup = true
            [default]
            routes = ["image", "wallet"]
            daily_usd = 5
            [[binding]]
            unit = "imagegen.service"
            routes = ["image"]
            daily_usd = 2
            """)
        var config = AgentConfiguration(keystorePath: "k", socketPath: "/tmp/s")
        try file.apply(to: &config)
        #expect(config.lifetime == .seconds(8 * 3600))
        #expect(config.maxInFlight == 3)
        #expect(config.allowedUIDs == [1001])
        #expect(config.topUpCapMicro == 20_000_000 && config.dailyTopUpCapMicro == 40_000_000 && config.autoTopUp)
        #expect(config.defaultPolicy.routes == ["image", "wallet"] && config.defaultPolicy.dailyMicro == 5_000_000)
        #expect(config.bindings.count == 1)
        #expect(config.bindings.first?.policy.name == "imagegen.service")
        #expect(config.bindings.first?.policy.dailyMicro == 2_000_000)
    }

    @Test("unknown settings, bad route groups and bindings without a target are errors that name them", arguments: [
        ("daily_cap = 5", "daily_cap"),
        ("[payments]\ntopup_cap = 5", "topup_cap"),
        ("[default]\nroutes = [\"imgae\"]", "imgae"),
        ("[[binding]]\nroutes = [\"image\"]", "binding #1"),
        ("lifetime = \"forever\"", "lifetime"),
        ("max_in_flight = \"five\"", "max_in_flight"),
    ])
    func rejects(text: String, named: String) {
        do {
            var config = AgentConfiguration(keystorePath: "k", socketPath: "/tmp/s")
            try ConfigFile.parse(text).apply(to: &config)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(String(describing: error).contains(named), "\(error)")
        }
    }

    @Test("a policy bound to the caller's executable applies without any token")
    func executableBinding() async throws {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let policy = ClientPolicy(name: "bound-tool", routes: ["audio"], maxRequestMicro: nil, dailyMicro: nil, source: .binding(exe))
        try await withAgent(agent: { $0.bindings = [ClientBinding(executable: exe, unit: nil, policy: policy)] }) { agent in
            let answer = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(answer.status == 403)
            #expect(answer.text.contains("bound-tool"))
            #expect(try await agent.request("POST", "/agent/v1/topup", json: #"{"usd":10}"#).status == 403)
        }
    }

    @Test("durations parse up to ten years; longer ones, or ones that would overflow, are refused")
    func durations() {
        #expect(DurationParser.parse("8h") == .seconds(28_800))
        #expect(DurationParser.parse("1h30m") == .seconds(5_400))
        #expect(DurationParser.parse("3650d") == .seconds(315_360_000))
        #expect(DurationParser.parse("3651d") == nil)
        #expect(DurationParser.parse(String(repeating: "999999999d", count: 200_000)) == nil)
        #expect(DurationParser.parse("٣h") == nil)
        #expect(DurationParser.parse("0s") == nil)
    }

    @Test("the systemd unit is read from /proc/PID/cgroup")
    func unitFromCgroup() {
        #expect(ClientIdentity.unit(fromCgroup: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/imagegen.service\n") == "imagegen.service")
        #expect(ClientIdentity.unit(fromCgroup: "0::/user.slice/user-1000.slice/session-2.scope\n") == "session-2.scope")
        #expect(ClientIdentity.unit(fromCgroup: "0::/\n") == nil)
    }

    @Test("the process start time is field 22 of /proc/PID/stat, even when the command name holds spaces and parentheses")
    func startTimeFromStat() {
        let fields = (3...52).map { $0 == 22 ? "987654" : String($0) }.joined(separator: " ")
        #expect(ClientIdentity.startTime(fromStat: "1234 (my (odd) name) " + fields + "\n") == 987654)
        #expect(ClientIdentity.startTime(fromStat: "1234 (short) S 1 2") == nil)
        #expect(ClientIdentity.startTime(fromStat: "garbage") == nil)
        let mine = ClientIdentity.of(PeerCredentials(uid: UInt32(getuid()), gid: 0, pid: getpid()))
        #expect(mine.startTime != nil && mine.executable != nil)
    }
}
