import Foundation

/// Saves media a tool returned into a folder the host named (`save_to`), so a host that works
/// with paths gets paths. Names come from the answer's id, never from the host's text.
public struct MediaFolder: Sendable {
    public let path: String

    /// A folder argument: must be absolute, and is created when missing.
    public init(_ path: String) throws(ToolFailure) {
        guard path.hasPrefix("/") else { throw .badArgument(name: "save_to", reason: "must be an absolute folder path") }
        self.path = path
    }

    /// Writes `bytes` as `stem.ext` (stem sanitised) and returns the path.
    public func save(_ bytes: [UInt8], stem: String, fileExtension: String) throws(ToolFailure) -> String {
        let safe = String(stem.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.prefix(80))
        let file = (path as NSString).appendingPathComponent("\(safe.isEmpty ? "venice" : safe).\(fileExtension)")
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw .file("cannot save \(file): \(error.localizedDescription); pass another save_to folder")
        }
        return file
    }
}
