internal import CAgentSystem
public import NIOCore

/// Who is on the other end of a Unix-socket connection, as the kernel says (SO_PEERCRED).
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
    public let uid: UInt32
    public let gid: UInt32
    public let pid: Int32

    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }

    public var description: String { "uid=\(uid) pid=\(pid)" }

    /// Layout of `struct ucred` on Linux: pid, uid, gid.
    struct RawUcred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// Reads SO_PEERCRED from an accepted socket channel; nil when the channel is not a Unix
    /// socket (or the kernel does not say). Completes at once when called on the channel's loop.
    static func read(_ channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? any SocketOptionProvider,
              MemoryLayout<RawUcred>.size == Int(venice_ucred_size()) else { return channel.eventLoop.makeSucceededFuture(nil) }
        let future: EventLoopFuture<RawUcred> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: venice_sol_socket()),
            name: NIOBSDSocket.Option(rawValue: venice_so_peercred()))
        return future.map { raw in PeerCredentials(uid: raw.uid, gid: raw.gid, pid: raw.pid) }.recover { _ in nil }
    }
}
