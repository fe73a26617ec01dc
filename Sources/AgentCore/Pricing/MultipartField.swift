import Foundation

/// Reads a small text field (e.g. `model`) from a buffered multipart/form-data body, so
/// uploads are priced and attributed like JSON requests. Files are never decoded.
enum MultipartField {
    static func value(named name: String, in body: [UInt8], contentType: String?) -> String? {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
              let boundaryRange = contentType.range(of: "boundary=") else { return nil }
        var boundary = String(contentType[boundaryRange.upperBound...])
        if let semicolon = boundary.firstIndex(of: ";") { boundary = String(boundary[..<semicolon]) }
        boundary = boundary.trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
        guard !boundary.isEmpty else { return nil }
        let text = String(decoding: body, as: UTF8.self)
        for part in text.components(separatedBy: "--" + boundary) {
            guard let headerEnd = part.range(of: "\r\n\r\n") else { continue }
            let headers = part[..<headerEnd.lowerBound].lowercased()
            guard headers.contains("name=\"\(name.lowercased())\""), !headers.contains("filename=") else { continue }
            var value = String(part[headerEnd.upperBound...])
            if value.hasSuffix("\r\n") { value.removeLast() }  // "\r\n" is one Character
            return value.count <= 256 ? value : nil
        }
        return nil
    }
}
