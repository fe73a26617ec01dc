import ArgumentParser
import WalletCrypto

/// `venice-agent status`: is the agent up, locked, busy?
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the agent's wallet address, lock state, upstream and load.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await ClientCommands.run { try await StatusCommand.run(options) }
    }
}

enum StatusCommand {
    static func run(_ options: ClientOptions) async throws {
        let response = try await options.client.call(.GET, "/agent/v1/status", timeoutSeconds: 30)
        if options.json { return ClientCommands.printRaw(response) }
        let s = try ClientCommands.object(response)
        let t = ClientCommands.text
        print(Table.keyValues([
            ("address", t(s["address"])),
            ("state", s["locked"]?.boolValue == true ? "locked (run `venice-agent unlock`)" : "unlocked"),
            ("upstream", t(s["upstream"])),
            ("in flight", "\(t(s["in_flight"])) of \(t(s["max_in_flight"])) (peak \(t(s["peak_in_flight"])))"),
            ("queued", t(s["queued"])),
            ("signatures", t(s["signatures"])),
            ("clock offset", "\(t(s["clock_offset_ms"])) ms"),
            ("version", t(s["version"])),
            ("socket", options.socketPath),
        ]))
    }
}
