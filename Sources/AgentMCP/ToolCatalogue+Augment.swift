import Foundation
import MCP

/// Web search, web scrape and the text parser (openapi.yaml WebSearchRequest, WebScrapeRequest,
/// `/augment/text-parser`'s multipart body). Venice charges $0.01 per call (veniceai/api-docs
/// `api-reference/endpoint/augment/*.mdx`).
extension ToolCatalogue {
    static var augmentTools: [AgentTool] { [webSearch, webScrape, textParser] }

    /// Files `text_parser` reads from a path (stdio only): the document and text formats Venice's
    /// text-parser.mdx lists, not configuration or key files a host could be tricked into sending.
    static let documentExtensions: Set<String> = ["pdf", "docx", "doc", "xlsx", "xls", "pptx", "ppt", "epub", "txt", "md", "markdown", "csv"]

    static let webSearch = AgentTool(
        name: "web_search", title: "Web search",
        description: "Searches the web through Venice (POST /augment/search; $0.01 per call): titles, URLs, snippets and dates.",
        inputSchema: Schema.object([
            "query": Schema.string("The search query (1 to 400 characters)."),
            "limit": Schema.integer("How many results.", minimum: 1, maximum: 20, defaultValue: 10),
            "search_provider": Schema.string("brave (zero data retention) or google (anonymized).", oneOf: ["brave", "google"], defaultValue: "brave"),
        ], required: ["query"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let query = try arguments.requiredString("query")
        guard (1...400).contains(query.count) else { throw .badArgument(name: "query", reason: "must be 1 to 400 characters") }
        var body: [String: Value] = ["query": .string(query)]
        if let limit = try arguments.int("limit", in: 1...20) { body["limit"] = .int(limit) }
        if let provider = try arguments.string("search_provider") {
            guard ["brave", "google"].contains(provider) else { throw .badArgument(name: "search_provider", reason: "must be brave or google") }
            body["search_provider"] = .string(provider)
        }
        let reply = try await send(caller, .post("/api/v1/augment/search", json: body, timeoutSeconds: 60))
        let answer = try JSONCoding.object(reply)
        guard let results = answer["results"]?.arrayValue else { throw .unexpectedAnswer("no results in the answer") }
        return ToolResults.json(.object(answer), summary: "\(results.count) result(s)", warning: reply.budgetWarning)
    }

    static let webScrape = AgentTool(
        name: "web_scrape", title: "Read a web page",
        description: "Fetches a public web page through Venice and returns it as markdown (POST /augment/scrape; $0.01 per call). Some sites (X/Twitter, Reddit) are refused.",
        inputSchema: Schema.object([
            "url": Schema.string("The page's http(s) URL."),
        ], required: ["url"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let url = try arguments.requiredString("url")
        let lower = url.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else { throw .badArgument(name: "url", reason: "must be an http(s) URL") }
        let reply = try await send(caller, .post("/api/v1/augment/scrape", json: ["url": .string(url)], timeoutSeconds: 120))
        let answer = try JSONCoding.object(reply)
        guard let content = answer["content"]?.stringValue else { throw .unexpectedAnswer("no content in the answer") }
        return ToolResults.text(content, warning: reply.budgetWarning)
    }

    static let textParser = AgentTool(
        name: "text_parser", title: "Text of a document",
        description: "Extracts the text of a document (PDF, DOCX, XLSX, PPTX, EPUB, text; POST /augment/text-parser; $0.01 per call). Give `document_base64` with `file_name`, or `file_path` (stdio only).",
        inputSchema: Schema.object([
            "document_base64": Schema.string("The document itself, base64 (up to 25 MB)."),
            "file_name": Schema.string("The document's file name, for its type (with document_base64), e.g. report.pdf."),
            "file_path": Schema.string("Absolute path of a pdf, docx, doc, xlsx, xls, pptx, ppt, epub, txt, md or csv file (venice-agent mcp on stdio only)."),
            "response_format": Schema.string("json (text and token count) or text.", oneOf: ["json", "text"], defaultValue: "json"),
        ]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        let (document, fileName) = try documentUpload(arguments, localFiles: caller.localFiles)
        let format = try arguments.string("response_format") ?? "json"
        guard ["json", "text"].contains(format) else { throw .badArgument(name: "response_format", reason: "must be json or text") }
        var form = MultipartBody()
        form.addFile(name: "file", fileName: fileName, contentType: "application/octet-stream", data: document)
        form.addField(name: "response_format", value: format)
        let reply = try await send(caller, AgentRequest(.POST, "/api/v1/augment/text-parser", body: form.bytes(),
                                                        contentType: form.contentType, timeoutSeconds: 300))
        guard reply.isJSON else { return ToolResults.text(String(decoding: reply.body, as: UTF8.self), warning: reply.budgetWarning) }
        let answer = try JSONCoding.object(reply)
        guard let text = answer["text"]?.stringValue else { throw .unexpectedAnswer("no text in the answer") }
        let tokens = number(answer["tokens"]).flatMap { Int(exactly: $0.rounded()) }.map { " (\($0) tokens)" } ?? ""
        return ToolResults.json(.object(answer), summary: "extracted \(text.count) characters\(tokens)", warning: reply.budgetWarning)
    }

    /// The document's bytes and file name, from `file_path` (stdio only) or `document_base64` + `file_name`.
    static func documentUpload(_ arguments: ToolArguments, localFiles: Bool) throws(ToolFailure) -> ([UInt8], String) {
        let upload = try FileUpload.read(arguments, localFiles: localFiles, pathArgument: "file_path", base64Argument: "document_base64",
                                         extensions: documentExtensions, maxBytes: maxUploadBytes, kind: "a document", sniff: MediaType.isDocument)
        if let fileName = upload.fileName { return (upload.bytes, fileName) }
        let name = try arguments.string("file_name") ?? "document.txt"
        guard !name.contains("/"), !name.contains("\""), !name.contains("\r"), !name.contains("\n"), name.count <= 255 else {
            throw .badArgument(name: "file_name", reason: "must be a plain file name such as report.pdf")
        }
        return (upload.bytes, name)
    }
}
