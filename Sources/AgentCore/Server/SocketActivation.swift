internal import CAgentSystem
#if canImport(Glibc)
import Glibc
#endif

/// Listening sockets handed over by systemd (socket activation, `sd_listen_fds(3)`): when
/// `LISTEN_PID` is this process, descriptors 3 … 3+`LISTEN_FDS`-1 are already bound and
/// listening. The agent serves its Unix socket and its loopback TCP listener on them instead
/// of binding its own; which is which is read from each socket itself (`LISTEN_FDNAMES` is
/// not needed). The variables are removed afterwards, so no child inherits them.
public struct SocketActivation: Sendable, Equatable {
    /// A listening Unix socket (its path) and/or a loopback TCP socket.
    public var unix: Inherited<String>?
    public var tcp: Inherited<LoopbackAddress>?

    public struct Inherited<Address: Sendable & Equatable>: Sendable, Equatable {
        public let descriptor: Int32
        public let address: Address
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// `SD_LISTEN_FDS_START`.
    public static let firstDescriptor: Int32 = 3
    static let maxDescriptors = 8

    /// The sockets systemd passed to this process, nil when none were (no `LISTEN_FDS`, or
    /// `LISTEN_PID` names another process). Throws when what was passed cannot be served.
    public static func inherited(environment: [String: String], pid: Int32? = nil,
                                 firstDescriptor: Int32 = SocketActivation.firstDescriptor) throws(Invalid) -> SocketActivation? {
        let pid = pid ?? getpid()
        guard let count = environment["LISTEN_FDS"] else { return nil }
        guard let listenPID = environment["LISTEN_PID"].flatMap({ Int32($0) }), listenPID == pid else { return nil }
        guard let n = Int(count), n >= 1, n <= maxDescriptors else {
            throw Invalid(description: "LISTEN_FDS=\(count.prefix(20)): systemd should pass 1 to \(maxDescriptors) sockets (a Unix socket and/or a loopback TCP one)")
        }
        var activation = SocketActivation()
        for index in 0..<n {
            let fd = firstDescriptor + Int32(index)
            var family: Int32 = 0
            var path = [CChar](repeating: 0, count: 256)
            var address = [UInt8](repeating: 0, count: 16)
            var port: UInt16 = 0
            let rc = venice_listening_socket(fd, &family, &path, Int32(path.count), &address, &port)
            guard rc == 0 else {
                throw Invalid(description: "descriptor \(fd) passed by systemd is not a listening stream socket (Unix or TCP); check ListenStream= in the .socket unit")
            }
            switch family {
            case 1:
                let text = String(decoding: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                guard text.hasPrefix("/") else {
                    throw Invalid(description: "descriptor \(fd) is an abstract or unnamed Unix socket; give ListenStream= a path such as %t/venice-agent/agent.sock")
                }
                guard activation.unix == nil else { throw Invalid(description: "systemd passed two Unix sockets; the agent serves one") }
                activation.unix = Inherited(descriptor: fd, address: text)
            case 4, 6:
                let bytes = Array(address.prefix(family == 4 ? 4 : 16))
                let loopback = family == 4 ? bytes.first == 127 : bytes == Array(repeating: 0, count: 15) + [1]
                let host = family == 4 ? bytes.map(String.init).joined(separator: ".") : "::1"
                guard loopback else {
                    throw Invalid(description: "descriptor \(fd) listens on a non-loopback address; the agent serves TCP on 127.0.0.1 or [::1] only (ListenStream=127.0.0.1:PORT)")
                }
                guard activation.tcp == nil else { throw Invalid(description: "systemd passed two TCP sockets; the agent serves one loopback listener") }
                activation.tcp = Inherited(descriptor: fd, address: LoopbackAddress(host: host, port: Int(port), family: family == 4 ? .ipv4 : .ipv6))
            default:
                throw Invalid(description: "descriptor \(fd): unexpected socket family")
            }
        }
        return activation
    }

    /// Removes the variables, as `sd_listen_fds(1)` does, so programs the agent starts do not
    /// take the sockets for theirs.
    public static func clearEnvironment() {
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_FDNAMES")
    }
}
