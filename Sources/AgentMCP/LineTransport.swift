public import Foundation
public import Logging
public import MCP
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// MCP over stdio, one JSON-RPC message per line, for `venice-agent mcp`.
///
/// The SDK's own stdio transport rescans everything it has buffered for a newline after each
/// 4 KiB read, so a long line (a 25 MB audio file is 33 MB of base64) costs time that grows with
/// the square of its length: a 4 MB line took minutes. This one reads 64 KiB at a time on a thread
/// of its own and looks for the newline only in the bytes just read, so a line costs time in
/// proportion to its length, and a line past `maxLine` is dropped (and answered with an error)
/// instead of held. Lines that are not JSON, or whose `id` JSON-RPC does not allow, are answered
/// here with the error JSON-RPC prescribes (`id: null`), which the SDK would not give.
public actor LineTransport: Transport {
    public nonisolated let logger: Logger
    /// The longest line read: a 25 MB upload in base64, with room for its JSON around it.
    public static let maxLine = 40 << 20

    private let input: Int32
    private let writer: LineWriter
    private let messages: AsyncThrowingStream<Data, any Swift.Error>
    private let continuation: AsyncThrowingStream<Data, any Swift.Error>.Continuation
    private var connected = false

    public init(input: Int32 = 0, output: Int32 = 1,
                logger: Logger = Logger(label: "venice-agent.mcp", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.input = input
        self.writer = LineWriter(descriptor: output)
        self.logger = logger
        (messages, continuation) = AsyncThrowingStream.makeStream(of: Data.self)
    }

    public func connect() async throws {
        guard !connected else { return }
        connected = true
        let reader = LineReader(descriptor: input, maxLine: Self.maxLine, writer: writer, continuation: continuation)
        let thread = Thread { reader.run() }
        thread.name = "venice-agent-mcp-stdin"
        thread.start()
    }

    public func disconnect() async {
        connected = false
        continuation.finish()
    }

    public func send(_ data: Data) async throws {
        try writer.write(line: [UInt8](data))
    }

    public nonisolated func receive() -> AsyncThrowingStream<Data, any Swift.Error> { messages }
}

/// Whole lines to a descriptor, one writer at a time (answers and the reader's own errors).
final class LineWriter: Sendable {
    private let descriptor: Int32
    private let lock = Mutex(())

    init(descriptor: Int32) { self.descriptor = descriptor }

    func write(line: [UInt8]) throws {
        let bytes = line + [UInt8(ascii: "\n")]
        try lock.withLock { _ in
            var sent = 0
            while sent < bytes.count {
                let count = bytes.withUnsafeBytes { buffer -> Int in
                    guard let base = buffer.baseAddress else { return 0 }
                    return Glibc.write(descriptor, base.advanced(by: sent), buffer.count - sent)
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN {
                        usleep(1000)
                        continue
                    }
                    throw MCPError.transportError(POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO))
                }
                sent += count
            }
        }
    }

    /// A JSON-RPC error answer with `id: null` (the request's id could not be read).
    func error(code: Int, message: String) {
        let text = #"{"jsonrpc":"2.0","id":null,"error":{"code":\#(code),"message":"\#(message)"}}"#
        try? write(line: Array(text.utf8))
    }
}

/// Splits the input into lines, in time proportional to its length.
final class LineReader: Sendable {
    private let descriptor: Int32
    private let maxLine: Int
    private let writer: LineWriter
    private let continuation: AsyncThrowingStream<Data, any Swift.Error>.Continuation

    init(descriptor: Int32, maxLine: Int, writer: LineWriter, continuation: AsyncThrowingStream<Data, any Swift.Error>.Continuation) {
        self.descriptor = descriptor
        self.maxLine = maxLine
        self.writer = writer
        self.continuation = continuation
    }

    func run() {
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        var line: [UInt8] = []
        var discarding = false
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer -> Int in
                guard let base = buffer.baseAddress else { return 0 }
                return Glibc.read(descriptor, base, buffer.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {
                    // The descriptor was left non-blocking by someone else: wait for input.
                    var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    _ = poll(&poller, 1, 1000)
                    continue
                }
                break
            }
            if count == 0 { break }
            var start = 0
            while start < count {
                let newline = chunk[start..<count].firstIndex(of: UInt8(ascii: "\n"))
                let end = newline ?? count
                if !discarding {
                    if line.count + (end - start) > maxLine {
                        discarding = true
                        line = []
                    } else {
                        line.append(contentsOf: chunk[start..<end])
                    }
                }
                guard newline != nil else { break }
                if discarding {
                    writer.error(code: -32600, message: "the request is longer than \(maxLine >> 20) MiB; send files of at most 25 MB")
                } else {
                    deliver(line)
                }
                line = []
                discarding = false
                start = end + 1
            }
        }
        if !line.isEmpty, !discarding { deliver(line) }
        continuation.finish()
    }

    /// Hands a line to the SDK, or answers it here when JSON-RPC says it is not a request.
    private func deliver(_ raw: [UInt8]) {
        var bytes = raw
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else { return }
        let data = Data(bytes)
        guard let message = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            writer.error(code: -32700, message: "parse error: the line is not JSON")
            return
        }
        // A request's id must be a string, a number or null (JSON-RPC 2.0 §4).
        if let object = message as? [String: Any], let id = object["id"], !(id is String || id is NSNumber || id is NSNull) {
            writer.error(code: -32600, message: "invalid request: id must be a string, a number or null")
            return
        }
        continuation.yield(data)
    }
}
