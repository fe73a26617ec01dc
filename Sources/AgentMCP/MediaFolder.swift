import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Saves media a tool returned into a folder the host named (`save_to`), so a host that works
/// with paths gets paths. Names come from the answer's id, never from the host's text.
public struct MediaFolder: Sendable {
    public let path: String

    /// A folder argument: must be absolute, and is created when missing. Only where the server
    /// may touch local files (`AgentCaller.localFiles`).
    public init(_ path: String, localFiles: Bool) throws(ToolFailure) {
        guard localFiles else {
            throw .badArgument(name: "save_to", reason: "is available only with `venice-agent mcp` on stdio; over /mcp the media comes back in the answer")
        }
        guard path.hasPrefix("/") else { throw .badArgument(name: "save_to", reason: "must be an absolute folder path") }
        self.path = path
    }

    /// Writes `bytes` as `stem.ext` (stem sanitised; `stem-2.ext`… when taken) and returns the
    /// path. An existing file is never replaced.
    public func save(_ bytes: [UInt8], stem: String, fileExtension: String) throws(ToolFailure) -> String {
        let safe = String(stem.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(80))
        let base = safe.isEmpty ? "venice" : safe
        let ext = String(fileExtension.filter { $0.isLetter || $0.isNumber }.prefix(8))
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .file("cannot create \(path): \(error.localizedDescription); pass another save_to folder")
        }
        for attempt in 1...100 {
            let name = attempt == 1 ? "\(base).\(ext)" : "\(base)-\(attempt).\(ext)"
            let file = (path as NSString).appendingPathComponent(name)
            // O_EXCL: created here or not at all, whatever (or whichever link) is already there.
            let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
            if descriptor < 0 {
                if errno == EEXIST { continue }
                throw .file("cannot save \(file): \(String(cString: strerror(errno))); pass another save_to folder")
            }
            defer { close(descriptor) }
            var written = 0
            while written < bytes.count {
                let result = bytes.withUnsafeBytes { buffer -> Int in
                    guard let base = buffer.baseAddress else { return 0 }
                    return write(descriptor, base.advanced(by: written), buffer.count - written)
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    unlink(file)
                    throw .file("cannot write \(file): \(String(cString: strerror(errno)))")
                }
                written += result
            }
            return file
        }
        throw .file("\(path) already holds \(base).\(ext) and 99 numbered copies; pass another save_to folder")
    }
}
