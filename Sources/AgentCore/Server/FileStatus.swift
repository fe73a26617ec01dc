internal import CAgentSystem

/// What `stat`/`lstat` says about a path: its owner, type and permission bits.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case directory, socket, symlink, regular, other }

    public let ownerUID: UInt32
    /// The permission bits (`0o7777`).
    public let permissions: UInt32
    public let kind: Kind

    /// `lstat` (`followingLinks` false) or `stat`; the errno when the path cannot be read.
    public static func of(_ path: String, followingLinks: Bool) -> Result<FileStatus, Errno> {
        var uid: UInt32 = 0
        var mode: UInt32 = 0
        let rc = venice_file_status(path, followingLinks ? 1 : 0, &uid, &mode)
        guard rc == 0 else { return .failure(Errno(code: rc)) }
        let kind: Kind
        switch mode & 0o170000 {
        case 0o040000: kind = .directory
        case 0o140000: kind = .socket
        case 0o120000: kind = .symlink
        case 0o100000: kind = .regular
        default: kind = .other
        }
        return .success(FileStatus(ownerUID: uid, permissions: mode & 0o7777, kind: kind))
    }

    public struct Errno: Error, Sendable, Equatable {
        public let code: Int32
        public static let noEntry = Errno(code: 2)
        public static let accessDenied = Errno(code: 13)
    }
}
