import Foundation
import X402Protocol

/// The agent's TOML configuration (default `~/.config/venice-agent/config.toml`). Command-line
/// flags win over it. Unknown keys are an error that names them, so a typo never silently
/// drops a limit. The text is read by `TOMLParser` (Config/), which refuses malformed input with
/// an error and a line number and never traps.
public struct ConfigFile: Sendable, Equatable {
    public struct Payments: Sendable, Equatable {
        public var topupCapUSD: Double?
        public var dailyCapUSD: Double?
        public var autoTopup: Bool?
        public var autoTopupUSD: Double?

        static let keys: Set<String> = ["topup_cap_usd", "daily_cap_usd", "auto_topup", "auto_topup_usd"]
    }

    public struct Policy: Sendable, Equatable {
        public var name: String?
        public var executable: String?
        public var unit: String?
        public var routes: [String]?
        public var maxRequestUSD: Double?
        public var dailyUSD: Double?
        /// `[default]` only: false takes the right to manage the agent away from the owner's programs.
        public var admin: Bool?
        public var models: [String]? = nil
        public var maxParallel: Int? = nil
        public var requestsPerMinute: Int? = nil
        public var monthlyUSD: Double? = nil
        public var softLimit: Double? = nil

        static let keys: Set<String> = ["name", "executable", "unit", "routes", "max_request_usd", "daily_usd", "admin", "models",
                                        "max_parallel", "requests_per_minute", "monthly_usd", "soft_limit"]
    }

    public var keystore: String?
    public var socket: String?
    /// The loopback TCP listener, e.g. "127.0.0.1:8439".
    public var listen: String?
    public var upstream: String?
    public var stateDir: String?
    public var lifetime: String?
    public var maxInFlight: Int?
    public var maxRequestBodyMB: Int?
    public var allowedUIDs: [Int]?
    public var payments: Payments?
    public var `default`: Policy?
    public var otherUIDs: Policy?
    public var binding: [Policy]?

