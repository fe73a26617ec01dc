import CAgentSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One bounded child process by `posix_spawn`: a file as its stdin, its stdout read whole (up to
/// a cap), its stderr on /dev/null, SIGKILLed after a timeout.
///
/// Not `Foundation.Process`: on Swift 6.3.1 its `run()` crashes now and then (a 256-byte
/// over-read of `struct dirent` while it lists `/proc/self/fd`, swiftlang/swift-corelibs-foundation
/// PR #5472), and a process with many sockets open, as the test suite is, hits it. Every
/// descriptor of ours is close-on-exec, or closed in the child by `closefrom`.
struct ChildProcess {
    enum Failure: Error, Equatable {
        case couldNotStart(String)
        case timedOut
        case outputTooLarge
    }

    struct Finished: Equatable {
        /// The exit status, or nil when a signal ended it.
        let exitStatus: Int32?
        let output: [UInt8]
    }

    /// Runs `executable` (a path) with `arguments`; `input` (a descriptor, left open) becomes its stdin.
    static func run(_ executable: String, arguments: [String], input: Int32, timeout: Duration,
                    maxOutputBytes: Int) -> Result<Finished, Failure> {
        var pipe: [Int32] = [-1, -1]
        let piped = venice_pipe_cloexec(&pipe)
        guard piped == 0 else { return .failure(.couldNotStart("pipe: \(String(cString: strerror(piped)))")) }
        let (readEnd, writeEnd) = (pipe[0], pipe[1])
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        guard venice_spawn_add_closefrom(&actions, 3) == 0 else { close(writeEnd); return .failure(.couldNotStart("posix_spawn: closefrom")) }
        // The server blocks or handles signals of its own; the child starts with none blocked and
        // the usual defaults.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        close(writeEnd)
        guard spawned == 0 else { return .failure(.couldNotStart(String(cString: strerror(spawned)))) }

        // The timeout kills only a child not yet reaped, so never a recycled pid.
        let child = Child(pid: pid)
        let timer = DispatchWorkItem { child.killIfUnreaped(timingOut: true) }
        let (seconds, attoseconds) = timeout.components
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)),
                                          execute: timer)

        var output: [UInt8] = []
        var tooLarge = false
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            output.append(contentsOf: chunk[..<count])
            if output.count > maxOutputBytes {
                tooLarge = true
                child.killIfUnreaped(timingOut: false)
                break
            }
        }
        // Wait for the exit without reaping (the timeout may still kill it), then reap.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0, errno == EINTR {}
        child.markReaped()
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        timer.cancel()

        if child.timedOut { return .failure(.timedOut) }
        if tooLarge { return .failure(.outputTooLarge) }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        return .success(Finished(exitStatus: status & 0x7f == 0 ? (status >> 8) & 0xff : nil, output: output))
    }

    /// The child's pid and whether it may still be signalled, shared with the timeout.
    private final class Child: @unchecked Sendable {
        private let lock = NSLock()
        private let pid: pid_t
        private var reaped = false
        private var killedByTimeout = false

        init(pid: pid_t) { self.pid = pid }

        func killIfUnreaped(timingOut: Bool) {
            lock.lock(); defer { lock.unlock() }
            guard !reaped else { return }
            if timingOut { killedByTimeout = true }
            _ = kill(pid, SIGKILL)
        }

        func markReaped() { lock.lock(); reaped = true; lock.unlock() }

        var timedOut: Bool { lock.lock(); defer { lock.unlock() }; return killedByTimeout }
    }
}
