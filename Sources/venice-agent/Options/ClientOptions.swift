import AgentCore
import ArgumentParser
import Foundation

/// What every client command shares: where the agent is, and how to print.
struct ClientOptions: ParsableArguments {
    @Option(help: "The agent's socket (default: $VENICE_AGENT_SOCK, else $XDG_RUNTIME_DIR/venice-agent/agent.sock, else ~/.venice-agent/agent.sock).")
    var socket: String?

    @Flag(help: "Print the agent's JSON answer instead of a table.")
    var json = false

    @Option(help: "A named client's token (vat_…) to act as that client; default: $VENICE_AGENT_TOKEN, else the owner.")
    var token: String?

    var resolvedToken: String? {
        if let token, !token.isEmpty { return token }
        let fromEnvironment = ProcessInfo.processInfo.environment["VENICE_AGENT_TOKEN"]
        return fromEnvironment?.isEmpty == false ? fromEnvironment : nil
    }

    var socketPath: String {
        if let socket, !socket.isEmpty { return socket }
        let environment = ProcessInfo.processInfo.environment
        if let fromEnvironment = environment["VENICE_AGENT_SOCK"], !fromEnvironment.isEmpty { return fromEnvironment }
        return AgentConfiguration.defaultSocketPath(environment: environment)
    }

    var client: AgentClient { AgentClient(socketPath: socketPath, token: resolvedToken) }
}
