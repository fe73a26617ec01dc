internal import CAgentSystem
#if canImport(Glibc)
import Glibc
#endif
public import NIOCore

/// Who is on the other end of a loopback TCP connection, as the kernel says. TCP has no
/// SO_PEERCRED, but on loopback both ends are sockets of this machine: the kernel knows the
/// client's socket, under the address pair seen from its side (its address as local, ours as
/// remote), and the uid that owns it. The agent asks by exact lookup (sock_diag netlink), and
/// reads /proc/net/tcp (or tcp6) only where netlink is not available. That uid is what the
/// agent knows of a TCP caller; there is no pid (0), so bindings never apply over TCP.
enum LoopbackPeer {
    /// Largest table read (a machine with ~100 000 sockets); beyond it the peer is unknown.
    static let maxTableBytes = 16 << 20

    /// The uid owning the client socket of `channel`, nil when the kernel does not list it
    /// (the client already closed, or the table could not be read).
    static func credentials(of channel: any Channel, procRoot: String = "/proc") -> PeerCredentials? {
        guard let remote = channel.remoteAddress, let local = channel.localAddress,
              let client = endpoint(remote), let server = endpoint(local), client.v6 == server.v6 else { return nil }
        // First an exact lookup by the kernel (sock_diag: the same cost however many sockets
        // exist); the table is read only where netlink cannot be asked.
        switch kernelLookup(v6: client.v6, client: (client.bytes, client.port), server: (server.bytes, server.port)) {
        case .found(let uid): return PeerCredentials(uid: uid, gid: 0, pid: 0)
        case .none: return nil
        case .unavailable: break
        }
        guard let table = readTable(procRoot + (client.v6 ? "/net/tcp6" : "/net/tcp")) else { return nil }
        return Self.uid(in: table, clientEndpoint: client.text, serverEndpoint: server.text).map { PeerCredentials(uid: $0, gid: 0, pid: 0) }
    }

    enum Lookup: Equatable { case found(UInt32), none, unavailable }

    /// The uid owning the ESTABLISHED socket whose local end is `client` and remote end `server`,
    /// by the kernel's exact lookup (NETLINK_SOCK_DIAG).
    static func kernelLookup(v6: Bool, client: (bytes: [UInt8], port: UInt16), server: (bytes: [UInt8], port: UInt16)) -> Lookup {
        guard client.bytes.count == (v6 ? 16 : 4), server.bytes.count == client.bytes.count else { return .unavailable }
        var uid: UInt32 = 0
        switch venice_tcp_socket_uid(v6 ? 6 : 4, client.bytes, client.port, server.bytes, server.port, &uid) {
        case 0: return .found(uid)
        case 1: return .none
        default: return .unavailable
        }
    }

    /// The uid column of the row whose local address is the client's and remote address ours.
    /// Only an open socket counts: state 01 (ESTABLISHED) with an inode. A client that closed
    /// right after sending leaves a TIME_WAIT or FIN_WAIT row the kernel lists with uid 0 and
    /// no inode, which must never pass for the root user's socket.
    static func uid(in table: [UInt8], clientEndpoint: String, serverEndpoint: String) -> UInt32? {
        for line in table.split(separator: UInt8(ascii: "\n")).dropFirst() {
            let fields = line.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
            guard fields.count > 9,
                  String(decoding: fields[1], as: UTF8.self) == clientEndpoint,
                  String(decoding: fields[2], as: UTF8.self) == serverEndpoint else { continue }
            guard String(decoding: fields[3], as: UTF8.self) == "01", String(decoding: fields[9], as: UTF8.self) != "0" else { return nil }
            return UInt32(String(decoding: fields[7], as: UTF8.self))
        }
        return nil
    }

    /// An address as /proc/net/tcp prints it: each 32-bit word of the address in host byte
    /// order as 8 hex digits, a colon, the port as 4 hex digits.
    static func endpoint(_ address: SocketAddress) -> (text: String, v6: Bool, bytes: [UInt8], port: UInt16)? {
        guard let port = address.port, (0...65_535).contains(port) else { return nil }
        // The numeric address as NIO prints it, back to its bytes (inet_pton).
        guard let text = address.ipAddress else { return nil }
        let v6: Bool
        let bytes: [UInt8]
        switch address.protocol {
        case .inet:
            var raw = [UInt8](repeating: 0, count: 4)
            guard inet_pton(AF_INET, text, &raw) == 1 else { return nil }
            bytes = raw
            v6 = false
        case .inet6:
            var raw = [UInt8](repeating: 0, count: 16)
            guard inet_pton(AF_INET6, text, &raw) == 1 else { return nil }
            bytes = raw
            v6 = true
        default:
            return nil
        }
        return (words(bytes) + ":" + hex(UInt32(port), digits: 4), v6, bytes, UInt16(port))
    }

    /// Bytes in groups of four, each group read as a little-endian word (how x86 and arm64
    /// Linux print them), 8 upper-case hex digits per word.
    static func words(_ bytes: [UInt8]) -> String {
        var text = ""
        var index = 0
        while index + 4 <= bytes.count {
            let word = UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24
            text += hex(word, digits: 8)
            index += 4
        }
        return text
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    static func readTable(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var table: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while table.count <= maxTableBytes {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return table }
            table.append(contentsOf: chunk[0..<count])
        }
        return nil
    }
}
