import Foundation

/// A buffered multipart/form-data body split into its parts at the byte level (RFC 7578), so
/// an upload can be priced from its text fields and the size or header of its files. Nothing
/// is decoded but the part headers; a body that is not a well-formed form yields no parts.
struct MultipartForm: Sendable {
    struct Part: Sendable {
        let name: String
        let isFile: Bool
        let content: ArraySlice<UInt8>
    }

    let parts: [Part]

    /// Nil unless `contentType` is multipart/form-data with a boundary.
    init?(body: [UInt8], contentType: String?) {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundaryRange = contentType.range(of: "boundary=") else { return nil }
        var boundary = String(contentType[boundaryRange.upperBound...])
        if let semicolon = boundary.firstIndex(of: ";") { boundary = String(boundary[..<semicolon]) }
        boundary = boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        // RFC 2046 §5.1.1: a boundary is 1 to 70 characters.
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else { return nil }
        parts = Self.split(body, delimiter: Array(("--" + boundary).utf8))
    }

    /// A text field's value (nil when absent, a file, or longer than 256 bytes).
    func text(_ name: String) -> String? {
        guard let part = parts.first(where: { $0.name == name && !$0.isFile }), part.content.count <= 256 else { return nil }
        return String(decoding: part.content, as: UTF8.self)
    }

    /// The contents of the parts named `name` (files or not).
    func contents(_ name: String) -> [ArraySlice<UInt8>] { parts.filter { $0.name == name }.map(\.content) }

    static func split(_ body: [UInt8], delimiter: [UInt8]) -> [Part] {
        var starts: [Int] = []
        var i = 0
        while let found = find(delimiter, in: body, from: i) {
            starts.append(found)
            i = found + delimiter.count
        }
        var parts: [Part] = []
        for (index, start) in starts.enumerated() where index + 1 < starts.count {
            var from = start + delimiter.count
            guard from + 2 <= starts[index + 1], body[from] == 13, body[from + 1] == 10 else { continue }
            from += 2
            var end = starts[index + 1]
            if end - 2 >= from, body[end - 2] == 13, body[end - 1] == 10 { end -= 2 }
            guard let headerEnd = find([13, 10, 13, 10], in: body, from: from, before: end) else { continue }
            let headers = String(decoding: body[from..<headerEnd], as: UTF8.self)
            guard let name = parameter("name", in: headers) else { continue }
            parts.append(Part(name: name, isFile: parameter("filename", in: headers) != nil, content: body[(headerEnd + 4)..<end]))
        }
        return parts
    }

    /// `name="value"` in a Content-Disposition header (the first whole-word match).
    static func parameter(_ key: String, in headers: String) -> String? {
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            for item in line.split(separator: ";").dropFirst() {
                let pair = item.trimmingCharacters(in: .whitespaces)
                guard let equals = pair.firstIndex(of: "="), pair[..<equals].lowercased() == key else { continue }
                return String(pair[pair.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return nil
    }

    /// The first `needle` in `haystack[from..<limit]`, by Knuth–Morris–Pratt: linear time, so
    /// no body, however its bytes are arranged, makes the search quadratic.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int, before limit: Int? = nil) -> Int? {
        let end = min(limit ?? haystack.count, haystack.count)
        guard !needle.isEmpty, from >= 0, end - from >= needle.count else { return nil }
        var fallback = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in needle.indices.dropFirst() {
            while k > 0 && needle[i] != needle[k] { k = fallback[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            fallback[i] = k
        }
        var matched = 0
        for i in from..<end {
            while matched > 0 && haystack[i] != needle[matched] { matched = fallback[matched - 1] }
            if haystack[i] == needle[matched] { matched += 1 }
            if matched == needle.count { return i - needle.count + 1 }
        }
        return nil
    }
}
