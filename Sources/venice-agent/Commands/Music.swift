import ArgumentParser
import Foundation
import WalletCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `venice-agent music PROMPT`: quote, confirm, queue, follow, save, complete (VENICE.md §7.3).
struct Music: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate music: shows Venice's quote, asks to confirm (or --yes), queues the job, follows it, saves the audio."
    )
    @OptionGroup var options: ClientOptions
    @Argument(help: "What the music should be like (at least 10 characters).") var prompt: String?
    @Option(help: "Music model.") var model = "ace-step-15"
    @Option(help: "Length in seconds (models with durations).") var duration: Int?
    @Option(help: "Lyrics (models that take them).") var lyrics: String?
    @Flag(help: "No vocals (models that support it).") var instrumental = false
    @Flag(name: .shortAndLong, help: "Do not ask before paying the quoted price.") var yes = false
    @Option(help: "Output file (default music.EXT, from the format Venice returns).") var out: String?
    @Option(help: "Give up following the job after this many seconds.") var timeout = 1800
    @Option(name: .customLong("queue-id"),
            help: "Follow and save a job queued earlier (one that outlived --timeout) instead of queueing a new one; nothing is charged again. Give the same --model.")
    var queueID: String?

    func validate() throws {
        switch (prompt, queueID) {
        case (nil, nil): throw ValidationError("give the PROMPT of a new job, or --queue-id ID to follow one queued earlier")
        case (.some, .some): throw ValidationError("give either a PROMPT (a new, paid job) or --queue-id (an existing job), not both")
        default: break
        }
        if let queueID, queueID.isEmpty || queueID.contains(where: { $0.isWhitespace }) {
            throw ValidationError("--queue-id must be the queue_id Venice returned, e.g. from the earlier timeout message")
        }
        if let duration, duration <= 0 { throw ValidationError("--duration must be a positive number of seconds") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        try await ClientCommands.run { try await MusicCommand.run(self) }
    }
}

enum MusicCommand {
    static func run(_ c: Music) async throws {
        let client = c.options.client
        let queueID: String
        var quote: Double?
        if let existing = c.queueID {
            queueID = existing
        } else {
            (queueID, quote) = try await queue(c, client: client)
        }
        let ids: JSONValue = ["model": .string(c.model), "queue_id": .string(queueID)]

        let audio = try await ProgressIndicator.run("music \(queueID.prefix(8))") { progress in
            try await follow(client: client, ids: ids, queueID: queueID, timeout: c.timeout, progress: progress)
        }
        let ext = audioExtension(audio)
        let path = c.out ?? "music.\(ext)"
        try ClientCommands.write(audio.body, to: path)
        // The media is saved; tell Venice it may delete it. A failure here loses nothing.
        let completed = try? await client.send(.POST, "/api/v1/audio/complete", json: ids, timeoutSeconds: 60)
        if completed?.status != 200 {
            KeyCommands.printError("saved \(path), but /audio/complete did not succeed; Venice deletes the media later by itself")
        }
        if c.options.json {
            var out: [(String, JSONValue)] = [("file", .string(path)), ("queue_id", .string(queueID)), ("bytes", .number(String(audio.body.count)))]
            if let quote { out.append(("quote_usd", .number(String(quote)))) }
            print(JSONValue.object(JSONObject(out)).serialized())
        } else {
            print(path)
        }
    }

    /// Quote, confirmation, then `/audio/queue`: the paid part. Returns the queue id and the quote.
    static func queue(_ c: Music, client: AgentClient) async throws -> (queueID: String, quote: Double?) {
        guard let prompt = c.prompt else { throw ValidationError("give the PROMPT of the music to queue") }
        var quoteBody: [(String, JSONValue)] = [("model", .string(c.model))]
        if let d = c.duration { quoteBody.append(("duration_seconds", .number(String(d)))) }
        // Models priced per thousand characters are quoted on the text's length (required for
        // them, optional for the others: openapi.yaml, QuoteAudioRequest.character_count).
        let characters = prompt.trimmingCharacters(in: .whitespacesAndNewlines).count
        if characters > 0 { quoteBody.append(("character_count", .number(String(characters)))) }
        let quoteResponse = try await client.call(.POST, "/api/v1/audio/quote", json: .object(JSONObject(quoteBody)), timeoutSeconds: 60)
        let quote = quoteResponse.json?["quote"]?.doubleValue
        let quoteText = quote.map(DollarFormat.usd) ?? "unknown"
        let lengthText = c.duration.map { ", \($0) s" } ?? ""
        if !c.options.json { print("quote: \(quoteText) (\(c.model)\(lengthText))") }
        if !c.yes {
            guard isatty(0) == 1, let yes = Terminal.confirm("Pay about \(quoteText) for this job?") else {
                throw AgentClientError.usage("the job costs about \(quoteText); confirm on a terminal or pass --yes")
            }
            guard yes else { throw AgentClientError.usage("cancelled; nothing was queued or charged") }
        }

        var queueBody: [(String, JSONValue)] = [("model", .string(c.model)), ("prompt", .string(prompt))]
        if let d = c.duration { queueBody.append(("duration_seconds", .number(String(d)))) }
        if let lyrics = c.lyrics { queueBody.append(("lyrics_prompt", .string(lyrics))) }
        if c.instrumental { queueBody.append(("force_instrumental", .bool(true))) }
        let queued = try await client.call(.POST, "/api/v1/audio/queue", json: .object(JSONObject(queueBody)), timeoutSeconds: 120)
        guard let queueID = queued.json?["queue_id"]?.stringValue else {
            throw AgentClientError.usage("Venice's queue answer had no queue_id: \(queued.text.prefix(200))")
        }
        return (queueID, quote)
    }

    /// Polls /audio/retrieve until audio arrives: every 2 s, sooner when the job should be done sooner.
    static func follow(client: AgentClient, ids: JSONValue, queueID: String, timeout: Int,
                       progress: ProgressIndicator) async throws -> AgentResponse {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let answer = try await client.call(.POST, "/api/v1/audio/retrieve", json: ids, timeoutSeconds: 120)
            if !answer.isJSON { return answer }
            let status = answer.json?["status"]?.stringValue ?? "?"
            let average = answer.json?["average_execution_time"]?.doubleValue ?? 0
            let elapsed = answer.json?["execution_duration"]?.doubleValue ?? 0
            await progress.update(doneMs: elapsed, totalMs: average, note: status.lowercased())
            guard ContinuousClock.now < deadline else {
                throw AgentClientError.usage("the job \(queueID) is still \(status.lowercased()) after \(timeout) s; it was charged, so follow it again later: venice-agent music --queue-id \(queueID) --model \(ids["model"]?.stringValue ?? "")")
            }
            let remaining = average - elapsed
            let wait = remaining > 0 && remaining < 2000 ? max(remaining, 250) : 2000
            try await Task.sleep(for: .milliseconds(Int64(wait)))
        }
    }

    static func audioExtension(_ audio: AgentResponse) -> String {
        if let format = audio.header("x-venice-audio-format")?.lowercased(), ["mp3", "wav", "flac"].contains(format) { return format }
        switch audio.contentType {
        case let t where t.contains("wav"): return "wav"
        case let t where t.contains("flac"): return "flac"
        default: return "mp3"
        }
    }
}
