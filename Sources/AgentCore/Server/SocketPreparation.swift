#if canImport(Glibc)
import Glibc
#endif

/// Makes the socket's folder (0700) and deals with a socket file already there: a live
/// agent answering on it is an error; a dead one's file is removed.
public enum SocketPreparation {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func prepare(path: String) throws {
        guard path.utf8.count < 108 else {
            throw Failure(description: "socket path \(path) is longer than the 107 bytes Unix sockets allow; choose a shorter --socket")
        }
        let dir = directory(of: path)
        try makeDirectory(dir)
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFSOCK else {
            throw Failure(description: "\(path) exists and is not a socket; remove it or choose another --socket")
        }
        if isLive(path) {
            throw Failure(description: "another venice-agent is already listening on \(path); stop it (or use it: export VENICE_AGENT_SOCK=\(path))")
        }
        unlink(path)
    }

    static func makeDirectory(_ dir: String) throws {
        var st = stat()
        if stat(dir, &st) == 0 { return }
        let parent = directory(of: dir)
        if parent != dir { try makeDirectory(parent) }
        guard mkdir(dir, 0o700) == 0 || errno == EEXIST else {
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
