import AgentMCP
import Foundation
import MCP
import Testing

@Suite("MCP image edit, upscale, background removal and voice cloning tools")
struct ImageToolTests {
    let catalogue = ToolCatalogue()

    static func image(_ bytes: [UInt8] = Fixtures.png) -> FakeCaller.Answer {
        { _ in AgentReply(contentType: "image/png", body: bytes) }
    }

    static func firstImage(_ result: CallTool.Result) -> [UInt8]? {
        guard case .image(let data, let mimeType, _, _)? = result.content.first, mimeType == "image/png" else { return nil }
        return Data(base64Encoded: data).map([UInt8].init)
    }

    @Test("the catalogue offers image_edit, image_upscale, image_background_remove and voice_clone")
    func catalogueOffersTheTools() {
        let names = Set(catalogue.definitions.map(\.name))
        for name in ["image_edit", "image_upscale", "image_background_remove", "voice_clone"] {
            #expect(names.contains(name), "missing \(name)")
        }
    }

    @Test("image_edit sends the prompt, model and image as base64 JSON and returns the edited image as image content")
    func editSendsBase64AndReturnsImage() async throws {
        let caller = FakeCaller(["/api/v1/image/edit": Self.image()])
        let encoded = Data(Fixtures.png).base64EncodedString()
        let result = try await catalogue.call("image_edit", arguments: ["prompt": "make it blue", "image_base64": .string(encoded),
                                                                        "aspect_ratio": "16:9"], caller: caller)
        #expect(result.isError == false)
        #expect(Self.firstImage(result) == Fixtures.png)
        let body = FakeCaller.body(caller.requests.first)
        #expect(body["prompt"] == "make it blue" && body["model"] == "firered-image-edit" && body["aspect_ratio"] == "16:9")
        #expect(body["image"]?.stringValue == encoded)
    }

    @Test("image_upscale refuses a scale of 3 before calling the agent, and sends 4")
    func upscaleScaleIsTwoOrFour() async throws {
        let caller = FakeCaller(["/api/v1/image/upscale": Self.image()])
        let image = Value.string(Data(Fixtures.png).base64EncodedString())
        let refused = try await catalogue.call("image_upscale", arguments: ["image_base64": image, "scale": 3], caller: caller)
        #expect(refused.isError == true)
        #expect(Fixtures.text(refused.content).contains("`scale`"))
        #expect(caller.requests.isEmpty)
        let result = try await catalogue.call("image_upscale", arguments: ["image_base64": image, "scale": 4], caller: caller)
        #expect(Self.firstImage(result) == Fixtures.png)
        #expect(FakeCaller.body(caller.requests.first)["scale"] == 4)
    }

    @Test("image_background_remove reads an image_path on stdio and saves the result when asked")
    func backgroundRemoveReadsPathAndSaves() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-img-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let input = folder + "/in.png"
        try Data(Fixtures.png).write(to: URL(fileURLWithPath: input))
        let caller = FakeCaller(["/api/v1/image/background-remove": Self.image()])
        let result = try await catalogue.call("image_background_remove", arguments: ["image_path": .string(input), "save_to": .string(folder)],
                                              caller: caller)
        #expect(result.isError == false)
        #expect(FakeCaller.body(caller.requests.first)["image"]?.stringValue == Data(Fixtures.png).base64EncodedString())
        let text = Fixtures.text(result.content)
        #expect(text.contains("saved: " + folder + "/no-background-"))
    }

    @Test("inside the agent (/mcp) image_path is refused and no file is read or request sent")
    func imagePathRefusedInsideTheAgent() async throws {
        let caller = FakeCaller(["/api/v1/image/edit": Self.image()], localFiles: false)
        let result = try await catalogue.call("image_edit", arguments: ["prompt": "x", "image_path": "/etc/hostname.png"], caller: caller)
        #expect(result.isError == true)
        #expect(Fixtures.text(result.content).contains("image_base64"))
        #expect(caller.requests.isEmpty)
    }

    @Test("an image_path that is not an image file, or base64 that is not an image, is refused")
    func nonImagesAreRefused() async throws {
        let caller = FakeCaller(["/api/v1/image/upscale": Self.image()])
        let notImage = try await catalogue.call("image_upscale", arguments: ["image_path": "/etc/passwd"], caller: caller)
        #expect(notImage.isError == true)
        let text = try await catalogue.call("image_upscale", arguments: ["image_base64": .string(Data("hello".utf8).base64EncodedString())], caller: caller)
        #expect(text.isError == true)
        #expect(caller.requests.isEmpty)
    }

    @Test("voice_clone uploads the sample as multipart with the model and answers the vv_ handle")
    func voiceCloneUploadsAndAnswersHandle() async throws {
        let caller = FakeCaller(["/api/v1/audio/voices": FakeCaller.json(["id": "vv_abc", "model": "tts-chatterbox-hd"])])
        let result = try await catalogue.call("voice_clone", arguments: ["audio_base64": .string(Data(Fixtures.wav).base64EncodedString()),
                                                                         "file_name": "me.wav"], caller: caller)
        #expect(result.isError == false)
        #expect(Fixtures.text(result.content).contains("voice=vv_abc"))
        let request = try #require(caller.requests.first)
        #expect(request.contentType?.hasPrefix("multipart/form-data; boundary=") == true)
        let body = String(decoding: request.body ?? [], as: UTF8.self)
        #expect(body.contains("name=\"file\"; filename=\"me.wav\"") && body.contains("tts-chatterbox-hd"))
    }

    @Test("voice_clone refuses a model that cannot clone before calling the agent")
    func voiceCloneRefusesOtherModels() async throws {
        let caller = FakeCaller(["/api/v1/audio/voices": FakeCaller.json(["id": "vv_abc", "model": "tts-kokoro"])])
        let result = try await catalogue.call("voice_clone", arguments: ["audio_base64": .string(Data(Fixtures.wav).base64EncodedString()),
                                                                         "model": "tts-kokoro"], caller: caller)
        #expect(result.isError == true)
        #expect(caller.requests.isEmpty)
    }
}
