import AgentMCP
import Foundation
import MCP
import Testing

@Suite("MCP tool catalogue")
struct ToolCatalogueTests {
    let catalogue = ToolCatalogue()

    @Test("the catalogue offers the text, media, model and wallet tools, each with an object schema")
    func catalogueNamesTheTools() {
        let names = Set(catalogue.definitions.map(\.name))
        for name in ["chat", "responses", "embeddings", "image_generate", "image_styles", "speech", "transcription", "models_list",
                     "voices", "balance", "transactions", "spend", "budget_left", "request_topup", "music_quote", "music_queue",
                     "music_status", "music_complete", "video_quote"] {
            #expect(names.contains(name), "missing \(name)")
        }
        #expect(names.count == catalogue.definitions.count, "tool names are unique")
        for tool in catalogue.definitions {
            #expect(tool.inputSchema.objectValue?["type"] == "object", "\(tool.name)")
        }
    }

    @Test("image generation sends the asked size and returns the image as PNG image content")
    func imageGenerationReturnsImageContent() async throws {
        let caller = FakeCaller(["/api/v1/image/generate": FakeCaller.json(["id": "img1", "images": [.string(Data(Fixtures.png).base64EncodedString())]])])
        let result = try await catalogue.call("image_generate", arguments: ["prompt": "a fox", "width": 512, "height": 256.0], caller: caller)
        #expect(result.isError == false)
        guard case .image(let data, let mimeType, _, _)? = result.content.first else {
            Issue.record("no image content: \(result.content)")
            return
        }
        #expect(mimeType == "image/png")
        #expect(Data(base64Encoded: data).map([UInt8].init) == Fixtures.png)
        let body = FakeCaller.body(caller.requests.first)
        #expect(body["width"] == 512 && body["height"] == 256 && body["prompt"] == "a fox")
    }

