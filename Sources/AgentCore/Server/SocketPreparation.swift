#if canImport(Glibc)
import Glibc
#endif

/// Makes the socket's folder (0700) and deals with a socket file already there: a live
/// agent answering on it is an error; a dead one's file is removed. The folder must be a
/// real folder (not a symlink) owned by the agent's user and writable by nobody else:
/// anyone who can write there could replace the socket and collect passwords and tokens.
public enum SocketPreparation {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func prepare(path: String, sharedWithOtherUsers: Bool = false) throws {
        guard path.utf8.count < 108 else {
            throw Failure(description: "socket path \(path) is longer than the 107 bytes Unix sockets allow; choose a shorter --socket")
        }
        let dir = directory(of: path)
        try makeDirectory(dir, mode: sharedWithOtherUsers ? 0o711 : 0o700)
        try checkFolder(dir)
        // Allowed uids must be able to reach the socket (never to list or write the folder).
        if sharedWithOtherUsers { try allowTraversal(dir) }
        guard case .success(let existing) = FileStatus.of(path, followingLinks: false) else { return }
        guard existing.kind == .socket else {
            throw Failure(description: "\(path) exists and is not a socket; remove it or choose another --socket")
        }
        if isLive(path) {
            throw Failure(description: "another venice-agent is already listening on \(path); stop it (or use it: export VENICE_AGENT_SOCK=\(path))")
        }
        unlink(path)
    }

    /// The socket's folder must be a folder, not a symlink, owned by us, and not writable by
    /// group or others.
    static func checkFolder(_ dir: String) throws {
        let st: FileStatus
        switch FileStatus.of(dir, followingLinks: false) {
        case .success(let status): st = status
        case .failure(let error):
            throw Failure(description: "cannot inspect the socket folder \(dir): \(String(cString: strerror(error.code)))")
        }
        guard st.kind == .directory else {
            throw Failure(description: "the socket folder \(dir) is a symlink or not a folder; use a real folder only you can write (e.g. the default under $XDG_RUNTIME_DIR)")
        }
        guard st.ownerUID == geteuid() else {
            throw Failure(description: "the socket folder \(dir) belongs to uid \(st.ownerUID), not to you (uid \(geteuid())); another user could replace the socket — use a folder of your own")
        }
        guard st.permissions & 0o022 == 0 else {
            throw Failure(description: "the socket folder \(dir) is writable by other users (mode \(String(st.permissions, radix: 8))); another user could replace the socket — use a folder only you can write (chmod 700 it, or the default under $XDG_RUNTIME_DIR)")
        }
    }

    static func allowTraversal(_ dir: String) throws {
        guard case .success(let st) = FileStatus.of(dir, followingLinks: true) else { return }
        let wanted = st.permissions | 0o011
        guard wanted != st.permissions else { return }
        guard chmod(dir, mode_t(wanted)) == 0 else {
            throw Failure(description: "cannot let allowed uids reach \(dir): \(String(cString: strerror(errno)))")
        }
    }

    static func makeDirectory(_ dir: String, mode: mode_t = 0o700) throws {
        if case .success = FileStatus.of(dir, followingLinks: true) { return }
        let parent = directory(of: dir)
        if parent != dir { try makeDirectory(parent, mode: mode) }
        guard mkdir(dir, mode) == 0 || errno == EEXIST else {
            throw Failure(description: "cannot create \(dir): \(String(cString: strerror(errno)))")
        }
    }

    /// True when something accepts connections on the socket.
    public static func isLive(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return rc == 0
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }
}
