import ArgumentParser
import WalletCrypto

/// `venice-agent apikey …`: Venice API keys minted and held by the agent (the secret never leaves it).
struct APIKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey",
        abstract: "Mint, list and revoke the Venice API keys the agent holds (needed for billing routes).",
        subcommands: [Mint.self, List.self, Revoke.self]
    )

    static func row(_ key: JSONValue) -> [String] {
        let t = ClientCommands.text
        return [t(key["id"]), t(key["type"]), "…" + t(key["last6"]), t(key["description"]), ClientCommands.usd(key["usd_limit"]),
                t(key["limit_period"]), t(key["expires_at"])]
    }

    static var table: Table {
        Table([("id", .left), ("type", .left), ("key", .left), ("description", .left), ("usd limit", .right), ("period", .left), ("expires", .left)])
    }
}

extension APIKey {
    struct Mint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mint a key through the wallet (Venice's web3 key flow); the agent keeps the secret.")
        @OptionGroup var options: ClientOptions
        enum KeyType: String, ExpressibleByArgument, CaseIterable { case ADMIN, INFERENCE }
        @Option(help: "ADMIN (billing) or INFERENCE.") var type: KeyType = .INFERENCE
        @Option(help: "A note shown in Venice's dashboard.") var description: String?
        @Option(help: "USD spending limit per period.") var usdLimit: Double?
        @Option(help: "DIEM spending limit per period.") var diemLimit: Double?
        @Option(help: "Limit period, e.g. DAY or MONTH.") var limitPeriod: String?
        @Option(help: "Expiry, ISO 8601.") var expiresAt: String?

        func run() async throws {
            try await ClientCommands.run {
                var pairs: [(String, JSONValue)] = [("type", .string(type.rawValue))]
                if let description { pairs.append(("description", .string(description))) }
                if let usdLimit { pairs.append(("usd_limit", .number(String(usdLimit)))) }
                if let diemLimit { pairs.append(("diem_limit", .number(String(diemLimit)))) }
                if let limitPeriod { pairs.append(("limit_period", .string(limitPeriod))) }
                if let expiresAt { pairs.append(("expires_at", .string(expiresAt))) }
                let response = try await ProgressIndicator.run("minting a \(type.rawValue) key") { _ in
                    try await options.client.call(.POST, "/agent/v1/apikey/mint", json: .object(JSONObject(pairs)), timeoutSeconds: 120)
                }
                if options.json { return ClientCommands.printRaw(response) }
                var table = APIKey.table
                table.append(APIKey.row(try ClientCommands.object(response)))
                print(table.render())
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys the agent holds (never their secrets).")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            try await ClientCommands.run {
                let response = try await options.client.call(.GET, "/agent/v1/apikey", timeoutSeconds: 60)
                if options.json { return ClientCommands.printRaw(response) }
                var table = APIKey.table
                for key in try ClientCommands.object(response)["keys"]?.arrayValue ?? [] { table.append(APIKey.row(key)) }
                print(table.render())
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key at Venice and forget it.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The key's id, from `venice-agent apikey list`.") var id: String

        func run() async throws {
            try await ClientCommands.run {
                let response = try await options.client.call(.DELETE, "/agent/v1/apikey/" + ClientCommands.percentEncoded(id), timeoutSeconds: 60)
                if options.json { return ClientCommands.printRaw(response) }
                print("revoked \(id)")
            }
        }
    }
}
