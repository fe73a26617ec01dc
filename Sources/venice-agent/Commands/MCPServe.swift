import AgentMCP
import ArgumentParser
import Foundation
import MCP

/// `venice-agent mcp`: an MCP server on stdio for AI agent hosts (Claude, Cursor, Codex…),
/// only a client of the running agent's socket: it holds no key, no signature, no API key.
struct MCPServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve Venice's tools to an AI agent host over MCP (stdio), as a client of the running agent.",
        discussion: """
            The host starts it (command: venice-agent, args: ["mcp"]). With --token (or VENICE_AGENT_TOKEN) it acts as \
            that named client, with its routes, models and budgets; without one, the policy of its process applies. \
            --print-config claude|cursor|codex prints the block to paste into that host's config.
            """
    )
    @OptionGroup var options: ClientOptions

    @Option(name: .customLong("print-config"), help: "Print the config block for a host (claude, cursor or codex) and exit.")
    var printConfig: HostName?

    /// The hosts `--print-config` knows.
    enum HostName: String, ExpressibleByArgument, CaseIterable {
        case claude, cursor, codex
        var host: HostConfig.Host {
            switch self {
            case .claude: .claude
            case .cursor: .cursor
            case .codex: .codex
            }
        }
    }

    func run() async throws {
        if let host = printConfig?.host {
            print(HostConfig(host: host, binary: Self.executablePath(), socket: Self.absolute(options.socketPath), token: options.resolvedToken).render(),
                  terminator: "")
            FileHandle.standardError.write(Data("# paste into \(host.location)\n".utf8))
            return
        }
        let caller = SocketAgentCaller(client: options.client)
        let identity = options.resolvedToken == nil ? "the policy of this process" : "the token's client"
        FileHandle.standardError.write(Data("venice-agent mcp: serving on stdio for the agent at \(options.socketPath), as \(identity)\n".utf8))
        try await AgentMCPServer(caller: caller, version: VeniceAgentVersion.current).run(transport: LineTransport())
    }

    /// This binary's absolute path (what a host must run).
    static func executablePath() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return absolute(CommandLine.arguments.first ?? "venice-agent")
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    }
}
