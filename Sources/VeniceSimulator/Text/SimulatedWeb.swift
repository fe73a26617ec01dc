import Foundation
import WalletCrypto
import X402Protocol

/// Made-up web content for `/augment/search` and `/augment/scrape`: the simulator never opens a
/// connection, and the same request always gets the same answer.
/// [sim] Everything here is the simulator's own: Venice's results come from Brave or Google and
/// its pages from the site.
enum SimulatedWeb {
    /// api-docs `api-reference/endpoint/augment/scrape.mdx`: "(e.g. X/Twitter, Reddit)". [sim] These hosts and their subdomains.
    static let blockedHosts = ["x.com", "twitter.com", "reddit.com"]

    static func host(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = components.host?.lowercased(), !host.isEmpty else { return nil }
        return host
    }

    static func isBlocked(_ host: String) -> Bool {
        blockedHosts.contains { host == $0 || host.hasSuffix("." + $0) }
    }

    /// `limit` results for `query`: titles and snippets name the query, URLs are under example.com
    /// (RFC 2606, never a real site), dates step back a day per rank from 2026-01-31.
    static func results(query: String, provider: String, limit: Int) -> [JSONValue] {
        let slug = self.slug(query)
        return (1...max(1, limit)).map { rank in
            let day = String(format: "%02d", 32 - min(rank, 31))
            return ["title": .string("\(query.prefix(80)) — result \(rank)"),
                    "url": .string("https://example.com/\(provider)/\(slug)/\(rank)"),
                    "content": .string("Simulated \(provider) result \(rank) for “\(query.prefix(200))”."),
                    "date": .string("2026-01-\(day)")]
        }
    }

    /// A markdown page naming the URL.
    static func page(url: String, host: String) -> String {
        "# \(host)\n\nThis is venice-sim's page for <\(url)>. The simulator does not fetch web pages; "
            + "it answers every scrape of this URL with this same markdown.\n\n- Source: \(url)\n"
    }

    static func slug(_ text: String) -> String {
        let words = text.lowercased().split { !$0.isLetter && !$0.isNumber }.prefix(8)
        let slug = words.joined(separator: "-").filter { $0.isASCII }
        return slug.isEmpty ? "query" : String(slug.prefix(80))
    }
}

/// What `/augment/text-parser` reads from an upload.
/// [sim] Text and source code (valid UTF-8 without NUL bytes): the text itself. PDF: the literal
/// strings of its text operators (`(…) Tj`), enough for the simple PDFs tests write. Office and
/// EPUB files (zip or OLE containers): a fixed line naming the file, since the simulator has no
/// document parser. Any other binary: nil (a 400), like an unsupported format at Venice.
enum DocumentText {
    static func extract(_ data: [UInt8], fileName: String) -> String? {
        if data.starts(with: Array("%PDF-".utf8)) { return pdfText(data) }
        let zip: [UInt8] = [0x50, 0x4B, 0x03, 0x04], ole: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0]
        if data.starts(with: zip) || data.starts(with: ole) {
            return "venice-sim: text of \(fileName.prefix(120)) (\(data.count) bytes)"
        }
        guard !data.contains(0), let text = String(validating: data, as: UTF8.self) else { return nil }
        return text
    }

    /// Literal strings shown by `Tj` / `'` / `"` operators, one per line, with `\(`, `\)` and `\\` unescaped.
    static func pdfText(_ data: [UInt8]) -> String {
        var lines: [String] = []
        var index = 0
        while index < data.count {
            guard data[index] == UInt8(ascii: "(") else { index += 1; continue }
            var literal: [UInt8] = []
            var depth = 1
            index += 1
            while index < data.count, depth > 0 {
                let byte = data[index]
                if byte == UInt8(ascii: "\\"), index + 1 < data.count {
                    literal.append(data[index + 1]); index += 2; continue
                }
                if byte == UInt8(ascii: "(") { depth += 1 }
                if byte == UInt8(ascii: ")") { depth -= 1; if depth == 0 { index += 1; break } }
                literal.append(byte)
                index += 1
            }
            var next = index
            while next < data.count, data[next] == UInt8(ascii: " ") { next += 1 }
            let shows = next + 1 < data.count && data[next] == UInt8(ascii: "T") && data[next + 1] == UInt8(ascii: "j")
            if shows { lines.append(String(decoding: literal, as: UTF8.self)) }
        }
        return lines.joined(separator: "\n")
    }
}
