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
        ("listen = \"0.0.0.0:8439\"", "not loopback"),
        ("[default]\nmodels = []", "models"),
        ("[default]\nmodels = [\"a b\"]", "models"),
        ("[default]\nsoft_limit = 1.5", "soft_limit"),
        ("[default]\nmax_parallel = 0", "max_parallel"),
        ("[[binding]]\nunit = \"u\"\nrequests_per_minute = 1000000", "requests_per_minute"),
        ("[default]\nmonthly_usd = -1", "monthly_usd"),
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

    /// README.md, "Config file (TOML)", verbatim.
    static let readmeExample = """
        # ~/.config/venice-agent/config.toml
        keystore = "~/.venice-agent/wallet.json"
        upstream = "https://api.venice.ai/api/v1"
        socket = "/run/user/1000/venice-agent/agent.sock"
        listen = "127.0.0.1:8439"        # loopback TCP for OpenAI-compatible apps (client tokens only)
        state_dir = "~/.local/state/venice-agent"
        lifetime = "8h"
        max_in_flight = 5
        max_request_body_mb = 64        # larger request bodies get 413
        allowed_uids = [1001]           # other local users admitted besides the owner (the socket is then 0666 in a
                                        # 0711 folder: put it where they can reach it; SO_PEERCRED decides who is served)

        [payments]
        topup_cap_usd = 10              # largest single top-up
        daily_cap_usd = 50              # most per UTC day
        auto_topup = false              # top up once on an insufficient-balance 402, then retry once
        auto_topup_usd = 10

        [default]                       # the owner's programs that present no client token
        routes = ["image", "audio", "text", "video", "billing", "wallet"]
        max_request_usd = 1.00
        daily_usd = 20
        admin = true                    # false: no program may manage the agent over the socket

        [other_uids]                    # each allowed uid's programs (never admin), accounted per uid as uid-N;
        routes = ["image"]              # without this section they get [default]'s routes and limits
        daily_usd = 1

        [[binding]]                     # a policy for the programs of a systemd unit or an executable, no token needed
        unit = "imagegen.service"       # or: executable = "/usr/local/bin/imagegen"
        routes = ["image"]
        daily_usd = 2
        # every policy section also takes:
        models = ["z-image-turbo", "qwen-image-*"]   # exact ids, or prefix-* (default: any model)
        monthly_usd = 30                # budget per UTC calendar month
        max_parallel = 2                # requests answered at once (more get 429 AGENT_RATE_LIMITED)
        requests_per_minute = 60        # per rolling minute (429 AGENT_RATE_LIMITED with Retry-After)
        soft_limit = 0.8                # past 80% of the daily or monthly budget: X-Agent-Budget-Warning
        """

    @Test("the README's full config example reads to the same settings as before")
    func readmeExample() throws {
        let file = try ConfigFile.parse(Self.readmeExample, path: "config.toml")
        let expected = ConfigFile(
            keystore: "~/.venice-agent/wallet.json", socket: "/run/user/1000/venice-agent/agent.sock", listen: "127.0.0.1:8439",
            upstream: "https://api.venice.ai/api/v1", stateDir: "~/.local/state/venice-agent", lifetime: "8h",
            maxInFlight: 5, maxRequestBodyMB: 64, allowedUIDs: [1001],
            payments: .init(topupCapUSD: 10, dailyCapUSD: 50, autoTopup: false, autoTopupUSD: 10),
            default: .init(routes: ["image", "audio", "text", "video", "billing", "wallet"], maxRequestUSD: 1, dailyUSD: 20, admin: true),
            otherUIDs: .init(routes: ["image"], dailyUSD: 1),
            binding: [.init(unit: "imagegen.service", routes: ["image"], dailyUSD: 2, models: ["z-image-turbo", "qwen-image-*"],
                            maxParallel: 2, requestsPerMinute: 60, monthlyUSD: 30, softLimit: 0.8)])
        #expect(file == expected)
        var config = AgentConfiguration(keystorePath: "k", socketPath: "/tmp/s")
        try file.apply(to: &config)
        #expect(config.maxInFlight == 5 && config.maxRequestBodyBytes == 64 << 20 && config.allowedUIDs == [1001])
        #expect(config.topUpCapMicro == 10_000_000 && config.dailyTopUpCapMicro == 50_000_000 && !config.autoTopUp)
        #expect(config.defaultPolicy.maxRequestMicro == 1_000_000 && config.defaultPolicy.dailyMicro == 20_000_000 && config.defaultPolicyAdministers)
        #expect(config.otherUIDsPolicy?.routes == ["image"] && config.otherUIDsPolicy?.dailyMicro == 1_000_000)
        #expect(config.bindings.map(\.unit) == ["imagegen.service"])
        #expect(config.listen == LoopbackAddress(host: "127.0.0.1", port: 8439, family: .ipv4))
        let binding = try #require(config.bindings.first?.policy)
        #expect(binding.models?.entries == ["z-image-turbo", "qwen-image-*"] && binding.maxParallel == 2 && binding.requestsPerMinute == 60)
        #expect(binding.monthlyMicro == 30_000_000 && binding.softLimit == 0.8)
    }

    @Test("inputs that made TOMLKit's toml++ abort the process are errors with a line and column", arguments: [
        ("[\n", "config.toml:1:2: expected a table name after '[', found the end of the line"),
        ("t=[}", "config.toml:1:4: expected a value or ']' in the array, found '}'"),
        ("r=1979-05-27t:", "config.toml:1:3: invalid date-time 1979-05-27t:: expected an hour 00 to 23"),
        ("r=1979-05-27 5\n", "config.toml:1:14: expected the end of the line after the value of r, found '5'"),
        ("[[ \n", "config.toml:1:4: expected a name after '[[' (an array-of-tables header), found the end of the line"),
        ("a = 1\n  [ # c\n", "config.toml:2:5: expected a table name after '[', found '#'"),
        ("a=[1,}", "config.toml:1:6: expected a value or ']' in the array, found '}'"),
    ])
    func formerCrashes(text: String, message: String) {
        #expect { try ConfigFile.parse(text, path: "config.toml") } throws: { String(describing: $0) == message }
    }

    @Test("a parse error is a TOMLError with the line and column of the problem and a message naming it")
    func typedParseError() {
        #expect(throws: TOMLError(position: TOMLPosition(line: 3, column: 6), message: "expected '=' after the key ring, found '5'")) {
            try TOMLParser.parse("# rings\n[box]\nring 5\n")
        }
    }

    @Test("TOML edge cases read to the expected value or error", arguments: TOMLCase.all)
    func tomlEdgeCases(_ test: TOMLCase) {
        switch test.expected {
        case .value(let expected):
            do {
                #expect(try TOMLParser.parse(test.text) == expected)
            } catch {
                Issue.record("refused: \(error)")
            }
        case .error(let line, let containing):
            do {
                let value = try TOMLParser.parse(test.text)
                Issue.record("accepted: \(value)")
            } catch {
                #expect(error.line == line && error.message.contains(containing), "\(error)")
            }
        }
    }

    @Test("nan and signed infinities are floats; the config refuses them as amounts")
    func nonFiniteFloats() throws {
        let table = try TOMLParser.parse("a = nan\nb = -nan\nc = +inf\nd = -inf")
        guard case .float(let a)? = table["a"], case .float(let b)? = table["b"] else {
            Issue.record("\(table)")
            return
        }
        #expect(a.isNaN && b.isNaN)
        #expect(table["c"] == .float(.infinity) && table["d"] == .float(-.infinity))
        for text in ["[payments]\ntopup_cap_usd = inf", "[payments]\ndaily_cap_usd = nan", "[default]\ndaily_usd = -inf"] {
            var config = AgentConfiguration(keystorePath: "k", socketPath: "/tmp/s")
            #expect(throws: ConfigFile.Failure.self, "\(text)") { try ConfigFile.parse(text).apply(to: &config) }
        }
    }

    @Test("nesting is capped at 64 levels, whether by arrays, inline tables, headers or dotted keys")
    func depthLimit() throws {
        func arrays(_ n: Int) -> String { "a = " + String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        func inline(_ n: Int) -> String { "a = " + String(repeating: "{b = ", count: n) + "1" + String(repeating: "}", count: n) }
        func header(_ n: Int) -> String { "[" + Array(repeating: "t", count: n).joined(separator: ".") + "]" }
        func dotted(_ n: Int) -> String { Array(repeating: "t", count: n).joined(separator: ".") + " = 1" }
        for make in [arrays, inline, header] {
            #expect(throws: Never.self) { try TOMLParser.parse(make(64)) }
            #expect { try TOMLParser.parse(make(65)) } throws: { ($0 as? TOMLError)?.message.contains("more than 64 levels") == true }
        }
        #expect(throws: Never.self) { try TOMLParser.parse(dotted(64)) }  // 63 tables and a value
        #expect { try TOMLParser.parse(dotted(66)) } throws: { ($0 as? TOMLError)?.message.contains("more than 64 levels") == true }
        #expect { try TOMLParser.parse(arrays(100_000)) } throws: { ($0 as? TOMLError)?.line == 1 }
    }

    @Test("texts over 1 MiB and files that are not UTF-8 are refused before parsing")
    func sizeAndEncoding() throws {
        let big = String(repeating: "# padding\n", count: (1 << 20) / 10 + 1)
        #expect { try TOMLParser.parse(big) } throws: { ($0 as? TOMLError)?.message.contains("at most 1 MiB") == true }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let large = dir.appendingPathComponent("large.toml")
        try Data(big.utf8).write(to: large)
        #expect { try ConfigFile.load(path: large.path) } throws: { String(describing: $0).contains("larger than 1 MiB") }
        let latin1 = dir.appendingPathComponent("latin1.toml")
        try Data(Array("lifetime = \"8h\"\nname = \"caf".utf8) + [0xE9, 0x22, 0x0A]).write(to: latin1)
        #expect { try ConfigFile.load(path: latin1.path) } throws: {
            String(describing: $0) == "\(latin1.path):2:12: not valid UTF-8; save the file as UTF-8 text"
        }
        let good = dir.appendingPathComponent("good.toml")
        try Data(Self.readmeExample.utf8).write(to: good)
        #expect(try ConfigFile.load(path: good.path).binding?.count == 1)
    }

    @Test("every prefix and 1,000 seeded mutations of the README example parse or fail cleanly, the same way twice")
    func mutationsNeverTrap() {
        let source = Array(Self.readmeExample.utf8)
        let alphabet = Array("[]{}\"'=,.#\n\r\\ \t-+_:0123456789eExobtfinaTZ\u{0}é".utf8)
        var state: UInt64 = 0x5EED_CAFE
        func next(_ bound: Int) -> Int {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
        var texts = (0...source.count).map { String(decoding: source[..<$0], as: UTF8.self) }
        for _ in 0..<1_000 {
            var bytes = source
            for _ in 0..<(1 + next(4)) {
                let at = next(bytes.count + 1)
                switch next(3) {
                case 0 where at < bytes.count: bytes[at] = alphabet[next(alphabet.count)]
                case 1 where at < bytes.count: bytes.remove(at: at)
                default: bytes.insert(alphabet[next(alphabet.count)], at: at)
                }
            }
            texts.append(String(decoding: bytes, as: UTF8.self))
        }
        for text in texts {
            let lines = text.utf8.count(where: { $0 == 0x0A }) + 1
            let first = Result { () throws(TOMLError) in try TOMLParser.parse(text) }
            let second = Result { () throws(TOMLError) in try TOMLParser.parse(text) }
            // (Issue.record only on a finding: thousands of #expect calls would dominate the run time.)
            switch (first, second) {
            case (.success(let a), .success(let b)) where "\(a)" == "\(b)":
                break
            case (.failure(let a), .failure(let b)) where a == b && (1...lines).contains(a.line) && a.column >= 1:
                break
            default:
                Issue.record("\(first) then \(second) for \(text.debugDescription)")
            }
            _ = try? ConfigFile.parse(text)
        }
    }

    @Test("a setting of the wrong type is an error naming its key path and line", arguments: [
        ("max_in_flight = 2.5", "config:1:1: max_in_flight must be an integer, not a float"),
        ("\n[payments]\ndaily_cap_usd = \"ten\"", "config:3:1: payments.daily_cap_usd must be a number (like 10 or 2.50), not a string"),
        ("[default]\nroutes = [\"image\", 2]", "config:2:1: default.routes must be an array of strings, but item 2 is an integer"),
        ("allowed_uids = 1001", "config:1:1: allowed_uids must be an array of integers, not an integer"),
        ("payments = 5", "config:1:1: payments must be a table ([payments]), not an integer"),
        ("[binding]\nunit = \"x\"", "config:1:1: binding must be an array of tables ([[binding]] sections), not a table"),
        ("[[binding]]\nunit = \"a\"\n[[binding]]\nadmin = \"yes\"", "config:4:1: binding.admin must be true or false, not a string"),
        ("lifetime = 1979-05-27", "config:1:1: lifetime must be a string, not a date-time"),
    ])
    func typeMismatches(text: String, message: String) {
        #expect { try ConfigFile.parse(text) } throws: { String(describing: $0) == message }
    }

    @Test("unknown settings are reported at every level with their key path and line")
    func unknownSettingsEverywhere() {
        let text = "lifetime = \"8h\"\n[payments]\ntopup_cap = 5\n[[binding]]\nunit = \"a\"\n[[binding]]\nunit = \"b\"\nroute = [\"image\"]\n[extra.table]\n"
        #expect { try ConfigFile.parse(text, path: "c.toml") } throws: {
            String(describing: $0) == "c.toml:3:1: unknown setting(s) payments.topup_cap (line 3), binding.route (line 8), extra (line 9); "
                + "see the configuration reference in the README"
        }
    }

    @Test("amounts may be integers or floats, and inline tables work like sections")
    func amountsAndInlineTables() throws {
        let file = try ConfigFile.parse("payments = { topup_cap_usd = 10, daily_cap_usd = 12.5 }\nbinding = [{ unit = \"a.service\", daily_usd = 0.25 }]")
        #expect(file.payments?.topupCapUSD == 10 && file.payments?.dailyCapUSD == 12.5)
        #expect(file.binding == [.init(unit: "a.service", dailyUSD: 0.25)])
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

/// One TOML text and what it should read to.
struct TOMLCase: Sendable, CustomTestStringConvertible {
    enum Expected: Sendable {
        case value(TOMLTable)
        /// The line of the error and a part of its message.
        case error(line: Int, containing: String)
    }

    let name: String
    let text: String
    let expected: Expected
    var testDescription: String { name }

    init(_ name: String, _ text: String, _ expected: TOMLTable) {
        self.name = name
        self.text = text
        self.expected = .value(expected)
    }

    init(_ name: String, _ text: String, errorAtLine line: Int, _ containing: String) {
        self.name = name
        self.text = text
        self.expected = .error(line: line, containing: containing)
    }

    static let all: [TOMLCase] = [
        // Strings
        TOMLCase("basic-string escapes", #"s = "tab\there \"q\" back\\slash \u00E9 \U0001F600 \b\f\r\n""#,
                 ["s": "tab\there \"q\" back\\slash é 😀 \u{08}\u{0C}\r\n"]),
        TOMLCase("literal strings keep backslashes", #"p = 'C:\Users\nodejs\templates'"#, ["p": #"C:\Users\nodejs\templates"#]),
        TOMLCase("multi-line basic: first newline trimmed, line-ending backslash joins lines",
                 "s = \"\"\"\nRoses\nare \\\n     \n   red\"\"\"", ["s": "Roses\nare red"]),
        TOMLCase("multi-line literal keeps everything", "s = '''\nfirst\n  'quoted' \\n'''", ["s": "first\n  'quoted' \\n"]),
        TOMLCase("up to two quotes before a closing delimiter", "a = \"\"\"x\"\"\"\"\"\nb = '''y''''", ["a": "x\"\"", "b": "y'"]),
        TOMLCase("CRLF line ends, also inside multi-line strings", "a = 1\r\ns = \"\"\"\r\nx\r\ny\"\"\"\r\n", ["a": 1, "s": "x\ny"]),
        TOMLCase("unterminated basic string", "s = \"abc\nt = 1", errorAtLine: 1, "unterminated string"),
        TOMLCase("unterminated literal string", "\ns = 'abc", errorAtLine: 2, "unterminated string"),
        TOMLCase("unterminated multi-line string", "a = 1\ns = \"\"\"abc\n\ndef", errorAtLine: 2, "unterminated multi-line string"),
        TOMLCase("unknown escape", #"s = "\q""#, errorAtLine: 1, #"unknown escape \q"#),
        TOMLCase("surrogate escape", #"s = "\uD800""#, errorAtLine: 1, "not a Unicode scalar value"),
        TOMLCase("short \\u escape", #"s = "\u12""#, errorAtLine: 1, "exactly 4 hexadecimal digits"),
        TOMLCase("raw control character in a string", "s = \"a\u{07}b\"", errorAtLine: 1, "control character U+0007"),
        TOMLCase("six quotes close nothing", "s = \"\"\"a\"\"\"\"\"\"", errorAtLine: 1, "at most two in a row"),
        // Numbers, booleans, date-times
        TOMLCase("integers", "a = +99\nb = -17\nc = 1_000\nd = 0xDEAD_beef\ne = 0o755\nf = 0b1101\ng = 0\nh = -9223372036854775808",
                 ["a": 99, "b": -17, "c": 1000, "d": 0xDEAD_BEEF, "e": 0o755, "f": 0b1101, "g": 0, "h": .integer(.min)]),
        TOMLCase("floats", "a = 3.14\nb = -0.01\nc = 5e+22\nd = 6.626e-34\ne = 1_000.5\nf = 1E6\ng = -0.0",
                 ["a": 3.14, "b": -0.01, "c": 5e+22, "d": 6.626e-34, "e": 1000.5, "f": 1e6, "g": -0.0]),
        TOMLCase("booleans", "t = true\nf = false", ["t": true, "f": false]),
        TOMLCase("date-times are checked and kept as written",
                 "a = 1979-05-27T07:32:00Z\nb = 1979-05-27 00:32:00.999999-07:00\nc = 1979-05-27\nd = 07:32:00\ne = 2000-02-29t23:59:60",
                 ["a": .dateTime("1979-05-27T07:32:00Z"), "b": .dateTime("1979-05-27 00:32:00.999999-07:00"),
                  "c": .dateTime("1979-05-27"), "d": .dateTime("07:32:00"), "e": .dateTime("2000-02-29t23:59:60")]),
        TOMLCase("no 30 February", "d = 1979-02-30", errorAtLine: 1, "day 30 is not in month 2"),
        TOMLCase("times need seconds in TOML 1.0", "t = 07:32", errorAtLine: 1, "requires seconds"),
        TOMLCase("leading zeros", "a = 012", errorAtLine: 1, "leading zeros"),
        TOMLCase("misplaced underscore", "a = 1__0", errorAtLine: 1, "'_' only between digits"),
        TOMLCase("integer overflow", "a = 9223372036854775808", errorAtLine: 1, "64-bit integer"),
        TOMLCase("float overflow", "a = 1e999", errorAtLine: 1, "too large"),
        TOMLCase("signed hex", "a = -0x10", errorAtLine: 1, "take no sign"),
        TOMLCase("a float needs digits on both sides of the point", "a = 1.\nb = .5", errorAtLine: 1, "digits after the '.'"),
        TOMLCase("an unquoted string", "name = bob", errorAtLine: 1, "strings must be quoted"),
        TOMLCase("capitalised boolean", "t = True", errorAtLine: 1, "lower case"),
        // Keys and tables
        TOMLCase("bare, quoted and dotted keys",
                 "a.b.c = 1\na.b.d = 2\n\"x.y\".z = 3\nsite.\"google.com\" = true\n'q \"k\"' = 4\n1234 = 5\n\"\" = 6\n 3.14 = 7",
                 ["a": ["b": ["c": 1, "d": 2]], "x.y": ["z": 3], "site": ["google.com": true], "q \"k\"": 4, "1234": 5, "": 6,
                  "3": ["14": 7]]),
        TOMLCase("a header may define a table made on the way to a deeper one", "[a.b]\nx = 1\n[a]\ny = 2", ["a": ["b": ["x": 1], "y": 2]]),
        TOMLCase("sub-tables of a table made by dotted keys", "[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true",
                 ["fruit": ["apple": ["color": "red", "texture": ["smooth": true]]]]),
        TOMLCase("arrays of tables, with sub-tables and nested arrays",
                 "[[fruit]]\nname = \"apple\"\n[fruit.physical]\ncolor = \"red\"\n[[fruit.variety]]\nname = \"red delicious\"\n"
                    + "[[fruit.variety]]\nname = \"granny smith\"\n[[fruit]]\nname = \"banana\"",
                 ["fruit": [["name": "apple", "physical": ["color": "red"], "variety": [["name": "red delicious"], ["name": "granny smith"]]],
                            ["name": "banana"]]]),
        TOMLCase("inline tables", "point = { x = 1, y = 2 }\nname = { first = \"Tom\", last.name = \"P\" }\nempty = {}",
                 ["point": ["x": 1, "y": 2], "name": ["first": "Tom", "last": ["name": "P"]], "empty": [:]]),
        TOMLCase("arrays: nested, mixed, multi-line, trailing comma, comments",
                 "a = [\n  1, # one\n  2,\n  # a comment line\n  [3, \"four\", [], {x = 5}], # nested\n]\nb = []\nc = [ \"x\" , ]",
                 ["a": [1, 2, [3, "four", [], ["x": 5]]], "b": [], "c": ["x"]]),
        TOMLCase("comments everywhere", "# top\n\n  # indented\n[t] # after a header\nk = \"v#not a comment\" # after a value\n#end",
                 ["t": ["k": "v#not a comment"]]),
        TOMLCase("a byte order mark is skipped", "\u{FEFF}a = 1", ["a": 1]),
        TOMLCase("duplicate key", "a = 1\nb = 2\na = 3", errorAtLine: 3, "the key a is defined twice (first at line 1)"),
        TOMLCase("duplicate key through dotted keys", "a.b = 1\na.b = 2", errorAtLine: 2, "defined twice"),
        TOMLCase("duplicate table", "[a]\nx = 1\n[a]", errorAtLine: 3, "the table [a] is defined twice (first at line 1)"),
        TOMLCase("a header for a table made by dotted keys", "a.b = 1\n[a]", errorAtLine: 2, "already defined by dotted keys"),
        TOMLCase("dotted keys into a table defined by a header", "[a.b.c]\nz = 9\n[a]\nb.c.t = 1", errorAtLine: 4, "created by a table header at line 1; a dotted key cannot add to it"),
        TOMLCase("an inline table cannot be extended", "a = { b = 1 }\na.c = 2", errorAtLine: 2, "an inline table, which cannot be extended"),
        TOMLCase("an inline table cannot be reopened by a header", "a = { b = 1 }\n[a.c]", errorAtLine: 2, "not a table"),
        TOMLCase("duplicate key in an inline table", "a = { b = 1, b = 2 }", errorAtLine: 1, "defined twice"),
        TOMLCase("[[a]] after a = []", "a = []\n[[a]]", errorAtLine: 2, "conflicts with the key a"),
        TOMLCase("[a] after [[a]]", "[[a]]\n[a]", errorAtLine: 2, "use [[a]] to add an element"),
        TOMLCase("[[a]] after [a]", "[a]\n[[a]]", errorAtLine: 2, "conflicts with the table a"),
        TOMLCase("newline in an inline table (TOML 1.1)", "a = { b = 1,\n c = 2 }", errorAtLine: 1, "must stay on one line"),
        TOMLCase("trailing comma in an inline table (TOML 1.1)", "a = { b = 1, }", errorAtLine: 1, "trailing comma"),
        TOMLCase("missing '='", "ring 5", errorAtLine: 1, "expected '=' after the key ring, found '5'"),
        TOMLCase("missing value", "a =", errorAtLine: 1, "expected the value of a, found the end of the file"),
        TOMLCase("two pairs on a line", "a = 1 b = 2", errorAtLine: 1, "expected the end of the line after the value of a, found 'b'"),
        TOMLCase("text after a header", "[a] b = 1", errorAtLine: 1, "after the table header [a]"),
        TOMLCase("unterminated array", "a = [1,\n2", errorAtLine: 2, "unterminated array"),
        TOMLCase("missing comma in an array", "a = [1 2]", errorAtLine: 1, "expected ',' or ']'"),
        TOMLCase("empty array element", "a = [1,,2]", errorAtLine: 1, "found ','"),
        TOMLCase("bare carriage return", "a = 1\rb = 2", errorAtLine: 1, "carriage return"),
        TOMLCase("a multi-line string as a key", "\"\"\"k\"\"\" = 1", errorAtLine: 1, "cannot be a key"),
        TOMLCase("an empty header", "[]", errorAtLine: 1, "expected a table name"),
        TOMLCase("an unclosed array-of-tables header", "[[a]\n", errorAtLine: 1, "expected ']]' to close [[a]]"),
        TOMLCase("a control character outside strings", "a = 1\n\u{0}", errorAtLine: 2, "U+0000"),
    ]
}
