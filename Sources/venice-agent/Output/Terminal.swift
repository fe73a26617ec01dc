#if canImport(Glibc)
import Glibc
#endif

/// Where progress goes (standard error, only on a terminal) and the yes/no question.
enum Terminal {
    static var stderrIsTTY: Bool { isatty(2) == 1 }

    static func writeStderr(_ text: String) {
        var s = text
        s.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }

    /// Asks on the controlling terminal; nil when there is none.
    static func confirm(_ question: String) -> Bool? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let prompt = question + " [y/N] "
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        var answer = [UInt8]()
        while answer.count < 64 {
            var c: UInt8 = 0
            let n = read(fd, &c, 1)
            if n <= 0 || c == 0x0a { break }
            answer.append(c)
        }
        let text = String(decoding: answer, as: UTF8.self).lowercased()
        return text == "y" || text == "yes"
    }
}

/// A spinner (or a bar, when the fraction is known) on standard error, drawn only on a
/// terminal and only after the work has taken a second.
actor ProgressIndicator {
    private let label: String
    private var fraction: Double?
    /// Known progress of a job: done and expected milliseconds, as of `measuredAt`; drawn moving between updates.
    private var job: (doneMs: Double, totalMs: Double, measuredAt: ContinuousClock.Instant)?
    private var note = ""
    private let started = ContinuousClock.now
    private var drawn = false
    private static let frames = ["|", "/", "-", "\\"]

    init(_ label: String) { self.label = label }

    func update(fraction: Double?, note: String = "") {
        self.fraction = fraction.map { min(max($0, 0), 1) }
        self.note = note
    }

    /// A job that has run `doneMs` of an expected `totalMs`; the bar keeps moving between polls, stopping at 99%.
    func update(doneMs: Double, totalMs: Double, note: String = "") {
        job = totalMs > 0 ? (doneMs, totalMs, ContinuousClock.now) : nil
        fraction = nil
        self.note = note
    }

    fileprivate func draw(frame: Int) {
        if let job {
            let since = ContinuousClock.now - job.measuredAt
            let sinceMs = Double(since.components.seconds) * 1000 + Double(since.components.attoseconds) / 1e15
            fraction = min((job.doneMs + sinceMs) / job.totalMs, 0.99)
        }
        let elapsed = ContinuousClock.now - started
        guard elapsed >= .seconds(1) else { return }
        let seconds = elapsed.components.seconds
        var line = "\r\u{1B}[K"
        if let fraction {
            let width = 30
            let filled = Int(fraction * Double(width))
            line += "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                + "] \(Int(fraction * 100))%"
        } else {
            line += "\(Self.frames[frame % Self.frames.count]) \(label)"
        }
        line += " \(seconds)s"
        if !note.isEmpty { line += "  \(note)" }
        Terminal.writeStderr(line)
        drawn = true
    }

    fileprivate func clear() {
        if drawn { Terminal.writeStderr("\r\u{1B}[K") }
        drawn = false
    }

    /// Runs `body` with this indicator drawn beside it (nothing on a non-terminal).
    static func run<T: Sendable>(_ label: String, _ body: (ProgressIndicator) async throws -> T) async throws -> T {
        let indicator = ProgressIndicator(label)
        guard Terminal.stderrIsTTY else { return try await body(indicator) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var frame = 0
                while !Task.isCancelled {
                    await indicator.draw(frame: frame)
                    frame += 1
                    try? await Task.sleep(for: .milliseconds(120))
                }
            }
            defer { group.cancelAll() }
            do {
                let result = try await body(indicator)
                group.cancelAll()
                try? await group.waitForAll()
                await indicator.clear()
                return result
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                await indicator.clear()
                throw error
            }
        }
    }
}
