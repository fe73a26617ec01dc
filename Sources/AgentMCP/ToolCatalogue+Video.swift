import Foundation
import MCP

/// Video jobs: queue, status, complete (openapi.yaml QueueVideoRequest, RetrieveVideoRequest,
/// CompleteVideoRequest), like the music tools. The quote is `video_quote` (ToolCatalogue+Queues).
extension ToolCatalogue {
    static var videoTools: [AgentTool] { [videoQueue, videoStatus, videoComplete] }

    // Images go up to 25 MB like uploads (Venice documents no limit for `image_url`): `maxImageBytes`
    // and `imageExtensions` are the image tools' (ToolCatalogue+ImageTools.swift).

    static let videoQueue = AgentTool(
        name: "video_queue", title: "Queue a video job",
        description: "Queues a video job (POST /video/queue; charged when queued, see video_quote) and returns its queue_id; follow it with video_status.",
        inputSchema: Schema.object([
            "prompt": Schema.string("What the video should show."),
            "model": Schema.string("The video model (models_list type=video)."),
            "duration": Schema.string("Length, e.g. 5s (options vary by model)."),
            "resolution": Schema.string("e.g. 720p (options vary by model)."),
            "aspect_ratio": Schema.string("e.g. 16:9."),
            "negative_prompt": Schema.string("What the video should not show (optional)."),
            "audio": Schema.boolean("Generate audio (models that support it)."),
            "image_url": Schema.string("Image-to-video models: the reference image as an http(s) URL or data: URL."),
            "image_base64": Schema.string("Image-to-video models: the reference image (png, jpeg or webp), base64 (instead of image_url)."),
            "image_path": Schema.string("Image-to-video models: absolute path of a png, jpeg or webp file (venice-agent mcp on stdio only)."),
        ], required: ["prompt", "model", "duration"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        var body: [String: Value] = ["prompt": .string(try arguments.requiredString("prompt")),
                                     "model": .string(try arguments.requiredString("model")),
                                     "duration": .string(try arguments.requiredString("duration"))]
        for name in ["resolution", "aspect_ratio", "negative_prompt"] { if let v = try arguments.string(name) { body[name] = .string(v) } }
        if let audio = try arguments.bool("audio") { body["audio"] = .bool(audio) }
        if let image = try imageURL(arguments, localFiles: caller.localFiles) { body["image_url"] = .string(image) }
        let reply = try await send(caller, .post("/api/v1/video/queue", json: body, timeoutSeconds: 120))
        let answer = try JSONCoding.object(reply)
        guard let id = answer["queue_id"]?.stringValue else { throw .unexpectedAnswer("no queue_id in the answer") }
        return ToolResults.json(.object(answer), summary: "queued: queue_id \(id); call video_status with it and the same model", warning: reply.budgetWarning)
    }

    static let videoStatus = AgentTool(
        name: "video_status", title: "Follow a video job",
        description: "Asks for a queued video job (POST /video/retrieve): its status while it runs, the video (embedded resource, video/mp4) when done. Then call video_complete.",
        inputSchema: Schema.object([
            "queue_id": Schema.string("The queue_id video_queue returned."),
            "model": Schema.string("The model the job was queued with."),
            "save_to": Schema.saveTo,
        ], required: ["queue_id", "model"]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let id = try arguments.requiredString("queue_id")
        let body: [String: Value] = ["queue_id": .string(id), "model": .string(try arguments.requiredString("model"))]
        let folder = try arguments.string("save_to").map { path throws(ToolFailure) in try MediaFolder(path, localFiles: caller.localFiles) }
        let reply = try await send(caller, .post("/api/v1/video/retrieve", json: body, timeoutSeconds: 300))
        if reply.isJSON {
            let answer = try JSONCoding.object(reply)
            return ToolResults.json(.object(answer), summary: "status: \(answer["status"]?.stringValue ?? "?"); ask again in a few seconds")
        }
        let mimeType = MediaType.bare(reply.contentType)
        let fileExtension = MediaType.fileExtension(mimeType)
        var content = [ToolResults.media(reply.body, mimeType: mimeType, uri: "venice://video/video-\(id.prefix(40)).\(fileExtension)")]
        if let folder {
            content.append(.text(text: "saved: \(try folder.save(reply.body, stem: "video-\(id)", fileExtension: fileExtension))", annotations: nil, _meta: nil))
        }
        content.append(.text(text: "done; call video_complete so Venice may delete its copy", annotations: nil, _meta: nil))
        return CallTool.Result(content: content, isError: false)
    }

    static let videoComplete = AgentTool(
        name: "video_complete", title: "Finish a video job",
        description: "Tells Venice the video was saved and its copy may be deleted (POST /video/complete).",
        inputSchema: Schema.object([
            "queue_id": Schema.string("The job's queue_id."),
            "model": Schema.string("The job's model."),
        ], required: ["queue_id", "model"]),
        readOnly: false, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let body: [String: Value] = ["queue_id": .string(try arguments.requiredString("queue_id")),
                                     "model": .string(try arguments.requiredString("model"))]
        let reply = try await send(caller, .post("/api/v1/video/complete", json: body, timeoutSeconds: 60))
        return ToolResults.json(JSONCoding.value(reply.body) ?? .null, summary: "completed")
    }

    /// `image_url` as given, or a `data:` URL from `image_base64` or (stdio only) `image_path`.
    static func imageURL(_ arguments: ToolArguments, localFiles: Bool) throws(ToolFailure) -> String? {
        var given: [String] = []
        for name in ["image_url", "image_base64", "image_path"] where arguments.present(name) != nil { given.append(name) }
        guard given.count <= 1 else { throw .badArgument(name: given[1], reason: "give only one of image_url, image_base64 and image_path") }
        let bytes: [UInt8]
        // The MCP SDK decodes a JSON string that is a data: URL as `.data`: such an image_url arrives as its bytes.
        if case .data(_, let data)? = arguments.present("image_url") {
            bytes = [UInt8](data)
        } else if let url = try arguments.string("image_url") {
            let lower = url.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
                throw .badArgument(name: "image_url", reason: "must be an http(s) URL or a data:image/… URL")
            }
            return url
        } else if let path = try arguments.string("image_path") {
            // Inside the agent (`/mcp`) a client must never read the owner's files.
            guard localFiles else {
                throw .badArgument(name: "image_path", reason: "is available only with `venice-agent mcp` on stdio; over /mcp send image_base64")
            }
            bytes = try LocalFile.read(path, argument: "image_path", extensions: imageExtensions, maxBytes: maxImageBytes,
                                       kind: "a PNG, JPEG or WebP image", sniff: { MediaType.image($0).hasPrefix("image/") })
        } else if let encoded = try arguments.string("image_base64") {
            guard encoded.count <= (maxImageBytes / 3 + 1) * 4 else { throw .badArgument(name: "image_base64", reason: "is larger than 25 MB") }
            guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !data.isEmpty else {
                throw .badArgument(name: "image_base64", reason: "must be base64")
            }
            bytes = [UInt8](data)
        } else {
            return nil
        }
        let type = MediaType.image(bytes)
        // Only images: a host must not be able to send any readable file to Venice.
        guard type.hasPrefix("image/") else {
            throw .badArgument(name: given.first ?? "image_base64", reason: "is not a png, jpeg or webp image")
        }
        return "data:\(type);base64,\(Data(bytes).base64EncodedString())"
    }
}
