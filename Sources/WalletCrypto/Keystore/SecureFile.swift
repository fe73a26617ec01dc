#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing and reading files that hold secrets (keystores, password files).
public enum SecureFile {
    /// Writes atomically: a 0600 temp file in the same folder, fsync, then rename (or, with
    /// `overwrite: false`, a hard link that fails if the target exists), then fsync the folder.
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws(WalletCryptoError) {
        let dir = directory(of: path)
        if !overwrite, access(path, F_OK) == 0 {
            throw .file(path: path, reason: "already exists; refusing to overwrite it")
        }
        let temp = "\(dir)/.\(basename(of: path)).tmp-\(Hex.encode(SecureRandom.bytes(count: 6)))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .file(path: temp, reason: "cannot create: \(errnoText())") }
        var ok = fchmod(fd, 0o600) == 0
        var written = 0
        bytes.withUnsafeBytes { raw in
            while ok, written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { if errno == EINTR { continue }; ok = false } else { written += n }
            }
        }
        ok = ok && fsync(fd) == 0
        let closed = close(fd) == 0
        guard ok, closed else {
            let reason = errnoText()
            unlink(temp)
            throw .file(path: path, reason: "cannot write: \(reason)")
        }
        if overwrite {
            guard rename(temp, path) == 0 else {
                let reason = errnoText()
                unlink(temp)
                throw .file(path: path, reason: "cannot rename into place: \(reason)")
            }
        } else {
            let linked = link(temp, path) == 0
            let reason = errnoText()
            unlink(temp)
            guard linked else {
                throw .file(path: path, reason: errno == EEXIST ? "already exists; refusing to overwrite it" : "cannot create: \(reason)")
            }
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    /// Reads a whole (small) file; files over `limit` bytes are refused.
    public static func read(_ path: String, limit: Int = 1 << 20) throws(WalletCryptoError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .file(path: path, reason: "cannot open: \(errnoText())") }
        defer { close(fd) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw .file(path: path, reason: "cannot read: \(errnoText())") }
            if n == 0 { break }
            out += chunk[0..<n]
            guard out.count <= limit else { throw .file(path: path, reason: "larger than \(limit) bytes") }
        }
        MemoryHygiene.zero(&chunk)
        return out
    }

    /// Reads a password file into `SecretBytes`; a single trailing newline (LF or CRLF) is not part of the password.
    public static func readPassword(_ path: String) throws(WalletCryptoError) -> SecretBytes {
        var bytes = try read(path, limit: 64 * 1024)
        if bytes.last == 0x0a {
            bytes.removeLast()
            if bytes.last == 0x0d { bytes.removeLast() }
        }
        return SecretBytes(zeroingSource: &bytes)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
