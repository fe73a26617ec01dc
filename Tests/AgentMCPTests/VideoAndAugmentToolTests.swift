import AgentMCP
import Foundation
import MCP
import Testing

@Suite("MCP video and augment tools")
struct VideoAndAugmentToolTests {
    let catalogue = ToolCatalogue()
    static let mp4: [UInt8] = [0, 0, 0, 24] + Array("ftypisom".utf8) + [0, 0, 2, 0] + Array("isomiso2".utf8)

    @Test("the catalogue offers video_queue, video_status, video_complete, web_search, web_scrape and text_parser")
    func catalogueNamesTheTools() {
        let names = Set(catalogue.definitions.map(\.name))
        for name in ["video_queue", "video_status", "video_complete", "web_search", "web_scrape", "text_parser"] {
            #expect(names.contains(name), "missing \(name)")
        }
    }

    @Test("video_queue sends prompt, model, duration and an image_base64 as a data URL, and returns the queue_id")
    func videoQueueSendsTheJob() async throws {
        let caller = FakeCaller(["/api/v1/video/queue": FakeCaller.json(["model": "wan-2-7-image-to-video", "queue_id": "q1"])])
        let result = try await catalogue.call("video_queue", arguments: [
            "prompt": "gondolas", "model": "wan-2-7-image-to-video", "duration": "5s", "resolution": "720p",
            "image_base64": .string(Data(Fixtures.png).base64EncodedString()),
        ], caller: caller)
        #expect(result.isError == false)
        #expect(Fixtures.text(result.content).contains("queue_id q1"))
        let body = FakeCaller.body(caller.requests.first)
        #expect(body["prompt"] == "gondolas" && body["duration"] == "5s" && body["resolution"] == "720p")
        // (The SDK's `Value` decodes a data: URL string as `.data`, so the raw JSON is checked.)
        let sent = String(decoding: caller.requests.first?.body ?? [], as: UTF8.self)
        #expect(sent.contains(#""image_url":"data:image/png;base64,\#(Data(Fixtures.png).base64EncodedString())""#))
    }

    @Test("an image_url that is a data: URL (which the MCP SDK decodes as data) is sent as a data URL; one of a non-image is refused")
    func videoQueueTakesADataURL() async throws {
        let caller = FakeCaller(["/api/v1/video/queue": FakeCaller.json(["queue_id": "q2"])])
        let result = try await catalogue.call("video_queue", arguments: [
            "prompt": "p", "model": "m", "duration": "5s", "image_url": .data(mimeType: "image/png", Data(Fixtures.png)),
        ], caller: caller)
        #expect(result.isError == false)
        let sent = String(decoding: caller.requests.first?.body ?? [], as: UTF8.self)
        #expect(sent.contains(#""image_url":"data:image/png;base64,"#))
        let text = try await catalogue.call("video_queue", arguments: [
            "prompt": "p", "model": "m", "duration": "5s", "image_url": .data(mimeType: "text/plain", Data("secret".utf8)),
        ], caller: caller)
        #expect(text.isError == true && caller.requests.count == 1)
    }

    @Test("video_status answers the status while it runs and the video as an embedded video/mp4 resource when done")
    func videoStatus() async throws {
        let running = FakeCaller(["/api/v1/video/retrieve": FakeCaller.json(["status": "PROCESSING", "average_execution_time": 1500, "execution_duration": 10])])
        let status = try await catalogue.call("video_status", arguments: ["queue_id": "q1", "model": "wan-2-7-text-to-video"], caller: running)
        #expect(Fixtures.text(status.content).contains("PROCESSING"))
        let done = FakeCaller(["/api/v1/video/retrieve": { _ in AgentReply(contentType: "video/mp4", body: Self.mp4) }])
        let result = try await catalogue.call("video_status", arguments: ["queue_id": "q1", "model": "wan-2-7-text-to-video"], caller: done)
        guard case .resource(let resource, _, _)? = result.content.first else {
            Issue.record("no resource: \(result.content)")
            return
        }
        #expect(resource.mimeType == "video/mp4")
        #expect(resource.uri == "venice://video/video-q1.mp4")
        #expect(resource.blob.flatMap { Data(base64Encoded: $0) }.map([UInt8].init) == Self.mp4)
        #expect(FakeCaller.body(done.requests.first)["queue_id"] == "q1")
    }

    @Test("video_complete sends queue_id and model to /video/complete")
    func videoComplete() async throws {
        let caller = FakeCaller(["/api/v1/video/complete": FakeCaller.json(["success": true])])
        let result = try await catalogue.call("video_complete", arguments: ["queue_id": "q1", "model": "m"], caller: caller)
        #expect(result.isError == false)
        #expect(FakeCaller.body(caller.requests.first) == ["queue_id": "q1", "model": "m"])
    }