    static let keys: Set<String> = [
        "keystore", "socket", "listen", "upstream", "state_dir", "lifetime", "max_in_flight", "max_request_body_mb", "allowed_uids",
        "payments", "default", "other_uids", "binding",
    ]

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func defaultPath(environment: [String: String]) -> String {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? "/tmp") + "/.config")
        return base + "/venice-agent/config.toml"
    }

    /// Reads at most 1 MiB of UTF-8 from `path` and parses it.
    public static func load(path: String) throws -> ConfigFile {
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: TOMLParser.maxInputBytes + 1) ?? Data()
        } catch {
            throw Failure(description: "cannot read config \(path): \(error.localizedDescription)")
        }
        guard data.count <= TOMLParser.maxInputBytes else {
            throw Failure(description: "\(path): larger than 1 MiB; a config file is a few lines of TOML")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            let at = invalidUTF8Position(data)
            throw Failure(description: "\(path):\(at): not valid UTF-8; save the file as UTF-8 text")
        }
        return try parse(text, path: path)
    }

    /// Parses a config text; `path` prefixes every message ("config.toml:3:7: …").
    public static func parse(_ text: String, path: String = "config") throws -> ConfigFile {
        let document: TOMLTable
        do { document = try TOMLParser.parse(text) } catch {
            throw Failure(description: "\(path):\(error.position): \(error.message)")
        }
        var reader = SettingsReader(file: path)
        let file = try reader.configFile(document)
        let unknown = reader.unknown.sorted { ($0.position.line, $0.position.column) < ($1.position.line, $1.position.column) }
        if let first = unknown.first {
            let names = unknown.count == 1 ? first.name : unknown.map { "\($0.name) (line \($0.position.line))" }.joined(separator: ", ")
            throw Failure(description: "\(path):\(first.position): unknown setting(s) \(names); see the configuration reference in the README")
        }
        return file
    }

    /// Line and column of the first byte that is not UTF-8.
    static func invalidUTF8Position(_ data: Data) -> TOMLPosition {
        var iterator = data.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var position = TOMLPosition(line: 1, column: 1)
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) {
            if scalar.count == 1, scalar.first == 0x0A {
                position = TOMLPosition(line: position.line + 1, column: 1)
            } else {
                position.column += 1
            }
        }
        return position
    }

    /// Applies the file to `configuration` (flags are applied afterwards and win).
    public func apply(to configuration: inout AgentConfiguration) throws {
        if let upstream { configuration.upstream = upstream }
        if let socket { configuration.socketPath = Self.expand(socket) }
        if let listen {
            do { configuration.listen = try LoopbackAddress(parsing: listen) } catch { throw Failure(description: "listen: \(error.description)") }
        }
        if let stateDir { configuration.stateDirectory = Self.expand(stateDir) }
        if let lifetime {
            guard let duration = DurationParser.parse(lifetime) else { throw Failure(description: "lifetime \(lifetime) is not a duration like 8h or 30m") }
            configuration.lifetime = duration
        }
        if let maxInFlight {
            guard (1...64).contains(maxInFlight) else { throw Failure(description: "max_in_flight must be between 1 and 64") }
            configuration.maxInFlight = maxInFlight
        }
        if let maxRequestBodyMB {
            guard (1...4096).contains(maxRequestBodyMB) else { throw Failure(description: "max_request_body_mb must be between 1 and 4096") }
            configuration.maxRequestBodyBytes = maxRequestBodyMB << 20
            configuration.wholeBodyMemoryBytes = 4 * 2 * (maxRequestBodyMB << 20)
        }
        if let allowedUIDs {
            guard allowedUIDs.allSatisfy({ $0 >= 0 && $0 <= Int(UInt32.max) }) else { throw Failure(description: "allowed_uids must be user ids") }
            configuration.allowedUIDs = Set(allowedUIDs.map { UInt32($0) })
        }
        if let payments {
            if let cap = payments.topupCapUSD { configuration.topUpCapMicro = try Self.micro(cap, "payments.topup_cap_usd") }
            if let cap = payments.dailyCapUSD { configuration.dailyTopUpCapMicro = try Self.micro(cap, "payments.daily_cap_usd") }
            if let auto = payments.autoTopup { configuration.autoTopUp = auto }
            if let usd = payments.autoTopupUSD { configuration.autoTopUpMicro = try Self.micro(usd, "payments.auto_topup_usd") }
        }
        if let policy = self.default {
            guard policy.name == nil, policy.executable == nil, policy.unit == nil else {
                throw Failure(description: "[default] takes routes, models, max_request_usd, daily_usd, monthly_usd, max_parallel, requests_per_minute, soft_limit and admin; not name, executable or unit")
            }
            configuration.defaultPolicy = try Self.policy(policy, name: "default", source: .defaultClient)
            if let admin = policy.admin { configuration.defaultPolicyAdministers = admin }
        }
        if let policy = otherUIDs {
            guard policy.name == nil, policy.executable == nil, policy.unit == nil, policy.admin == nil else {
                throw Failure(description: "[other_uids] takes routes, models, max_request_usd, daily_usd, monthly_usd, max_parallel, requests_per_minute and soft_limit only (other uids never administer)")
            }
            configuration.otherUIDsPolicy = try Self.policy(policy, name: "other_uids", source: .otherUID(0))
        }
        for (index, binding) in (binding ?? []).enumerated() {
            guard binding.executable != nil || binding.unit != nil else {
                throw Failure(description: "binding #\(index + 1) needs an executable path or a systemd unit")
            }
            guard binding.admin == nil else {
                throw Failure(description: "binding #\(index + 1): admin is a [default] setting only; a binding can only narrow the default policy")
            }
            let name = binding.name ?? binding.unit ?? binding.executable.map { ($0 as NSString).lastPathComponent } ?? "binding\(index + 1)"
            let policy = try Self.policy(binding, name: name, source: .binding(binding.unit ?? binding.executable ?? name))
            configuration.bindings.append(ClientBinding(executable: binding.executable, unit: binding.unit, policy: policy))
        }
    }

    static func policy(_ p: Policy, name: String, source: ClientPolicy.Source) throws -> ClientPolicy {
        if let routes = p.routes {
            let unknown = Set(routes).subtracting(ClientPolicy.groupNames)
            guard unknown.isEmpty else {
                throw Failure(description: "\(name): unknown route group(s) \(unknown.sorted().joined(separator: ", ")); use \(ClientPolicy.groupNames.sorted().joined(separator: ", "))")
            }
        }
        var models: ModelAllowList?
        if let entries = p.models {
            do { models = try ModelAllowList(parsing: entries) } catch { throw Failure(description: "\(name).\(error.description)") }
        }
        func count(_ value: Int?, _ key: String, upTo limit: Int) throws -> Int? {
            guard let value else { return nil }
            guard (1...limit).contains(value) else { throw Failure(description: "\(name).\(key) must be from 1 to \(limit)") }
            return value
        }
        if let soft = p.softLimit, !(soft > 0 && soft < 1) {
            throw Failure(description: "\(name).soft_limit must be a fraction between 0 and 1, e.g. 0.8")
        }
        return ClientPolicy(name: name, routes: p.routes.map(Set.init), maxRequestMicro: try p.maxRequestUSD.map { try micro($0, "\(name).max_request_usd") },
                            dailyMicro: try p.dailyUSD.map { try micro($0, "\(name).daily_usd") }, source: source, models: models,
                            maxParallel: try count(p.maxParallel, "max_parallel", upTo: 1000),
                            requestsPerMinute: try count(p.requestsPerMinute, "requests_per_minute", upTo: 100_000),
                            monthlyMicro: try p.monthlyUSD.map { try micro($0, "\(name).monthly_usd") }, softLimit: p.softLimit)
    }

    /// A USD setting in micro-units; anything outside 0…1,000,000 is refused, naming the setting.
    public static func micro(_ usd: Double, _ name: String) throws -> Int64 {
        guard usd >= 0, usd <= 1_000_000, let micro = Money.micro(usd: usd) else {
            throw Failure(description: "\(name) must be a USD amount between 0 and 1000000")
        }
        return micro
    }

    public static func expand(_ path: String) -> String {
        path.hasPrefix("~/") ? (ProcessInfo.processInfo.environment["HOME"] ?? "") + path.dropFirst(1) : path
    }
}
