import Foundation
import ArgumentParser
import AgentCore
import WalletCrypto

/// `venice-agent clients …`: named local clients with their own token, routes and budget.
struct Clients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, list and remove named local clients (a token, allowed route groups, per-request and daily limits).",
        subcommands: [Add.self, List.self, Remove.self]
    )
}

extension Clients {
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a client; prints its token once (send it as `Authorization: Bearer vat_…`).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The client's name.") var name: String
        @Option(help: "Comma-separated route groups: \(Add.groupList).") var routes = "image,audio"
        @Option(help: "Largest estimated price of one request, USD.") var maxRequestUsd: Double?
        @Option(help: "Daily budget, USD (resets 00:00 UTC).") var dailyUsd: Double?
        @Option(help: "Monthly budget, USD (resets on the 1st, 00:00 UTC).") var monthlyUsd: Double?
        @Option(help: "Comma-separated model ids the client may use; `prefix-*` allows a family (default: any).") var models: String?
        @Option(help: "Requests of this client answered at once.") var maxParallel: Int?
        @Option(name: .customLong("rpm"), help: "Requests per minute.") var requestsPerMinute: Int?
        @Option(help: "Past this fraction of the daily or monthly budget, answers carry X-Agent-Budget-Warning (e.g. 0.8).") var softLimit: Double?
        @Option(help: "The token stops working at this date (YYYY-MM-DD, UTC) or RFC 3339 time.") var expires: String?
        @Flag(help: "Let the client top up the wallet itself, within the agent's top-up caps (e.g. an AI agent's request_topup).")
        var mayTopup = false

        var routeList: [String] { routes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }

        /// The groups the config file accepts, in a stable order.
        static let groupList = ClientPolicy.groupNames.sorted().joined(separator: ", ")

        func validate() throws {
            let unknown = routeList.filter { !ClientPolicy.groupNames.contains($0) }
            guard unknown.isEmpty, !routeList.isEmpty else {
                throw ValidationError("--routes takes one or more of \(Add.groupList), comma-separated"
                                      + (unknown.isEmpty ? "" : " (unknown: \(unknown.joined(separator: ", ")))"))
            }
        }

        func run() async throws {
            try await ClientCommands.run {
                var pairs: [(String, JSONValue)] = [("name", .string(name)), ("routes", .array(routeList.map { .string($0) }))]
                if let maxRequestUsd { pairs.append(("max_request_usd", .number(String(maxRequestUsd)))) }
                if let dailyUsd { pairs.append(("daily_usd", .number(String(dailyUsd)))) }
                if let monthlyUsd { pairs.append(("monthly_usd", .number(String(monthlyUsd)))) }
                if let models {
                    pairs.append(("models", .array(models.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })))
                }
                if let maxParallel { pairs.append(("max_parallel", .number(String(maxParallel)))) }
                if let requestsPerMinute { pairs.append(("requests_per_minute", .number(String(requestsPerMinute)))) }
                if let softLimit { pairs.append(("soft_limit", .number(String(softLimit)))) }
                if let expires { pairs.append(("expires_at", .string(expires))) }
                if mayTopup { pairs.append(("may_topup", .bool(true))) }
                let response = try await options.client.call(.POST, "/agent/v1/clients", json: .object(JSONObject(pairs)), timeoutSeconds: 60)
                if options.json { return ClientCommands.printRaw(response) }
                let r = try ClientCommands.object(response)
                print("added \(ClientCommands.text(r["name"])); its token (shown only now): \(ClientCommands.text(r["token"]))")
                if let base = r["openai_base_url"]?.stringValue, let token = r["token"]?.stringValue {
                    // What an OpenAI-compatible app needs (the agent's loopback TCP listener).
                    print("OPENAI_BASE_URL=\(base)")
                    print("OPENAI_API_KEY=\(token)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients, their limits and today's spend.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await ClientCommands.run {
                let response = try await options.client.call(.GET, "/agent/v1/clients", timeoutSeconds: 60)
                if options.json { return ClientCommands.printRaw(response) }
                var table = Table([("name", .left), ("routes", .left), ("models", .left), ("max/request", .right),
                                   ("today / daily", .right), ("month / monthly", .right), ("parallel", .right), ("rpm", .right),
                                   ("expires", .left), ("top-up", .left)])
                for c in try ClientCommands.object(response)["clients"]?.arrayValue ?? [] {
                    let routes = c["routes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
                    let models = c["models"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? "any"
                    func count(_ key: String) -> String { c[key]?.doubleValue.flatMap { Int(exactly: $0) }.map(String.init) ?? "-" }
                    func limit(_ key: String) -> String { c[key]?.doubleValue == nil ? "-" : ClientCommands.usd(c[key]) }
                    table.append([ClientCommands.text(c["name"]), routes, models, limit("max_request_usd"),
                                  ClientCommands.usd(c["spent_today_usd"]) + " / " + limit("daily_usd"),
                                  ClientCommands.usd(c["spent_month_usd"]) + " / " + limit("monthly_usd"),
                                  count("max_parallel"), count("requests_per_minute"), c["expires_at"]?.stringValue ?? "never",
                                  c["may_topup"]?.boolValue == true ? "may" : "-"])
                }
                print(table.render())
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client; its token stops working.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The client's name.") var name: String

        func run() async throws {
            try await ClientCommands.run {
                let response = try await options.client.call(.DELETE, "/agent/v1/clients/" + ClientCommands.percentEncoded(name), timeoutSeconds: 60)
                if options.json { return ClientCommands.printRaw(response) }
                print("removed \(name)")
            }
        }
    }
}
