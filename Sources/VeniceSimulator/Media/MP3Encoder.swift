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
        let inputPath = FileManager.default.temporaryDirectory.appendingPathComponent("venice-sim-\(UUID().uuidString).pcm").path
        let descriptor = open(inputPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { return .failure(.couldNotStart("temporary input file: \(String(cString: strerror(errno)))")) }
        unlink(inputPath)
        defer { close(descriptor) }
        var written = 0
        while written < input.count {
            let count = input.withUnsafeBytes { raw in raw.baseAddress.map { write(descriptor, $0 + written, raw.count - written) } ?? 0 }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return .failure(.couldNotStart("temporary input file: \(String(cString: strerror(errno)))")) }
            written += count
        }
        guard lseek(descriptor, 0, SEEK_SET) == 0 else { return .failure(.couldNotStart("temporary input file: cannot rewind")) }

        switch ChildProcess.run(executable.path, arguments: arguments, input: descriptor, timeout: configuration.timeout,
                                maxOutputBytes: configuration.maxOutputBytes) {
        case .failure(.couldNotStart(let reason)): return .failure(.couldNotStart(reason))
        case .failure(.timedOut): return .failure(.timedOut(configuration.timeout))
        case .failure(.outputTooLarge): return .failure(.outputTooLarge(configuration.maxOutputBytes))
        case .success(let finished):
            guard finished.exitStatus == 0 else { return .failure(.failed(status: finished.exitStatus ?? -1)) }
            return .success(finished.output)
        }
    }
}
