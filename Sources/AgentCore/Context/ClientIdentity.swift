import Foundation

/// What the kernel says about a caller beyond SO_PEERCRED: its executable and systemd unit.
public struct ClientIdentity: Sendable, Hashable {
    public let peer: PeerCredentials
    /// `/proc/PID/exe`, when readable.
    public let executable: String?
    /// The systemd unit from `/proc/PID/cgroup` (e.g. `imagegen.service`), when there is one.
    public let unit: String?

    public static func of(_ peer: PeerCredentials, procRoot: String = "/proc") -> ClientIdentity {
        let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(procRoot)/\(peer.pid)/exe")
        let cgroup = (try? String(contentsOfFile: "\(procRoot)/\(peer.pid)/cgroup", encoding: .utf8)) ?? ""
        return ClientIdentity(peer: peer, executable: exe, unit: unit(fromCgroup: cgroup))
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

/// Exposes the cgroup parsing for tests.
public enum ClientIdentityProbe {
    public static func unit(_ cgroup: String) -> String? { ClientIdentity.unit(fromCgroup: cgroup) }
}
