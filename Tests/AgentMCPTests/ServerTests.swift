import AgentMCP
import Foundation
import MCP
import Testing

@Suite("MCP server over a transport")
struct ServerTests {
    @Test("a client lists tools, calls one and reads venice://voices through an in-memory transport")
    func clientRoundTrip() async throws {
        let models: Value = ["data": [["id": "tts-kokoro", "type": "tts", "model_spec": ["name": "Kokoro", "voices": ["af_sky", "am_adam"]]]]]
        let caller = FakeCaller(["/api/v1/models": FakeCaller.json(models),
                                 "/api/v1/image/styles": FakeCaller.json(["data": ["Anime", "Pixel Art"]])])
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let server = await AgentMCPServer(caller: caller, version: "test").makeServer()
        try await server.start(transport: serverSide)
        let client = Client(name: "test-host", version: "1")
        _ = try await client.connect(transport: clientSide)

        let tools = try await client.listTools().tools
        #expect(tools.contains { $0.name == "budget_left" })

        let styles = try await client.callTool(name: "image_styles", arguments: [:])
        #expect(styles.isError != true && Fixtures.text(styles.content) == "Anime\nPixel Art")

        let voices = try await client.readResource(uri: "venice://voices")
        #expect(voices.first?.text?.contains("am_adam") == true)

        await #expect(throws: MCPError.self) { _ = try await client.readResource(uri: "venice://secrets") }
        await client.disconnect()
        await server.stop()
    }
}
