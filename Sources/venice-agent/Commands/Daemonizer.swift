import AgentCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `serve --daemonize`: starts the same command again in a new session (detached from the
/// terminal, stdio on /dev/null or the log file), waits until its socket accepts
/// connections, then returns so the parent can print the environment and exit — the
/// ssh-agent pattern, without forking a multi-threaded process.
enum Daemonizer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func spawnDetached(arguments: [String], socketPath: String, logFile: String?) throws -> pid_t {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            throw Failure(description: "cannot find the running executable (/proc/self/exe)")
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc >= 2.26; hidden behind _GNU_SOURCE from Swift) = 0x80.
        posix_spawnattr_setflags(&attributes, 0x80)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logFile ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        let argv = [exe] + arguments
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, exe, &actions, &attributes, &cArgs, environ)
        guard rc == 0 else { throw Failure(description: "cannot start the agent: \(String(cString: strerror(rc)))") }
        // Wait for the socket (or the child's early exit).
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw Failure(description: "the agent exited during start-up (status \(status)); run it without --daemonize to see why")
            }
            if SocketPreparation.isLive(socketPath) { return pid }
            usleep(50_000)
        }
        kill(pid, SIGTERM)
        throw Failure(description: "the agent did not open \(socketPath) within 30 s")
    }
}
