import NIOCore
import WalletCrypto

/// Watches a relayed `text/event-stream` for the `usage` Venice sends on its last chunk, while
/// the chunks themselves go to the client untouched (the scanner only reads them). Memory is
/// bounded: only a partial line is carried from one chunk to the next, at most `maxLine`
/// bytes; a longer line is skipped to its end (a usage event is small). Only `data:` lines
/// that contain `"usage"` are parsed. Hostile input — malformed JSON, a usage object in every
/// chunk, none at all — never traps: the last usable usage wins, and none leaves `usage` nil.
///
/// Shapes: `/chat/completions` chunks carry `usage` at the top (`stream_options.include_usage`,
/// veniceai/api-docs `api-reference/endpoint/chat/completions.mdx`); a `/responses` stream's
/// `response.completed` event carries it under `response` (OpenAI's Responses streaming, which
/// Venice's `/responses` follows — an assumption, the simulator does not stream it).
/// Not `Sendable`: it lives inside one response body's writer.
struct SSEUsageScanner {
    /// The longest line carried over between chunks (64 KiB).
    static let maxLine = 64 << 10

    /// The last usable usage seen so far.
    private(set) var usage: JSONValue?
    private var partial: [UInt8] = []
    /// The current line outgrew `maxLine`: its bytes are dropped until its end.
    private var skipping = false

    init() {}

    mutating func scan(_ chunk: ByteBuffer) {
        chunk.withUnsafeReadableBytes { bytes in
            var start = 0
            while start < bytes.count {
                guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                    carry(bytes[start...])
                    return
                }
                if skipping {
                    skipping = false
                } else if partial.isEmpty {
                    record(Self.usage(inLine: UnsafeRawBufferPointer(rebasing: bytes[start..<newline])))
                } else {
                    carry(bytes[start..<newline])
                    if !skipping { record(partial.withUnsafeBytes { Self.usage(inLine: $0) }) }
                    skipping = false
                }
                partial.removeAll(keepingCapacity: partial.count <= 4096)
                start = newline + 1
            }
        }
    }

    private mutating func carry(_ bytes: Slice<UnsafeRawBufferPointer>) {
        guard !skipping else { return }
        if partial.count + bytes.count > Self.maxLine {
            partial.removeAll()
            skipping = true
        } else {
            partial.append(contentsOf: bytes)
        }
    }

    private static let dataPrefix = Array("data:".utf8)
    private static let usageKey = Array("\"usage\"".utf8)

    private mutating func record(_ found: JSONValue?) {
        if let found { usage = found }
    }

    /// The usage object of one SSE line, nil unless it is a `data:` line whose JSON has one.
    static func usage(inLine raw: UnsafeRawBufferPointer) -> JSONValue? {
        var bytes = raw[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        guard bytes.starts(with: dataPrefix) else { return nil }
        let payload = bytes.dropFirst(dataPrefix.count)
        // Chunks often say `"usage": null`: only an object is worth parsing the line for.
        guard hasUsageObject(payload), let event = try? JSONValue(parsing: payload) else { return nil }
        for candidate in [event["usage"], event["response"]?["usage"]] {
            if let candidate, candidate.objectValue != nil { return candidate }
        }
        return nil
    }

    /// Whether `"usage"`, then optional blanks, `:`, optional blanks and `{` occur in `bytes`.
    private static func hasUsageObject(_ bytes: Slice<UnsafeRawBufferPointer>) -> Bool {
        let needle = usageKey
        guard bytes.count > needle.count else { return false }
        var index = bytes.startIndex
        let last = bytes.endIndex - needle.count
        while index <= last {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) {
                var next = index + needle.count
                var colon = false
                while next < bytes.endIndex {
                    let byte = bytes[next]
                    if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                        next += 1
                    } else if byte == UInt8(ascii: ":"), !colon {
                        colon = true
                        next += 1
                    } else {
                        if colon, byte == UInt8(ascii: "{") { return true }
                        break
                    }
                }
            }
            index += 1
        }
        return false
    }
}
