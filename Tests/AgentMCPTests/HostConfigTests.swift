import AgentMCP
import Foundation
import Testing

@Suite("MCP host config blocks")
struct HostConfigTests {
    @Test("Claude's block is mcpServers JSON with the binary and socket, and no env without a token")
    func claudeBlock() throws {
        let text = HostConfig(host: .claude, binary: "/usr/bin/venice-agent", socket: "/run/user/1/venice-agent/agent.sock", token: nil).render()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let server = try #require((json["mcpServers"] as? [String: Any])?["venice"] as? [String: Any])
        #expect(server["command"] as? String == "/usr/bin/venice-agent")
        #expect(server["args"] as? [String] == ["mcp", "--socket", "/run/user/1/venice-agent/agent.sock"])
        #expect(server["env"] == nil)
    }

    @Test("Cursor's block carries the token as VENICE_AGENT_TOKEN when one was given")
    func cursorBlockWithToken() throws {
        let text = HostConfig(host: .cursor, binary: "/b/venice-agent", socket: "/s.sock", token: "vat_abc").render()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let server = try #require((json["mcpServers"] as? [String: Any])?["venice"] as? [String: Any])
        #expect((server["env"] as? [String: String])?["VENICE_AGENT_TOKEN"] == "vat_abc")
        #expect(server["type"] as? String == "stdio")
    }

    @Test("Codex's block is a [mcp_servers.venice] TOML table with escaped strings")
    func codexBlock() {
        let text = HostConfig(host: .codex, binary: "/opt/my \"agent\"/venice-agent", socket: "/s.sock", token: "vat_x").render()
        #expect(text == """
            [mcp_servers.venice]
            command = "/opt/my \\"agent\\"/venice-agent"
            args = ["mcp", "--socket", "/s.sock"]
            env = { VENICE_AGENT_TOKEN = "vat_x" }

            """)
    }
}
