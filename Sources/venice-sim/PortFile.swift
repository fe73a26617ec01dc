import Foundation
import Logging

/// Writes the port to a temporary file beside the target, then renames it into place.
enum PortFile {
    static func write(port: Int, to path: String, logger: Logger) {
        let temporary = path + ".tmp.\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try Data("\(port)\n".utf8).write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            logger.error("could not write the port file \(path): \(error)")
        }
    }
}
