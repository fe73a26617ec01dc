import Foundation
import NIOHTTP1
import Testing
import VeniceSimulator
import WalletCrypto
import X402Protocol

/// openapi.yaml `/augment/search`, `/augment/scrape`, `/augment/text-parser`; prices from
/// veniceai/api-docs `api-reference/endpoint/augment/*.mdx` ("$0.01 per request").
@Suite("Augment: web search, scrape and text parser, offline and deterministic, $0.01 each")
struct AugmentTests {
    let clock = ManualWallClock(milliseconds: 1_790_000_000_000)

    func multipart(file: [UInt8], filename: String, fields: [(String, String)] = []) -> (body: [UInt8], contentType: String) {
        let boundary = "augboundary7"
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    @Test("search: `limit` results (default 10) with title, url, content, date; the same query gets the same answer; charged $0.01 each")
    func search() async throws {
        let alice = Wallet(61)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 1])) { sim async throws in
            func send(_ json: String) async throws -> Reply {
                try await call(sim, .POST, "/augment/search", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
            }
            let first = try await send(#"{"query":"canals of Venice"}"#)
            #expect(first.status == 200, "\(first.error ?? "")")
            #expect(first.json?["query"]?.stringValue == "canals of Venice")
            let results = first.json?["results"]?.arrayValue ?? []
            #expect(results.count == 10)
            for result in results {
                for field in ["title", "url", "content", "date"] { #expect(result[field]?.stringValue?.isEmpty == false, "\(field)") }
            }
            #expect(first.header("X-Balance-Remaining") == "0.990000")
            let again = try await send(#"{"query":"canals of Venice","limit":3,"search_provider":"google"}"#)
            #expect(again.json?["results"]?.arrayValue?.count == 3)
            #expect(try await send(#"{"query":"canals of Venice"}"#).json == first.json)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0.97)
        }
    }

    @Test("search validation: no query, empty, over 400 characters, limit outside 1…20, unknown provider → 400 naming the field, uncharged", arguments: [
        (#"{}"#, "query"), (#"{"query":""}"#, "query"), (#"{"query":"\#(String(repeating: "a", count: 401))"}"#, "query"),
        (#"{"query":"x","limit":0}"#, "limit"), (#"{"query":"x","limit":21}"#, "limit"), (#"{"query":"x","search_provider":"bing"}"#, "search_provider"),
    ])
    func searchValidation(json: String, field: String) async throws {
        let alice = Wallet(62)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 1])) { sim async throws in
            let reply = try await call(sim, .POST, "/augment/search", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
            #expect(reply.status == 400)
            #expect(reply.json?["details"]?[field]?["_errors"]?.arrayValue?.isEmpty == false, "\(json)")
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 1)
        }
    }

    @Test("scrape: a page as markdown naming the URL, without the network; X/Twitter and Reddit and non-http URLs → 400 uncharged")
    func scrape() async throws {
        let alice = Wallet(63)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 1])) { sim async throws in
            func send(_ json: String) async throws -> Reply {
                try await call(sim, .POST, "/augment/scrape", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: json)
            }
            let page = try await send(#"{"url":"https://venice.invalid/about"}"#)
            #expect(page.status == 200, "\(page.error ?? "")")
            #expect(page.json?["url"]?.stringValue == "https://venice.invalid/about")
            #expect(page.json?["format"]?.stringValue == "markdown")
            #expect(page.json?["content"]?.stringValue?.contains("https://venice.invalid/about") == true)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0.99)
            for url in ["https://x.com/venice", "https://www.reddit.com/r/x", "ftp://example.com/", "not a url"] {
                #expect(try await send(#"{"url":"\#(url)"}"#).status == 400, "\(url)")
            }
            #expect(try await send(#"{}"#).status == 400)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0.99)
        }
    }

    @Test("text parser: a text file's text and token count (json) or the text alone (text); PDF text operators read; binary junk, JSON body, bad response_format → 400 uncharged")
    func textParser() async throws {
        let alice = Wallet(64)
        let signIn = SignIn(clock: clock)
        try await withRunningSimulator(configuration: testConfiguration(clock: clock, funds: [alice.lower: 1])) { sim async throws in
            func send(_ form: (body: [UInt8], contentType: String)) async throws -> Reply {
                try await call(sim, .POST, "/augment/text-parser", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))],
                               body: form.body, contentType: form.contentType)
            }
            let text = "Venice was founded in 421.\nIt has 118 islands."
            let json = try await send(multipart(file: Array(text.utf8), filename: "notes.txt"))
            #expect(json.status == 200, "\(json.error ?? "")")
            #expect(json.json?["text"]?.stringValue == text)
            #expect(json.json?["tokens"]?.doubleValue == Double((text.utf8.count + 3) / 4))
            let plain = try await send(multipart(file: Array(text.utf8), filename: "notes.md", fields: [("response_format", "text")]))
            #expect(plain.header("Content-Type")?.hasPrefix("text/plain") == true)
            #expect(String(decoding: plain.body, as: UTF8.self) == text)
            let pdf = "%PDF-1.4\n1 0 obj << >> stream\nBT /F1 12 Tf (Hello \\(Venice\\)) Tj ET\nendstream endobj\n%%EOF\n"
            #expect(try await send(multipart(file: Array(pdf.utf8), filename: "a.pdf")).json?["text"]?.stringValue == "Hello (Venice)")
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0.97)
            #expect(try await send(multipart(file: [0x00, 0xFF, 0x10, 0x00], filename: "blob.bin")).status == 400)
            #expect(try await send(multipart(file: Array(text.utf8), filename: "a.txt", fields: [("response_format", "xml")])).status == 400)
            let jsonBody = try await call(sim, .POST, "/augment/text-parser", headers: [("SIGN-IN-WITH-X", try signIn.header(alice))], json: #"{"file":"x"}"#)
            #expect(jsonBody.status == 400)
            #expect(await sim.state.balanceUSD(wallet: alice.lower) == 0.97)
        }
    }

    @Test("no credentials → 402 x402 discovery on each augment route")
    func discovery() async throws {
        try await withRunningSimulator(configuration: testConfiguration(clock: clock)) { sim async throws in
            for path in ["/augment/search", "/augment/scrape"] {
                let reply = try await call(sim, .POST, path, json: #"{"query":"x","url":"https://example.com"}"#)
                #expect(reply.status == 402)
                #expect(reply.json?["x402Version"] != nil)
            }
        }
    }
}
