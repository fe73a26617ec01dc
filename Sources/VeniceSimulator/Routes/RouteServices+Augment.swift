import X402Protocol
import Foundation
import Hummingbird
import WalletCrypto

/// `/augment/search`, `/augment/scrape` and `/augment/text-parser`. The simulator never reaches the
/// network: search results and scraped pages are made up, deterministically, from the request.
///
/// Price: veniceai/api-docs `api-reference/endpoint/augment/search.mdx`, `scrape.mdx` and
/// `text-parser.mdx` ("**Pricing:** $0.01 per request"), charged on success only.
/// [sim] Venice names no model or SKU for these charges; the ledger rows use the route's name
/// (`web-search`, `web-scrape`, `text-parser`) as both, one unit each.
extension RouteServices {
    static let augmentPriceMicro: Int64 = 10_000

    func registerAugment(_ api: RouterGroup<Context>) {
        /// openapi.yaml `/augment/search` (WebSearchRequest: `query` required, 1…400 characters; `limit`
        /// integer 1…20, default 10; `search_provider` `google` | `brave`, default brave; no
        /// `additionalProperties: false`, so unknown keys pass) → WebSearchResponse `{query, results:
        /// [{title, url, content, date}]}`.
        api.post("augment/search") { request, context -> Response in
            try await inference(request, context, path: "/augment/search") { caller, request in
                let body = try await StrictBody.read(request, allowed: [], rejectsUnknownKeys: false)
                guard let query = try body.string("query") else { throw SimulatorError.invalidParameters(field: "query", message: "Required") }
                guard !query.isEmpty else { throw SimulatorError.invalidParameters(field: "query", message: "String must contain at least 1 character(s)") }
                guard query.count <= 400 else { throw SimulatorError.invalidParameters(field: "query", message: "String must contain at most 400 character(s)") }
                let limit = try body.int("limit") ?? 10
                guard (1...20).contains(limit) else {
                    throw SimulatorError.invalidParameters(field: "limit", message: limit < 1 ? "Number must be greater than or equal to 1" : "Number must be less than or equal to 20")
                }
                let provider = try body.string("search_provider") ?? "brave"
                guard ["google", "brave"].contains(provider) else {
                    throw SimulatorError.invalidParameters(field: "search_provider", message: "Invalid enum value. Expected 'google' | 'brave', received '\(provider)'")
                }
                try await chargeAugment(caller, sku: "web-search")
                return .json(["query": .string(query), "results": .array(SimulatedWeb.results(query: query, provider: provider, limit: limit))])
            }
        }

        /// openapi.yaml `/augment/scrape` (WebScrapeRequest: `url` required, `format: uri`) →
        /// WebScrapeResponse `{url, content, format: "markdown"}`; api-docs `scrape.mdx`: "Some sites that
        /// block automated access (e.g. X/Twitter, Reddit) are rejected immediately with a `400` error."
        /// [sim] Only http and https URLs with a host are taken; the rejection's wording is ours.
        api.post("augment/scrape") { request, context -> Response in
            try await inference(request, context, path: "/augment/scrape") { caller, request in
                let body = try await StrictBody.read(request, allowed: [], rejectsUnknownKeys: false)
                guard let url = try body.string("url") else { throw SimulatorError.invalidParameters(field: "url", message: "Required") }
                guard let host = SimulatedWeb.host(of: url) else { throw SimulatorError.invalidParameters(field: "url", message: "Invalid url") }
                if SimulatedWeb.isBlocked(host) {
                    throw SimulatorError.standard(.badRequest, "Scraping \(host) is not supported: the site blocks automated access")
                }
                try await chargeAugment(caller, sku: "web-scrape")
                return .json(["url": .string(url), "content": .string(SimulatedWeb.page(url: url, host: host)), "format": "markdown"])
            }
        }

        /// openapi.yaml `/augment/text-parser` (multipart `file` required, at most 25MB; `response_format`
        /// `json` (default) | `text`) → `{text, tokens}` or `text/plain`; api-docs `text-parser.mdx`
        /// (documents, any `text/*`, source code). See `DocumentText` for what the simulator extracts.
        api.post("augment/text-parser") { request, context -> Response in
            try await inference(request, context, path: "/augment/text-parser") { caller, request in
                let contentType = request.headers[.contentType] ?? ""
                var request = request
                let buffer = try await request.collectBody(upTo: 36 * 1024 * 1024)
                guard contentType.lowercased().hasPrefix("multipart/form-data") else {
                    throw SimulatorError.invalidParameters(field: "file", message: "A file is required (multipart/form-data)")
                }
                let parts = try MultipartForm.parse(body: Array(buffer.readableBytesView), contentType: contentType)
                guard let file = parts.first(where: { $0.name == "file" && $0.filename != nil }) else {
                    throw SimulatorError.invalidParameters(field: "file", message: "Required")
                }
                if file.data.count > 25 * 1024 * 1024 { throw SimulatorError.payloadTooLarge("File exceeds the maximum allowed size of 25 MB.") }
                let format = parts.first { $0.name == "response_format" }.map { String(decoding: $0.data, as: UTF8.self) } ?? "json"
                guard ["json", "text"].contains(format) else {
                    throw SimulatorError.invalidParameters(field: "response_format", message: "Invalid enum value. Expected 'json' | 'text', received '\(format)'")
                }
                guard let text = DocumentText.extract(file.data, fileName: file.filename ?? "") else {
                    throw SimulatorError.standard(.badRequest, "Unsupported file type: supported are PDF, DOCX, DOC, XLSX, XLS, PPTX, PPT, EPUB, text and source code files")
                }
                try await chargeAugment(caller, sku: "text-parser")
                if format == "text" { return .bytes(Array(text.utf8), contentType: "text/plain; charset=utf-8") }
                return .json(["text": .string(text), "tokens": .number(String(text.isEmpty ? 0 : TokenEstimate.count(text)))])
            }
        }
    }

    /// $0.01 (see above): the balance is checked, then charged, like `/video/queue`.
    private func chargeAugment(_ caller: Caller, sku: String) async throws {
        if await state.balanceMicro(account: caller.account) < Self.augmentPriceMicro { throw Self.insufficientFunds }
        await state.charge(caller, requestId: await requestID("\(sku)-"),
                           items: [.init(modelId: sku, micro: Self.augmentPriceMicro, sku: sku, units: 1,
                                         pricePerUnit: Money.usd(Self.augmentPriceMicro))])
    }
}
