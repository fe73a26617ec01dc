import Foundation
import MCP

/// Music: quote, queue, status, complete (openapi.yaml QuoteAudioRequest, QueueAudioRequest,
/// RetrieveAudioRequest, CompleteAudioRequest); video: quote (QuoteVideoRequest). Video queue,
/// status and complete: ToolCatalogue+Video.
extension ToolCatalogue {
    static var queueTools: [AgentTool] { [musicQuote, musicQueue, musicStatus, musicComplete, videoQuote] }

    static let musicQuote = AgentTool(
        name: "music_quote", title: "Price of a music job",
        description: "Venice's price quote for a music job (POST /audio/quote), before queueing it.",
        inputSchema: Schema.object([
            "model": Schema.string("The music model (models_list type=music).", defaultValue: "ace-step-15"),
            "duration_seconds": Schema.integer("Length in seconds (models with durations).", minimum: 1),
            "character_count": Schema.integer("Length of the text (models priced per character).", minimum: 0),
        ]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        var body: [String: Value] = ["model": .string(try arguments.string("model") ?? "ace-step-15")]
        if let d = try arguments.int("duration_seconds", in: 1...3600) { body["duration_seconds"] = .int(d) }
        if let c = try arguments.int("character_count", in: 0...1_000_000) { body["character_count"] = .int(c) }
        let answer = try JSONCoding.object(try await send(caller, .post("/api/v1/audio/quote", json: body, timeoutSeconds: 60)))
        guard let quote = number(answer["quote"]) else { throw .unexpectedAnswer("no quote in the answer") }
        return ToolResults.json(.object(answer), summary: "quote: \(usdText(quote))")
    }

    static let musicQueue = AgentTool(
        name: "music_queue", title: "Queue a music job",
        description: "Queues a music job (POST /audio/queue; charged when queued) and returns its queue_id; follow it with music_status.",
        inputSchema: Schema.object([
            "prompt": Schema.string("What the music should be like (at least 10 characters)."),
            "model": Schema.string("The music model.", defaultValue: "ace-step-15"),
            "duration_seconds": Schema.integer("Length in seconds (models with durations).", minimum: 1),
            "lyrics_prompt": Schema.string("Lyrics (models that take them)."),
            "force_instrumental": Schema.boolean("No vocals (models that support it)."),
        ], required: ["prompt"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        var body: [String: Value] = ["prompt": .string(try arguments.requiredString("prompt")),
                                     "model": .string(try arguments.string("model") ?? "ace-step-15")]
        if let d = try arguments.int("duration_seconds", in: 1...3600) { body["duration_seconds"] = .int(d) }
        if let lyrics = try arguments.string("lyrics_prompt") { body["lyrics_prompt"] = .string(lyrics) }
        if let instrumental = try arguments.bool("force_instrumental") { body["force_instrumental"] = .bool(instrumental) }
        let reply = try await send(caller, .post("/api/v1/audio/queue", json: body, timeoutSeconds: 120))
        let answer = try JSONCoding.object(reply)
        guard let id = answer["queue_id"]?.stringValue else { throw .unexpectedAnswer("no queue_id in the answer") }
        return ToolResults.json(.object(answer), summary: "queued: queue_id \(id); call music_status with it and the same model", warning: reply.budgetWarning)
    }

    static let musicStatus = AgentTool(
        name: "music_status", title: "Follow a music job",
        description: "Asks for a queued music job (POST /audio/retrieve): its status while it runs, the audio (embedded resource) when done. Then call music_complete.",
        inputSchema: Schema.object([
            "queue_id": Schema.string("The queue_id music_queue returned."),
            "model": Schema.string("The model the job was queued with.", defaultValue: "ace-step-15"),
            "save_to": Schema.saveTo,
        ], required: ["queue_id"]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let id = try arguments.requiredString("queue_id")
        let body: [String: Value] = ["queue_id": .string(id), "model": .string(try arguments.string("model") ?? "ace-step-15")]
        let folder = try arguments.string("save_to").map { path throws(ToolFailure) in try MediaFolder(path, localFiles: caller.localFiles) }
        let reply = try await send(caller, .post("/api/v1/audio/retrieve", json: body, timeoutSeconds: 120))
        if reply.isJSON {
            let answer = try JSONCoding.object(reply)
            return ToolResults.json(.object(answer), summary: "status: \(answer["status"]?.stringValue ?? "?"); ask again in a few seconds")
        }
        let mimeType = MediaType.bare(reply.contentType)
        let fileExtension = MediaType.fileExtension(mimeType)
        var content = [ToolResults.media(reply.body, mimeType: mimeType, uri: "venice://audio/music-\(id.prefix(40)).\(fileExtension)")]
        if let folder {
            content.append(.text(text: "saved: \(try folder.save(reply.body, stem: "music-\(id)", fileExtension: fileExtension))", annotations: nil, _meta: nil))
        }
        content.append(.text(text: "done; call music_complete so Venice may delete its copy", annotations: nil, _meta: nil))
        return CallTool.Result(content: content, isError: false)
    }

    static let musicComplete = AgentTool(
        name: "music_complete", title: "Finish a music job",
        description: "Tells Venice the music was saved and its copy may be deleted (POST /audio/complete).",
        inputSchema: Schema.object([
            "queue_id": Schema.string("The job's queue_id."),
            "model": Schema.string("The job's model.", defaultValue: "ace-step-15"),
        ], required: ["queue_id"]),
        readOnly: false, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let body: [String: Value] = ["queue_id": .string(try arguments.requiredString("queue_id")),
                                     "model": .string(try arguments.string("model") ?? "ace-step-15")]
        let reply = try await send(caller, .post("/api/v1/audio/complete", json: body, timeoutSeconds: 60))
        return ToolResults.json(JSONCoding.value(reply.body) ?? .null, summary: "completed")
    }

    static let videoQuote = AgentTool(
        name: "video_quote", title: "Price of a video job",
        description: "Venice's price quote for a video job (POST /video/quote).",
        inputSchema: Schema.object([
            "model": Schema.string("The video model (models_list type=video)."),
            "duration": Schema.string("Length, e.g. 5s (options vary by model)."),
            "resolution": Schema.string("e.g. 720p (options vary by model)."),
            "aspect_ratio": Schema.string("e.g. 16:9."),
        ], required: ["model", "duration"]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        var body: [String: Value] = ["model": .string(try arguments.requiredString("model")),
                                     "duration": .string(try arguments.requiredString("duration"))]
        for name in ["resolution", "aspect_ratio"] { if let v = try arguments.string(name) { body[name] = .string(v) } }
        let answer = try JSONCoding.object(try await send(caller, .post("/api/v1/video/quote", json: body, timeoutSeconds: 60)))
        guard let quote = number(answer["quote"]) else { throw .unexpectedAnswer("no quote in the answer") }
        return ToolResults.json(.object(answer), summary: "quote: \(usdText(quote))")
    }
}