    @Test("bad image inputs are tool errors naming the argument, and nothing is sent", arguments: [
        (["image_base64": .string(Data("not an image".utf8).base64EncodedString())], "image_base64"),
        (["image_url": "file:///etc/passwd"], "image_url"),
        (["image_path": "relative.png"], "image_path"),
        (["image_path": "/etc/passwd"], "image_path"),
        (["image_url": "https://example.com/a.png", "image_base64": "AAAA"], "image_base64"),
    ] as [([String: Value], String)])
    func badImages(extra: [String: Value], name: String) async throws {
        let caller = FakeCaller([:])
        var arguments: [String: Value] = ["prompt": "p", "model": "m", "duration": "5s"]
        arguments.merge(extra) { $1 }
        let result = try await catalogue.call("video_queue", arguments: arguments, caller: caller)
        #expect(result.isError == true)
        #expect(Fixtures.text(result.content).contains("`\(name)`"), "\(Fixtures.text(result.content))")
        #expect(caller.requests.isEmpty)
    }

    @Test("inside the agent (/mcp) image_path and file_path are refused before any file is read")
    func noLocalFilesInsideTheAgent() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aug-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("a.png").path, document = folder.appendingPathComponent("a.txt").path
        _ = FileManager.default.createFile(atPath: image, contents: Data(Fixtures.png))
        _ = FileManager.default.createFile(atPath: document, contents: Data("secret".utf8))
        let caller = FakeCaller([:], localFiles: false)
        let video = try await catalogue.call("video_queue", arguments: ["prompt": "p", "model": "m", "duration": "5s", "image_path": .string(image)], caller: caller)
        #expect(video.isError == true && Fixtures.text(video.content).contains("image_base64"))
        let parse = try await catalogue.call("text_parser", arguments: ["file_path": .string(document)], caller: caller)
        #expect(parse.isError == true && Fixtures.text(parse.content).contains("document_base64"))
        #expect(caller.requests.isEmpty)
        // On stdio the same files are read and sent.
        let local = FakeCaller(["/api/v1/video/queue": FakeCaller.json(["queue_id": "q"]), "/api/v1/augment/text-parser": FakeCaller.json(["text": "secret", "tokens": 2])])
        #expect(try await catalogue.call("video_queue", arguments: ["prompt": "p", "model": "m", "duration": "5s", "image_path": .string(image)], caller: local).isError == false)
        #expect(try await catalogue.call("text_parser", arguments: ["file_path": .string(document)], caller: local).isError == false)
        let upload = String(decoding: local.requests.last?.body ?? [], as: UTF8.self)
        #expect(upload.contains("filename=\"a.txt\""))
    }

    @Test("web_search sends query, limit and provider and lists the results")
    func webSearch() async throws {
        let caller = FakeCaller(["/api/v1/augment/search": FakeCaller.json(["query": "venice", "results": [["title": "T", "url": "https://example.com", "content": "c", "date": "2026-01-01"]]])])
        let result = try await catalogue.call("web_search", arguments: ["query": "venice", "limit": 3, "search_provider": "google"], caller: caller)
        #expect(result.isError == false)
        #expect(Fixtures.text(result.content).contains("1 result(s)") && Fixtures.text(result.content).contains("https://example.com"))
        #expect(FakeCaller.body(caller.requests.first) == ["query": "venice", "limit": 3, "search_provider": "google"])
        let refused = try await catalogue.call("web_search", arguments: ["query": "venice", "limit": 50], caller: caller)
        #expect(refused.isError == true && caller.requests.count == 1)
    }

    @Test("web_scrape returns the page's markdown; a non-http URL is refused unsent")
    func webScrape() async throws {
        let caller = FakeCaller(["/api/v1/augment/scrape": FakeCaller.json(["url": "https://example.com", "content": "# Example", "format": "markdown"])])
        let result = try await catalogue.call("web_scrape", arguments: ["url": "https://example.com"], caller: caller)
        #expect(Fixtures.text(result.content) == "# Example")
        let refused = try await catalogue.call("web_scrape", arguments: ["url": "file:///etc/passwd"], caller: caller)
        #expect(refused.isError == true && caller.requests.count == 1)
    }

    @Test("text_parser uploads document_base64 as multipart with its file name and format; text format answers the text")
    func textParser() async throws {
        let caller = FakeCaller(["/api/v1/augment/text-parser": { _ in AgentReply(contentType: "text/plain; charset=utf-8", body: Array("hello".utf8)) }])
        let result = try await catalogue.call("text_parser", arguments: ["document_base64": .string(Data("hello".utf8).base64EncodedString()),
                                                                       "file_name": "a.md", "response_format": "text"], caller: caller)
        #expect(Fixtures.text(result.content) == "hello")
        let request = try #require(caller.requests.first)
        #expect(request.contentType?.hasPrefix("multipart/form-data; boundary=") == true)
        let body = String(decoding: request.body ?? [], as: UTF8.self)
        #expect(body.contains("filename=\"a.md\"") && body.contains("name=\"response_format\"\r\n\r\ntext"))
        let missing = try await catalogue.call("text_parser", arguments: [:], caller: caller)
        #expect(missing.isError == true && caller.requests.count == 1)
    }
}
