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
        @Option(help: "Daily budget, USD.") var dailyUsd: Double?

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
                var table = Table([("name", .left), ("routes", .left), ("max/request", .right), ("daily", .right), ("spent today", .right)])
                for c in try ClientCommands.object(response)["clients"]?.arrayValue ?? [] {
                    let routes = c["routes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
                    table.append([ClientCommands.text(c["name"]), routes, ClientCommands.usd(c["max_request_usd"]),
                                  ClientCommands.usd(c["daily_usd"]), ClientCommands.usd(c["spent_today_usd"])])
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
