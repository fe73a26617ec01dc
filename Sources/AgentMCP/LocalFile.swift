import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a local file a host names in a tool's argument (`file_path`, `image_path`), for
/// `venice-agent mcp` on stdio only. The file goes to Venice, so only what the tool is for may
/// be read: the path must be absolute, free of NUL, end in one of the tool's extensions and
/// name a regular file itself (a link is refused, so `pw.wav -> /etc/passwd` reads nothing;
/// a FIFO or device never blocks the server), at most `maxBytes`, and its first bytes must
/// be of the kind the tool sends (`sniff`).
enum LocalFile {
    static func read(_ path: String, argument: String, extensions: Set<String>, maxBytes: Int, kind: String,
                     sniff: ([UInt8]) -> Bool) throws(ToolFailure) -> [UInt8] {
        guard path.hasPrefix("/") else { throw .badArgument(name: argument, reason: "must be an absolute path") }
        guard !path.utf8.contains(0) else { throw .badArgument(name: argument, reason: "must not contain a NUL character") }
        guard extensions.contains((path as NSString).pathExtension.lowercased()) else {
            throw .badArgument(name: argument, reason: "must name \(kind) file (\(extensions.sorted().joined(separator: ", ")))")
        }
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let why = errno == ELOOP ? "it is a symbolic link; name the file itself" : String(cString: strerror(errno))
            throw .file("cannot read \(path): \(why)")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .file("cannot read \(path): \(String(cString: strerror(errno)))") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .file("cannot read \(path): not a regular file") }
        guard status.st_size >= 0, status.st_size <= maxBytes else {
            throw .file("\(path) is larger than Venice's \(maxBytes >> 20) MB limit")
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.read(descriptor, base.advanced(by: filled), buffer.count - filled)
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        bytes.removeSubrange(filled...)
        guard !bytes.isEmpty, sniff(bytes) else { throw .file("\(path) is not \(kind) file (its content says otherwise)") }
        return bytes
    }
}

/// A file a tool uploads: from a local path (`pathArgument`, stdio only, through `LocalFile`)
/// or from base64 (`base64Argument`). Returns the bytes and, for a path, the file's name.
enum FileUpload {
    static func read(_ arguments: ToolArguments, localFiles: Bool, pathArgument: String, base64Argument: String,
                     extensions: Set<String>, maxBytes: Int, kind: String,
                     sniff: ([UInt8]) -> Bool) throws(ToolFailure) -> (bytes: [UInt8], fileName: String?) {
        if let path = try arguments.string(pathArgument) {
            // Inside the agent (`/mcp`) a client must never read the owner's files.
            guard localFiles else {
                throw .badArgument(name: pathArgument, reason: "is available only with `venice-agent mcp` on stdio; over /mcp send \(base64Argument)")
            }
            let bytes = try LocalFile.read(path, argument: pathArgument, extensions: extensions, maxBytes: maxBytes, kind: kind, sniff: sniff)
            return (bytes, (path as NSString).lastPathComponent)
        }
        guard let encoded = try arguments.string(base64Argument) else {
            throw .badArgument(name: pathArgument, reason: "or `\(base64Argument)` is required")
        }
        guard encoded.count <= (maxBytes / 3 + 1) * 4 else {
            throw .badArgument(name: base64Argument, reason: "is larger than Venice's \(maxBytes >> 20) MB limit")
        }
        guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw .badArgument(name: base64Argument, reason: "must be base64")
        }
        return ([UInt8](data), nil)
    }
}

extension MediaType {
    /// Whether `bytes` begin like an audio container Venice takes: WAV, FLAC, MP3 (ID3 or a frame
    /// sync), Ogg, MP4/M4A (`ftyp`), WebM/Matroska, or ADTS AAC.
    public static func isAudio(_ bytes: [UInt8]) -> Bool {
        func at(_ offset: Int, _ text: String) -> Bool {
            let expected = Array(text.utf8)
            return bytes.count >= offset + expected.count && Array(bytes[offset..<(offset + expected.count)]) == expected
        }
        if at(0, "RIFF") && at(8, "WAVE") { return true }
        if at(0, "fLaC") || at(0, "ID3") || at(0, "OggS") || at(4, "ftyp") { return true }
        if bytes.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return true }
        // MPEG audio frame sync (11 bits) or ADTS (12 bits).
        return bytes.count >= 2 && bytes[0] == 0xFF && (bytes[1] & 0xE0) == 0xE0
    }
}

extension MediaType {
    /// Whether `bytes` begin like a document the text parser takes: PDF, a zip container (DOCX,
    /// XLSX, PPTX, EPUB), an OLE file (DOC, XLS), or text (valid UTF-8 without NUL).
    public static func isDocument(_ bytes: [UInt8]) -> Bool {
        if bytes.starts(with: Array("%PDF".utf8)) || bytes.starts(with: [0x50, 0x4B, 0x03, 0x04])
            || bytes.starts(with: [0xD0, 0xCF, 0x11, 0xE0]) { return true }
        let head = bytes.prefix(4096)
        guard !head.contains(0) else { return false }
        // A cut multi-byte character at the end of the sample is still text.
        return (0...3).contains { String(validating: head.dropLast($0), as: UTF8.self) != nil }
    }
}
