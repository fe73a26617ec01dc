import Foundation
import TOMLKit
import X402Protocol

/// The agent's TOML configuration (default `~/.config/venice-agent/config.toml`). Command-line
/// flags win over it. Unknown keys are an error that names them, so a typo never silently
/// drops a limit.
public struct ConfigFile: Sendable, Equatable, Decodable {
    public struct Payments: Sendable, Equatable, Decodable {
        public var topupCapUSD: Double?
        public var dailyCapUSD: Double?
        public var autoTopup: Bool?
        public var autoTopupUSD: Double?

        enum CodingKeys: String, CodingKey {
            case topupCapUSD = "topup_cap_usd", dailyCapUSD = "daily_cap_usd", autoTopup = "auto_topup", autoTopupUSD = "auto_topup_usd"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            topupCapUSD = try c.decodeAmount(.topupCapUSD)
            dailyCapUSD = try c.decodeAmount(.dailyCapUSD)
            autoTopup = try c.decodeIfPresent(Bool.self, forKey: .autoTopup)
            autoTopupUSD = try c.decodeAmount(.autoTopupUSD)
        }
    }

    public struct Policy: Sendable, Equatable, Decodable {
        public var name: String?
        public var executable: String?
        public var unit: String?
        public var routes: [String]?
        public var maxRequestUSD: Double?
        public var dailyUSD: Double?
        /// `[default]` only: false takes the right to manage the agent away from the owner's programs.
        public var admin: Bool?

        enum CodingKeys: String, CodingKey {
            case name, executable, unit, routes, admin, maxRequestUSD = "max_request_usd", dailyUSD = "daily_usd"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            executable = try c.decodeIfPresent(String.self, forKey: .executable)
            unit = try c.decodeIfPresent(String.self, forKey: .unit)
            routes = try c.decodeIfPresent([String].self, forKey: .routes)
            maxRequestUSD = try c.decodeAmount(.maxRequestUSD)
            dailyUSD = try c.decodeAmount(.dailyUSD)
            admin = try c.decodeIfPresent(Bool.self, forKey: .admin)
        }
    }

    public var keystore: String?
    public var socket: String?
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

    enum CodingKeys: String, CodingKey {
        case keystore, socket, upstream, lifetime, payments, `default`, binding
        case otherUIDs = "other_uids"
        case stateDir = "state_dir", maxInFlight = "max_in_flight", maxRequestBodyMB = "max_request_body_mb", allowedUIDs = "allowed_uids"
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func defaultPath(environment: [String: String]) -> String {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((environment["HOME"] ?? "/tmp") + "/.config")
        return base + "/venice-agent/config.toml"
    }

    public static func load(path: String) throws -> ConfigFile {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw Failure(description: "cannot read config \(path): \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String = "config") throws -> ConfigFile {
        do {
            return try TOMLDecoder(strictDecoding: true).decode(ConfigFile.self, from: text)
        } catch let error as UnexpectedKeysError {
            let names = error.keys.keys.sorted().joined(separator: ", ")
            throw Failure(description: "\(path): unknown setting(s) \(names); see the configuration reference in the README")
        } catch let error as TOMLParseError {
            throw Failure(description: "\(path): not valid TOML at \(error.source.begin.debugDescription): \(error.description)")
        } catch let error as DecodingError {
            throw Failure(description: "\(path): \(Self.describe(error))")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String { context.codingPath.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)) must be a \(type)"
        case .valueNotFound(_, let context): return "\(path(context)) is missing a value"
        case .keyNotFound(let key, let context): return "\(path(context)) needs \(key.stringValue)"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return String(describing: error)
        }
    }

    /// Applies the file to `configuration` (flags are applied afterwards and win).
    public func apply(to configuration: inout AgentConfiguration) throws {
        if let upstream { configuration.upstream = upstream }
        if let socket { configuration.socketPath = Self.expand(socket) }
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
                throw Failure(description: "[default] takes routes, max_request_usd, daily_usd and admin only")
            }
            configuration.defaultPolicy = try Self.policy(policy, name: "default", source: .defaultClient)
            if let admin = policy.admin { configuration.defaultPolicyAdministers = admin }
        }
        if let policy = otherUIDs {
            guard policy.name == nil, policy.executable == nil, policy.unit == nil, policy.admin == nil else {
                throw Failure(description: "[other_uids] takes routes, max_request_usd and daily_usd only (other uids never administer)")
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
        return ClientPolicy(name: name, routes: p.routes.map(Set.init), maxRequestMicro: try p.maxRequestUSD.map { try micro($0, "\(name).max_request_usd") },
                            dailyMicro: try p.dailyUSD.map { try micro($0, "\(name).daily_usd") }, source: source)
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

extension KeyedDecodingContainer {
    /// A USD amount written either as `10` or `10.5`.
    func decodeAmount(_ key: Key) throws -> Double? {
        guard contains(key) else { return nil }
        if let value = try? decode(Double.self, forKey: key) { return value }
        if let value = try? decode(Int.self, forKey: key) { return Double(value) }
        throw DecodingError.typeMismatch(Double.self, .init(codingPath: codingPath + [key], debugDescription: "expected a number"))
    }
}
