import Foundation
import MCP

/// The block to paste into an agent host's config so it starts `venice-agent mcp`: Claude
/// Desktop/Code and Cursor take `mcpServers` JSON, Codex takes `[mcp_servers.NAME]` TOML.
/// The token appears only when the user gave one; it is a local client token with its own
/// budget, not a spendable Venice key.
public struct HostConfig: Sendable, Equatable {
    public enum Host: String, Sendable, CaseIterable {
        case claude, cursor, codex

        /// Where the block goes.
        public var location: String {
            switch self {
            case .claude: "Claude Desktop: claude_desktop_config.json (Settings → Developer → Edit Config); Claude Code: .mcp.json in the project"
            case .cursor: "Cursor: .cursor/mcp.json in the project, or ~/.cursor/mcp.json"
            case .codex: "Codex: ~/.codex/config.toml"
            }
        }
    }

    public let host: Host
    /// Absolute path of the `venice-agent` binary.
    public let binary: String
    /// Absolute path of the agent's socket.
    public let socket: String
    public let token: String?
    public let serverName: String

    public init(host: Host, binary: String, socket: String, token: String?, serverName: String = "venice") {
        self.host = host
        self.binary = binary
        self.socket = socket
        self.token = token
        self.serverName = serverName
    }

    var arguments: [String] { ["mcp", "--socket", socket] }

    /// The block itself, ending with a newline.
    public func render() -> String {
        switch host {
        case .claude, .cursor:
            var server: [String: Value] = ["command": .string(binary), "args": .array(arguments.map { .string($0) })]
            if host == .cursor { server["type"] = "stdio" }
            if let token { server["env"] = ["VENICE_AGENT_TOKEN": .string(token)] }
            return JSONCoding.text(["mcpServers": .object([serverName: .object(server)])], pretty: true) + "\n"
        case .codex:
            var lines = ["[mcp_servers.\(serverName)]", "command = \(Self.toml(binary))",
                         "args = [\(arguments.map(Self.toml).joined(separator: ", "))]"]
            if let token { lines.append("env = { VENICE_AGENT_TOKEN = \(Self.toml(token)) }") }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// A TOML basic string.
    static func toml(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
