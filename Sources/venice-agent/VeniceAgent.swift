import ArgumentParser

@main
struct VeniceAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venice-agent",
        abstract: "A wallet agent for the Venice AI API: holds an Ethereum key, signs for local programs.",
        version: VeniceAgentVersion.current,
        subcommands: [
            Serve.self, Key.self,
            Status.self, Lock.self, Unlock.self, Topup.self, Balance.self, Transactions.self, Spend.self, Audit.self,
            Image.self, Speech.self, Transcribe.self, Music.self,
            Billing.self, APIKey.self, Clients.self, Doctor.self, MCPServe.self,
        ]
    )
}

enum VeniceAgentVersion {
    static let current = "0.1.0"
}
