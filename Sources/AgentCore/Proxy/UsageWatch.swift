import NIOCore
import WalletCrypto

/// What the relay reads of a text answer, as it passes, to find its `usage`: the events of a
/// `text/event-stream` (`SSEUsageScanner`, a bounded partial line), or a JSON answer's bytes,
/// kept up to `maxJSONBody` and parsed once the body has ended (`usage` at the top). A JSON
/// answer larger than that keeps its estimate. The chunks themselves are never held back.
/// Not `Sendable`: it lives inside one response body's writer.
struct UsageWatch {
    /// The largest JSON answer read for its usage (1 MiB; a chat answer is a few KiB).
    static let maxJSONBody = 1 << 20

    private enum Mode {
        case events(SSEUsageScanner)
        case json([UInt8])
        case off
    }

    private var mode: Mode

    init(contentType: String?) {
        let type = contentType?.lowercased() ?? ""
        if type.hasPrefix("text/event-stream") {
            mode = .events(SSEUsageScanner())
        } else if type.hasPrefix("application/json") || type.isEmpty {
            mode = .json([])
        } else {
            mode = .off
        }
    }

    mutating func scan(_ chunk: ByteBuffer) {
        switch mode {
        case .events(var scanner):
            mode = .off
            scanner.scan(chunk)
            mode = .events(scanner)
        case .json(var bytes):
            mode = .off
            guard bytes.count + chunk.readableBytes <= Self.maxJSONBody else { return }
            bytes.append(contentsOf: chunk.readableBytesView)
            mode = .json(bytes)
        case .off:
            return
        }
    }

    /// The usage found, once the body has ended; nil when there was none to read.
    var usage: JSONValue? {
        switch mode {
        case .events(let scanner): scanner.usage
        case .json(let bytes): UsageSettler.usage(inBody: bytes)
        case .off: nil
        }
    }
}