    @Test("image generation saves files when the host gives a save_to folder")
    func imageGenerationSavesFiles() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let caller = FakeCaller(["/api/v1/image/generate": FakeCaller.json(["id": "img/../x", "images": [.string(Data(Fixtures.png).base64EncodedString())]])])
        let result = try await catalogue.call("image_generate", arguments: ["prompt": "a fox", "save_to": .string(folder)], caller: caller)
        let saved = folder + "/img____x-1.png"
        #expect(Fixtures.text(result.content).contains(saved))
        #expect(FileManager.default.contents(atPath: saved).map([UInt8].init) == Fixtures.png)
    }

    @Test("a saved file never replaces one already there, a link included")
    func savingNeverOverwrites() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let victim = folder + "/victim.txt"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: folder + "/img-1.png", withDestinationPath: victim)
        let caller = FakeCaller(["/api/v1/image/generate": FakeCaller.json(["id": "img", "images": [.string(Data(Fixtures.png).base64EncodedString())]])])
        let result = try await catalogue.call("image_generate", arguments: ["prompt": "a fox", "save_to": .string(folder)], caller: caller)
        #expect(Fixtures.text(result.content).contains(folder + "/img-1-2.png"))
        #expect(FileManager.default.contents(atPath: victim) == Data("keep me".utf8))
    }

    @Test("inside the agent (/mcp) no tool reads or writes a local file")
    func noLocalFilesInsideTheAgent() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-test-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let caller = FakeCaller(["/api/v1/image/generate": FakeCaller.json(["id": "img", "images": [.string(Data(Fixtures.png).base64EncodedString())]]),
                                 "/api/v1/audio/transcriptions": FakeCaller.json(["text": "hello"])], localFiles: false)
        let saved = try await catalogue.call("image_generate", arguments: ["prompt": "a fox", "save_to": .string(folder)], caller: caller)
        #expect(saved.isError == true && Fixtures.text(saved.content).contains("save_to"))
        #expect(!FileManager.default.fileExists(atPath: folder))
        let read = try await catalogue.call("transcription", arguments: ["file_path": "/tmp/x.wav"], caller: caller)
        #expect(read.isError == true && Fixtures.text(read.content).contains("audio_base64"))
        #expect(caller.requests.isEmpty)
        let inline = try await catalogue.call("transcription", arguments: ["audio_base64": .string(Data(Fixtures.wav).base64EncodedString()),
                                                                           "file_name": "a.wav"], caller: caller)
        #expect(inline.isError != true)
    }

    @Test("speech comes back as an embedded audio resource")
    func speechIsAnEmbeddedResource() async throws {
        let caller = FakeCaller(["/api/v1/audio/speech": { _ in AgentReply(contentType: "audio/wav", body: Fixtures.wav) }])
        let result = try await catalogue.call("speech", arguments: ["input": "hello", "response_format": "wav"], caller: caller)
        guard case .resource(let resource, _, _)? = result.content.first else {
            Issue.record("no resource: \(result.content)")
            return
        }
        #expect(resource.mimeType == "audio/wav")
        #expect(resource.uri.hasPrefix("venice://audio/") && resource.uri.hasSuffix(".wav"))
        #expect(resource.blob.flatMap { Data(base64Encoded: $0) }.map([UInt8].init) == Fixtures.wav)
    }

    @Test("chat returns the assistant's text, and a budget warning when the agent sends one")
    func chatReturnsTheReply() async throws {
        let answer: Value = ["choices": [["message": ["role": "assistant", "content": "Hi there"]]], "usage": ["prompt_tokens": 3, "completion_tokens": 2]]
        let caller = FakeCaller(["/api/v1/chat/completions": FakeCaller.json(answer, warning: "client bot has used 90% of its $1.00 daily budget")])
        let result = try await catalogue.call("chat", arguments: ["prompt": "hello", "system": "be brief"], caller: caller)
        let text = Fixtures.text(result.content)
        #expect(result.isError == false)
        #expect(text.hasPrefix("Hi there") && text.contains("3 prompt + 2 completion tokens") && text.contains("90% of its $1.00 daily budget"))
        let messages = FakeCaller.body(caller.requests.first)["messages"]?.arrayValue ?? []
        #expect(messages.count == 2 && messages.first?.objectValue?["role"] == "system")
        #expect(FakeCaller.body(caller.requests.first)["stream"] == false)
    }

    @Test("a budget refusal is a tool error with the agent's words, not a protocol error")
    func budgetRefusalIsAToolError() async throws {
        let message = "this client's daily budget of $0.0150 would be exceeded (spent $0.0100, this request about $0.0100); wait for tomorrow or raise the limit (AGENT_BUDGET_EXCEEDED)"
        let caller = FakeCaller(["/api/v1/image/generate": FakeCaller.refuse("AGENT_BUDGET_EXCEEDED", message)])
        let result = try await catalogue.call("image_generate", arguments: ["prompt": "a fox"], caller: caller)
        #expect(result.isError == true)
        #expect(Fixtures.text(result.content) == message)
    }

    @Test("an agent that is not running is a tool error that says how to start one")
    func agentNotRunningIsAToolError() async throws {
        let caller = FakeCaller(["/api/v1/x402/balance/me": FakeCaller.refuse("AGENT_UNREACHABLE", "no agent is listening at /x.sock (no socket there); start one with …")])
        let result = try await catalogue.call("balance", arguments: nil, caller: caller)
        #expect(result.isError == true && Fixtures.text(result.content).contains("start one"))
    }

    @Test("a wrongly typed argument is a tool error naming it, and nothing is sent")
    func badArgumentIsRefusedBeforeSending() async throws {
        let caller = FakeCaller([:])
        for (tool, arguments, name) in [("image_generate", ["prompt": Value.int(3)], "prompt"),
                                        ("image_generate", ["prompt": "x", "variants": 9], "variants"),
                                        ("speech", ["input": "x", "speed": "fast"], "speed"),
                                        ("chat", [:], "prompt"),
                                        ("transcription", ["file_path": "relative.wav"], "file_path"),
                                        ("transcription", ["file_path": "/etc/passwd"], "file_path")] as [(String, [String: Value], String)] {
            let result = try await catalogue.call(tool, arguments: arguments, caller: caller)
            #expect(result.isError == true, "\(tool)")
            #expect(Fixtures.text(result.content).contains("`\(name)`"), "\(tool): \(Fixtures.text(result.content))")
        }
        #expect(caller.requests.isEmpty)
    }

    @Test("an unknown tool is a protocol error (invalid params)")
    func unknownToolIsAProtocolError() async {
        await #expect(throws: MCPError.self) {
            try await catalogue.call("rm_rf", arguments: nil, caller: FakeCaller([:]))
        }
    }

    @Test("request_topup pays nothing for a client the owner did not allow, and answers with the owner's command")
    func requestTopupNeverPaysUnlessAllowed() async throws {
        let caller = FakeCaller(["/agent/v1/topup/request": FakeCaller.refuse("AGENT_TOPUP_NOT_ALLOWED", "client bot may not top up")])
        let result = try await catalogue.call("request_topup", arguments: ["amount_usd": 10, "reason": "out of credit"], caller: caller)
        #expect(result.isError == false)
        #expect(Fixtures.text(result.content).contains("Nothing was paid") && Fixtures.text(result.content).contains("`venice-agent topup 10`"))
        let half = try await catalogue.call("request_topup", arguments: ["amount_usd": 2.5], caller: caller)
        #expect(Fixtures.text(half.content).contains("`venice-agent topup 2.50`"))
        #expect(FakeCaller.body(caller.requests.first)["usd"] == 10)
    }

    @Test("request_topup reports the payment for an allowed client, and a cap refusal as a tool error")
    func requestTopupWhenAllowed() async throws {
        let paid = FakeCaller(["/agent/v1/topup/request": FakeCaller.json(["amount_credited": 5, "new_balance": 14.5, "payment_id": "p"])])
        let result = try await catalogue.call("request_topup", arguments: ["amount_usd": 5], caller: paid)
        #expect(result.isError == false && Fixtures.text(result.content).contains("Topped up: $5.00") && Fixtures.text(result.content).contains("$14.50"))
        let capped = FakeCaller(["/agent/v1/topup/request": FakeCaller.refuse("AGENT_PAYMENT_REFUSED", "over the daily top-up cap")])
        let refused = try await catalogue.call("request_topup", arguments: ["amount_usd": 5], caller: capped)
        #expect(refused.isError == true && Fixtures.text(refused.content).contains("daily top-up cap"))
    }

    @Test("budget_left reads the agent's budget route and says what is left")
    func budgetLeftSummarises() async throws {
        let caller = FakeCaller(["/agent/v1/budget": FakeCaller.json(["name": "bot", "daily_usd": 1.0, "spent_today_usd": 0.25, "left_today_usd": 0.75,
                                                                       "monthly_usd": .null, "spent_month_usd": 0.25, "left_month_usd": .null])])
        let result = try await catalogue.call("budget_left", arguments: nil, caller: caller)
        let text = Fixtures.text(result.content)
        #expect(text.contains("today: $0.7500 left of $1.0000") && text.contains("this month: no limit"))
    }

    @Test("transcription uploads the audio as multipart with the model")
    func transcriptionUploadsMultipart() async throws {
        let caller = FakeCaller(["/api/v1/audio/transcriptions": FakeCaller.json(["text": "hello world"])])
        let result = try await catalogue.call("transcription", arguments: ["audio_base64": .string(Data(Fixtures.wav).base64EncodedString()), "file_name": "a.wav"],
                                              caller: caller)
        #expect(Fixtures.text(result.content) == "hello world")
        let request = try #require(caller.requests.first)
        #expect(request.contentType?.hasPrefix("multipart/form-data; boundary=") == true)
        let body = String(decoding: request.body ?? [], as: UTF8.self)
        #expect(body.contains("filename=\"a.wav\"") && body.contains("nvidia/parakeet-tdt-0.6b-v3"))
    }
}
