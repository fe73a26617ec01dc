import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// MP3 from the simulator's synthesized speech, by the `lame` binary (LAME 3.100, Debian package
/// `lame`, installed by `make deps`) run as a bounded subprocess: raw 16-bit mono PCM in on stdin,
/// MPEG audio out on stdout, killed after `timeout`, its output capped at `maxOutputBytes`, and at
/// most `maxConcurrentEncoders` running at once.
///
/// Venice answers `response_format: "mp3"` with `Content-Type: audio/mpeg` (veniceai/skills
/// `skills/venice-audio-speech/SKILL.md`, "Response is the raw audio"); how it encodes is not
/// documented, so the bitrate here is our choice. A missing encoder is a `Failure`, which the
/// speech route answers with a 500 naming it: never a crash, never silent audio.
struct MP3Encoder: Sendable {
    struct Configuration: Sendable {
        /// A bare name is looked up on `PATH`; a name with a `/` is used as given.
        var executable: String = "lame"
        var timeout: Duration = .seconds(10)
        /// Far above what 30 s of speech at 64 kbit/s takes (~240 KB).
        var maxOutputBytes: Int = 4 * 1024 * 1024
        var bitrateKbps: Int = 64
    }

    enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case encoderMissing(String)
        case couldNotStart(String)
        case timedOut(Duration)
        case outputTooLarge(Int)
        case failed(status: Int32)

        var description: String {
            switch self {
            case .encoderMissing(let name):
                "MP3 encoder unavailable: venice-sim needs the `\(name)` binary (Debian package lame; run `make deps`) to answer response_format \"mp3\"; request \"wav\", \"pcm\" or \"flac\" meanwhile"
            case .couldNotStart(let reason): "MP3 encoder (lame) could not start: \(reason)"
            case .timedOut(let limit): "MP3 encoder (lame) did not finish within \(limit)"
            case .outputTooLarge(let cap): "MP3 encoder (lame) produced more than \(cap) bytes"
            case .failed(let status): "MP3 encoder (lame) exited with status \(status)"
            }
        }
    }

    let configuration: Configuration

    init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The executable to run, or nil when it is not installed.
    func resolvedExecutable(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
        let name = configuration.executable
        let files = FileManager.default
        if name.contains("/") { return files.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if files.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        return nil
    }

    /// `pcm`: little-endian signed 16-bit mono samples at `sampleRate` Hz.
    func encode(pcm: [UInt8], sampleRate: Int) async throws(Failure) -> [UInt8] {
        guard let executable = resolvedExecutable() else { throw .encoderMissing(configuration.executable) }
        let arguments = ["--quiet", "-r", "-s", Self.kilohertz(sampleRate), "--bitwidth", "16", "--signed", "--little-endian",
                         "-m", "m", "-b", String(configuration.bitrateKbps), "-", "-"]
        let configuration = self.configuration
        await Self.slots.acquire()
        let result: Result<[UInt8], Failure> = await withCheckedContinuation { continuation in
            // Process I/O blocks: run it on a dispatch thread, never on the cooperative pool.
            DispatchQueue.global().async {
                continuation.resume(returning: Self.run(executable, arguments: arguments, input: pcm, configuration: configuration))
            }
        }
        await Self.slots.release()
        return try result.get()
    }

    /// At most this many encoders run at once in the process; later requests wait their turn.
    static let maxConcurrentEncoders = 4
    static let slots = Slots(limit: maxConcurrentEncoders)

    /// A FIFO counting semaphore: `acquire` waits while `limit` holders are inside.
    actor Slots {
        private let limit: Int
        private var inside = 0
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(limit: Int) { self.limit = max(1, limit) }

        func acquire() async {
            if inside < limit { inside += 1; return }
            await withCheckedContinuation { waiting.append($0) }
        }

        /// Hands the slot straight to the next waiter, if any.
        func release() {
            if waiting.isEmpty { inside -= 1 } else { waiting.removeFirst().resume() }
        }
    }

    static func kilohertz(_ hertz: Int) -> String {
        hertz % 1000 == 0 ? String(hertz / 1000) : String(Double(hertz) / 1000)
    }

    /// Input goes through an unlinked temporary file rather than a pipe, so an encoder that dies
    /// early cannot raise SIGPIPE in the simulator.
    private static func run(_ executable: URL, arguments: [String], input: [UInt8], configuration: Configuration) -> Result<[UInt8], Failure> {
        let inputURL = FileManager.default.temporaryDirectory.appendingPathComponent("venice-sim-\(UUID().uuidString).pcm")
        let stdin: FileHandle
        do {
            try Data(input).write(to: inputURL, options: [.withoutOverwriting])
            stdin = try FileHandle(forReadingFrom: inputURL)
        } catch {
            try? FileManager.default.removeItem(at: inputURL)
            return .failure(.couldNotStart("temporary input file: \(error)"))
        }
        try? FileManager.default.removeItem(at: inputURL)
        defer { try? stdin.close() }

        let box = ProcessBox(Process())
        let process = box.process
        let stdout = Pipe()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(.couldNotStart(String(describing: error))) }

        let timedOut = Flag()
        let timer = DispatchWorkItem {
            guard box.process.isRunning else { return }
            timedOut.set()
            box.kill()
        }
        let (seconds, attoseconds) = configuration.timeout.components
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)), execute: timer)

        var output: [UInt8] = []
        var tooLarge = false
        let reader = stdout.fileHandleForReading
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            output += chunk
            if output.count > configuration.maxOutputBytes {
                tooLarge = true
                if process.isRunning { box.kill() }
                break
            }
        }
        try? reader.close()
        process.waitUntilExit()
        timer.cancel()

        if timedOut.isSet { return .failure(.timedOut(configuration.timeout)) }
        if tooLarge { return .failure(.outputTooLarge(configuration.maxOutputBytes)) }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            return .failure(.failed(status: process.terminationStatus))
        }
        return .success(output)
    }

    /// `Process` is documented thread-safe for `isRunning` and `processIdentifier` (the only calls
    /// the timeout makes from another thread); nothing else touches it off the running thread.
    private final class ProcessBox: @unchecked Sendable {
        let process: Process
        init(_ process: Process) { self.process = process }

        /// SIGKILL to the encoder we started (by its pid, still unreaped while `isRunning`):
        /// SIGTERM may be ignored or blocked in a child, as it is inherited from a server that
        /// handles SIGTERM itself.
        func kill() {
            let pid = process.processIdentifier
            if pid > 0, process.isRunning { _ = Glibc.kill(pid, SIGKILL) }
        }
    }

    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.lock(); value = true; lock.unlock() }
        var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    }
}
