import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

@Suite("Text: chat completions, streaming, embeddings, responses (swagger.yaml /chat/completions, /embeddings, /responses)")
struct TextTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)
    let alice = Wallet(61)
    var signIn: SignIn { SignIn(clock: clock) }
    let bearer = [("Authorization", "Bearer inference-key")]
    /// $6 input and $30 output per 1M tokens: whole micro-dollars per token, so expected charges are exact.
    let model = "claude-opus-4-5"

    /// Tokens as the simulator counts them: UTF-8 bytes / 4 rounded up, at least 1.
    func tokens(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    func wallet(_ sim: RunningSimulator, _ path: String, _ json: String) async throws -> Reply {
        try await call(sim, .POST, path, headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
    }

    /// The SSE events of a body: the payload of each `data: ` line.
    func events(_ reply: Reply) -> [String] {
        String(decoding: reply.body, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }.map {
            $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : "NOT-DATA: " + $0
        }
    }

    @Test("chat: OpenAI-shaped answer with a chatcmpl id, deterministic text, usage; one CHARGE row under that id at the usage-based price")
    func chatAnswerAndCharge() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let body = #"{"model":"\#(model)","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Why is the sky blue?"}]}"#
            let reply = try await wallet(sim, "/chat/completions", body)
            #expect(reply.status == 200, "\(reply.json?.serialized() ?? "")")
            let json = try #require(reply.json)
            let id = try #require(json["id"]?.stringValue)
            #expect(id.hasPrefix("chatcmpl-"))
            #expect(json["object"]?.stringValue == "chat.completion")
            #expect(json["model"]?.stringValue == model)
            let choice = try #require(json["choices"]?.arrayValue?.first)
            #expect(choice["message"]?["role"]?.stringValue == "assistant")
            #expect(choice["finish_reason"]?.stringValue == "stop")
            let content = try #require(choice["message"]?["content"]?.stringValue)
            #expect(!content.isEmpty)
            let promptTokens = tokens("Be brief.") + tokens("Why is the sky blue?")
            let completionTokens = tokens(content)
            #expect(json["usage"]?["prompt_tokens"]?.intValue == promptTokens)
            #expect(json["usage"]?["completion_tokens"]?.intValue == completionTokens)
            #expect(json["usage"]?["total_tokens"]?.intValue == promptTokens + completionTokens)
            let expectedMicro = Int64(promptTokens * 6 + completionTokens * 30)
            let charges = await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }
            #expect(charges.count == 1)
            #expect(charges.first?.requestId == id)
            #expect(charges.first?.requestId != reply.header("CF-RAY"))
            #expect(charges.first?.modelId == model)
            #expect(charges.first?.amountMicro == -expectedMicro)
            #expect(reply.header("X-Balance-Remaining") == Money.text(5_000_000 - expectedMicro, decimals: 6))
            let usageRow = await sim.state.usage(account: alice.lower).last
            #expect(usageRow?.requestId == id)
            #expect(usageRow?.promptTokens == promptTokens)
            #expect(usageRow?.completionTokens == completionTokens)
            // Same prompt, same text.
            let again = try await wallet(sim, "/chat/completions", body)
            #expect(again.json?["choices"]?[0]?["message"]?["content"] == choice["message"]?["content"])
            #expect(again.json?["id"] != json["id"])
        }
    }

    @Test("streaming chat: text/event-stream chunks with one id, the same text as the plain answer, usage on the last chunk, then [DONE]")
    func streamingChat() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let messages = #""messages":[{"role":"user","content":[{"type":"text","text":"Tell me about owls"}]}]"#
            let plain = try await wallet(sim, "/chat/completions", #"{"model":"\#(model)",\#(messages)}"#)
            let reply = try await wallet(sim, "/chat/completions", #"{"model":"\#(model)",\#(messages),"stream":true}"#)
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            let payloads = events(reply)
            #expect(payloads.last == "[DONE]")
            let chunks = try payloads.dropLast().map { try JSONValue(parsing: $0) }
            #expect(chunks.count >= 3)
            #expect(chunks.allSatisfy { $0["object"]?.stringValue == "chat.completion.chunk" })
            let id = try #require(chunks.first?["id"]?.stringValue)
            #expect(id.hasPrefix("chatcmpl-"))
            #expect(chunks.allSatisfy { $0["id"]?.stringValue == id })
            #expect(chunks.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
            let text = chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == plain.json?["choices"]?[0]?["message"]?["content"]?.stringValue)
            let last = try #require(chunks.last)
            #expect(last["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
            #expect(chunks.dropLast().allSatisfy { $0["usage"] == nil })
            #expect(last["usage"]?["prompt_tokens"]?.intValue == tokens("Tell me about owls"))
            #expect(last["usage"]?["completion_tokens"]?.intValue == tokens(text))
            #expect(last["usage"]?["total_tokens"]?.intValue == tokens("Tell me about owls") + tokens(text))
            let charges = await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }
            #expect(charges.last?.requestId == id)
            #expect(charges.last?.amountMicro == charges.first?.amountMicro)
            // include_usage false: no usage in the stream.
            let quiet = try await wallet(sim, "/chat/completions",
                                         #"{"model":"\#(model)",\#(messages),"stream":true,"stream_options":{"include_usage":false}}"#)
            let quietChunks = try events(quiet).dropLast().map { try JSONValue(parsing: $0) }
            #expect(!quietChunks.isEmpty)
            #expect(quietChunks.allSatisfy { $0["usage"] == nil }, "\(quietChunks.map { $0.serialized() })")
        }
    }

    @Test("embeddings: one unit vector per input, deterministic, base64 = the same float32 values little-endian; usage; charged by input tokens")
    func embeddings() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let floats = try await call(sim, .POST, "/embeddings", headers: bearer,
                                        json: #"{"model":"text-embedding-bge-m3","input":["hello world","bye"],"dimensions":8}"#)
            #expect(floats.status == 200, "\(floats.json?.serialized() ?? "")")
            #expect(floats.json?["object"]?.stringValue == "list")
            #expect(floats.json?["model"]?.stringValue == "text-embedding-bge-m3")
            let rows = try #require(floats.json?["data"]?.arrayValue)
            #expect(rows.count == 2)
            #expect(rows.map { $0["index"]?.intValue } == [0, 1])
            #expect(rows.allSatisfy { $0["object"]?.stringValue == "embedding" })
            let vectors = rows.map { $0["embedding"]?.arrayValue?.compactMap(\.doubleValue) ?? [] }
            #expect(vectors.map(\.count) == [8, 8])
            for vector in vectors { #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-4) }
            #expect(vectors[0] != vectors[1])
            #expect(floats.json?["usage"]?["prompt_tokens"]?.intValue == tokens("hello world") + tokens("bye"))
            #expect(floats.json?["usage"]?["total_tokens"]?.intValue == tokens("hello world") + tokens("bye"))
            #expect(await sim.state.usage().last?.modelId == "text-embedding-bge-m3")
            #expect((await sim.state.usage().last?.amountMicro ?? 0) < 0)
            let history = try await call(sim, .GET, "/billing/usage-history?pageSize=10", headers: [("Authorization", "Bearer admin-key")])
            let details = history.json?["data"]?[0]?["inferenceDetails"]
            #expect(details?["promptTokens"]?.intValue == tokens("hello world") + tokens("bye"), "\(history.json?.serialized() ?? "")")
            #expect(details?["completionTokens"]?.intValue == 0)

            let base64 = try await call(sim, .POST, "/embeddings", headers: bearer,
                                        json: #"{"model":"text-embedding-bge-m3","input":"hello world","dimensions":8,"encoding_format":"base64"}"#)
            #expect(base64.status == 200)
            let encoded = try #require(base64.json?["data"]?[0]?["embedding"]?.stringValue)
            let bytes = Array(try #require(Data(base64Encoded: encoded)))
            #expect(bytes.count == 32)
            let decoded = stride(from: 0, to: bytes.count, by: 4).map { offset in
                Float(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
            }
            #expect(decoded == vectors[0].map { Float($0) })

            let defaulted = try await call(sim, .POST, "/embeddings", headers: bearer, json: #"{"model":"text-embedding-bge-m3","input":"x"}"#)
            #expect(defaulted.json?["data"]?[0]?["embedding"]?.arrayValue?.count == 1024)
        }
    }

    @Test("responses: resp_ id, one assistant message with output_text, usage with input/output/total tokens, charged under the resp_ id")
    func responses() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 5])) { sim async throws in
            let reply = try await wallet(sim, "/responses",
                                         #"{"model":"\#(model)","instructions":"Be kind.","input":[{"role":"user","content":[{"type":"input_text","text":"Tell me a story"}]}]}"#)
            #expect(reply.status == 200, "\(reply.json?.serialized() ?? "")")
            let json = try #require(reply.json)
            let id = try #require(json["id"]?.stringValue)
            #expect(id.hasPrefix("resp_"))
            #expect(json["object"]?.stringValue == "response")
            #expect(json["status"]?.stringValue == "completed")
            let message = try #require(json["output"]?[0])
            #expect(message["type"]?.stringValue == "message")
            #expect(message["role"]?.stringValue == "assistant")
            #expect(message["content"]?[0]?["type"]?.stringValue == "output_text")
            let text = try #require(message["content"]?[0]?["text"]?.stringValue)
            let input = tokens("Be kind.") + tokens("Tell me a story")
            #expect(json["usage"]?["input_tokens"]?.intValue == input)
            #expect(json["usage"]?["output_tokens"]?.intValue == tokens(text))
            #expect(json["usage"]?["total_tokens"]?.intValue == input + tokens(text))
            let charge = await sim.state.transactions(wallet: alice.lower).last
            #expect(charge?.kind == .charge)
            #expect(charge?.requestId == id)
            #expect(charge?.amountMicro == -Int64(input * 6 + tokens(text) * 30))
            let plain = try await wallet(sim, "/responses", #"{"model":"\#(model)","input":"Tell me a story"}"#)
            #expect(plain.status == 200)
            #expect(plain.json?["usage"]?["input_tokens"]?.intValue == tokens("Tell me a story"))
        }
    }

    @Test("max_tokens, max_completion_tokens and max_output_tokens cap the generated tokens (finish_reason length); max_tokens 0 is ignored")
    func tokenCaps() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let messages = #""messages":[{"role":"user","content":"Write a long poem"}]"#
            func chat(_ extra: String) async throws -> Reply {
                try await call(sim, .POST, "/chat/completions", headers: bearer, json: #"{"model":"\#(model)",\#(messages)\#(extra)}"#)
            }
            let capped = try await chat(#","max_tokens":3"#)
            #expect(capped.json?["usage"]?["completion_tokens"]?.intValue == 3)
            #expect(capped.json?["choices"]?[0]?["finish_reason"]?.stringValue == "length")
            let content = capped.json?["choices"]?[0]?["message"]?["content"]?.stringValue ?? ""
            #expect(tokens(content) == 3)
            #expect(try await chat(#","max_completion_tokens":2,"max_tokens":9"#).json?["usage"]?["completion_tokens"]?.intValue == 2)
            let uncapped = try await chat(#","max_tokens":0"#)
            #expect((uncapped.json?["usage"]?["completion_tokens"]?.intValue ?? 0) >= 12)
            #expect(uncapped.json?["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
            let streamed = try await chat(#","max_tokens":4,"stream":true"#)
            let last = try JSONValue(parsing: events(streamed).dropLast().last ?? "")
            #expect(last["usage"]?["completion_tokens"]?.intValue == 4)
            #expect(last["choices"]?[0]?["finish_reason"]?.stringValue == "length")
            let response = try await call(sim, .POST, "/responses", headers: bearer,
                                          json: #"{"model":"\#(model)","input":"Write a long poem","max_output_tokens":4}"#)
            #expect(response.json?["usage"]?["output_tokens"]?.intValue == 4)
        }
    }

    @Test("bad bodies answer 400 naming the field, unknown models 404 MODEL_NOT_FOUND's text, over-long requests the context error; none is charged",
          arguments: [
            ("/chat/completions", #"{"model":"claude-opus-4-5"}"#, 400, "messages"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[]}"#, 400, "messages"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":"hi"}"#, 400, "messages"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"wizard","content":"hi"}]}"#, 400, "messages"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":7}]}"#, 400, "messages"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":0}"#, 400, "max_completion_tokens"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"max_tokens":1e40}"#, 400, "max_tokens"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}"#, 400, "max_tokens"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"temperature":3}"#, 400, "temperature"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#, 400, "stream"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"bogus":1}"#, 400, "Unrecognized key(s) in object: 'bogus'"),
            ("/chat/completions", #"{"messages":[{"role":"user","content":"hi"}]}"#, 400, "model is required"),
            ("/chat/completions", #"{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}"#, 404, "Specified model not found: no-such-model"),
            ("/chat/completions", #"{"model":"text-embedding-bge-m3","messages":[{"role":"user","content":"hi"}]}"#, 400, "does not support this endpoint"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"max_tokens":99999999}"#, 400, "context_length_exceeded"),
            ("/chat/completions", #"{"model":"claude-opus-4-5","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":9223372036854775807}"#, 400, "context_length_exceeded"),
            ("/responses", #"{"model":"claude-opus-4-5","input":"hi","max_output_tokens":9223372036854775807}"#, 400, "context_length_exceeded"),
            ("/embeddings", #"{"model":"text-embedding-bge-m3","input":"hi","dimensions":9223372036854775807}"#, 400, "dimensions"),
            ("/embeddings", #"{"model":"text-embedding-bge-m3"}"#, 400, "input"),
            ("/embeddings", #"{"model":"text-embedding-bge-m3","input":["ok",""]}"#, 400, "input"),
            ("/embeddings", #"{"model":"text-embedding-bge-m3","input":"hi","encoding_format":"hex"}"#, 400, "encoding_format"),
            ("/embeddings", #"{"model":"text-embedding-bge-m3","input":"hi","dimensions":0}"#, 400, "dimensions"),
            ("/embeddings", #"{"model":"claude-opus-4-5","input":"hi"}"#, 400, "does not support this endpoint"),
            ("/embeddings", #"{"model":"text-embedding-bge-m3","dimensions":4096,"input":["# + Array(repeating: "\"a\"", count: 600).joined(separator: ",") + "]}",
             400, "input"),
            ("/responses", #"{"model":"claude-opus-4-5"}"#, 400, "input"),
            ("/responses", #"{"model":"claude-opus-4-5","input":"hi","max_output_tokens":-1}"#, 400, "max_output_tokens"),
            ("/responses", #"{"model":"claude-opus-4-5","input":[3]}"#, 400, "input"),
          ])
    func badBodies(path: String, json: String, status: Int, names: String) async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            let reply = try await call(sim, .POST, path, headers: bearer, json: json)
            #expect(reply.status == status, "\(reply.json?.serialized() ?? "")")
            let field = reply.json?["issues"]?[0]?["path"]?[0]?.stringValue
            let text = reply.json?.serialized() ?? ""
            if let field {
                #expect(field == names, "\(text)")
            } else {
                #expect(text.contains(names), "\(text)")
            }
            #expect(await sim.state.usage().isEmpty)
        }
    }

    @Test("a PRIVATE_TEXT key gets 403 on an anonymized text model and 200 on a private one, with nothing charged for the 403")
    func keyPrivacy() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            await sim.state.addKey(secret: "private-text", type: .inference, modelPrivacy: "PRIVATE_TEXT")
            let auth = [("Authorization", "Bearer private-text")]
            let messages = #""messages":[{"role":"user","content":"hi"}]"#
            let refused = try await call(sim, .POST, "/chat/completions", headers: auth, json: #"{"model":"\#(model)",\#(messages)}"#)
            #expect(refused.status == 403)
            #expect(refused.error?.contains("PRIVATE_TEXT") == true)
            #expect(await sim.state.usage().isEmpty)
            let served = try await call(sim, .POST, "/chat/completions", headers: auth, json: #"{"model":"llama-3.3-70b",\#(messages)}"#)
            #expect(served.status == 200)
            #expect(await sim.state.usage().count == 1)
        }
    }

    @Test("a wallet under $0.10 gets the same 402 on text routes as on image routes and is not charged")
    func walletAdmission() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 0.05])) { sim async throws in
            let reply = try await wallet(sim, "/chat/completions", #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(reply.status == 402)
            #expect(await sim.state.transactions(wallet: alice.lower).filter { $0.kind == .charge }.isEmpty)
        }
    }
}

extension JSONValue {
    /// An array element, nil when out of range or not an array (tests only).
    subscript(index: Int) -> JSONValue? {
        guard let items = arrayValue, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
