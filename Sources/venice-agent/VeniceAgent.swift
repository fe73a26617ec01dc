import ArgumentParser

@main
struct VeniceAgent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "venice-agent",
        abstract: "A wallet agent for the Venice AI API: holds an Ethereum key, signs for local programs.",
        version: VeniceAgentVersion.current,
        subcommands: [
            Serve.self, Key.self,
            Status.self, Lock.self, Unlock.self, Topup.self, TopUps.self, Balance.self, Transactions.self, Spend.self, Audit.self,
            Requests.self,
            Image.self, Speech.self, Transcribe.self, Music.self,
            Billing.self, APIKey.self, Clients.self, Doctor.self, Dashboard.self, MCPServe.self,
        ]
    )
}

enum VeniceAgentVersion {
    static let current = "0.1.0"
}
