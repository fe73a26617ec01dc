import Foundation

/// What the kernel says about a caller beyond SO_PEERCRED: its executable, when its process
/// started, and its systemd unit. Read once when a connection is accepted (only when a config
/// binding needs it), and again per request to prove the process on the connection is still
/// the one that connected (an `exec` on an inherited socket changes the executable; a new
/// process under a recycled pid changes the start time).
public struct ClientIdentity: Sendable, Hashable {
    public let peer: PeerCredentials
    /// `/proc/PID/exe`, when readable.
    public let executable: String?
    /// Field 22 of `/proc/PID/stat` (clock ticks since boot), when readable.
    public let startTime: UInt64?
    /// The systemd unit from `/proc/PID/cgroup` (e.g. `imagegen.service`), when there is one.
    public let unit: String?

    public static func of(_ peer: PeerCredentials, procRoot: String = "/proc") -> ClientIdentity {
        let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(procRoot)/\(peer.pid)/exe")
        let stat = (try? String(contentsOfFile: "\(procRoot)/\(peer.pid)/stat", encoding: .utf8)) ?? ""
        let cgroup = (try? String(contentsOfFile: "\(procRoot)/\(peer.pid)/cgroup", encoding: .utf8)) ?? ""
        return ClientIdentity(peer: peer, executable: exe, startTime: startTime(fromStat: stat), unit: unit(fromCgroup: cgroup))
    }

    /// True when `now` describes the same process image as this identity: same executable and
    /// same start time. Unknown values never match (fail closed).
    func isSameProcess(as now: ClientIdentity) -> Bool {
        guard let executable, let startTime, now.executable == executable, now.startTime == startTime else { return false }
        return peer == now.peer
    }

    /// The start time from a `/proc/PID/stat` line. The command name (field 2) may hold spaces
    /// and parentheses, so fields are counted after its last `)`.
    static func startTime(fromStat text: String) -> UInt64? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After the name come fields 3 (state) … ; starttime is field 22.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// The innermost `.service` (or `.scope`) name in a cgroup v2/v1 listing.
    static func unit(fromCgroup text: String) -> String? {
        for line in text.split(separator: "\n") {
            guard let path = line.split(separator: ":", maxSplits: 2).last else { continue }
            let parts = path.split(separator: "/").map(String.init)
            if let service = parts.last(where: { $0.hasSuffix(".service") }) { return service }
            if let scope = parts.last(where: { $0.hasSuffix(".scope") }) { return scope }
        }
        return nil
    }
}
