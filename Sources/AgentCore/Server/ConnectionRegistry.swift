import NIOCore
import Synchronization

/// Every open connection, with what the kernel said about it when it was accepted, and a cap
/// per peer uid. A uid at its cap may still connect: its oldest connection that is waiting on
/// its client — idle, or still sending its request (a half-open head, a stalled or trickling
/// body) — is closed to make room. Only a connection whose request has fully arrived and is
/// being answered is never taken away, so a flood of connections from one process cannot
/// lock out the others, and the owner's fresh connection finds a place unless every one of
/// its connections is being answered.
public final class ConnectionRegistry: Sendable {
    /// Caps on open connections per peer uid.
    public struct Limits: Sendable, Hashable {
        /// The owner's connections.
        public var ownerConnections: Int
        /// Each other uid's connections (allowed or not; refused uids get their 403 answer).
        public var otherConnections: Int

        public init(ownerConnections: Int = 256, otherConnections: Int = 32) {
            self.ownerConnections = max(1, ownerConnections)
            self.otherConnections = max(1, otherConnections)
        }
    }

    /// How a connection reached the agent.
    public enum Transport: Sendable, Hashable {
        /// The Unix socket: SO_PEERCRED names uid and pid.
        case unixSocket
        /// The loopback TCP listener: only the uid is known (`LoopbackPeer`), and every request
        /// needs a client token.
        case loopbackTCP
    }

    /// What the agent knows of a connection from the moment it was accepted.
    public struct Info: Sendable {
        public let id: UInt64
        public let peer: PeerCredentials?
        /// The process at accept time, read only when a binding needs it.
        public let identity: ClientIdentity?
        public let transport: Transport

        public init(id: UInt64, peer: PeerCredentials?, identity: ClientIdentity?, transport: Transport = .unixSocket) {
            self.id = id
            self.peer = peer
            self.identity = identity
            self.transport = transport
        }
    }

    /// Who the connection waits on.
    enum Phase: Sendable {
        /// No request: idle keep-alive, or a request head still arriving.
        case idle
        /// A request head has arrived; its body is still arriving.
        case receiving
        /// The request has arrived; the agent is answering it.
        case answering
    }

    private struct Entry {
        let info: Info
        let channel: any Channel
        var phase = Phase.idle
    }

    private struct State {
        var nextID: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
        var byChannel: [ObjectIdentifier: UInt64] = [:]
        var evicted = 0
        var refused = 0
    }

    public let limits: Limits
    let ownerUID: UInt32
    private let state = Mutex(State())

    public init(limits: Limits = Limits(), ownerUID: UInt32) {
        self.limits = limits
        self.ownerUID = ownerUID
    }

    /// A uid's cap on one transport. TCP connections are counted apart from Unix-socket ones, so
    /// a flood over the loopback listener can never take the owner's socket connections.
    func cap(for uid: UInt32?, transport: Transport = .unixSocket) -> Int {
        let cap = uid == ownerUID ? limits.ownerConnections : limits.otherConnections
        return transport == .loopbackTCP ? max(1, cap / 2) : cap
    }

    /// Registers an accepted connection. At the uid's cap, its oldest idle connection is closed
    /// to make room; when every one is busy, nil (the new connection is closed).
    func open(_ channel: any Channel, peer: PeerCredentials?, identity: ClientIdentity?, transport: Transport = .unixSocket) -> Info? {
        let (info, victim): (Info?, (any Channel)?) = state.withLock { s in
            let uid = peer?.uid
            let same = s.entries.values.filter { $0.info.peer?.uid == uid && $0.info.transport == transport }
            var victim: (any Channel)?
            if same.count >= cap(for: uid, transport: transport) {
                guard let oldest = same.filter({ $0.phase != .answering }).min(by: { $0.info.id < $1.info.id }) else {
                    s.refused += 1
                    return (nil, nil)
                }
                s.entries[oldest.info.id] = nil
                s.byChannel[ObjectIdentifier(oldest.channel)] = nil
                s.evicted += 1
                victim = oldest.channel
            }
            s.nextID += 1
            let info = Info(id: s.nextID, peer: peer, identity: identity, transport: transport)
            s.entries[info.id] = Entry(info: info, channel: channel)
            s.byChannel[ObjectIdentifier(channel)] = info.id
            return (info, victim)
        }
        victim?.close(promise: nil)
        return info
    }

    /// The connection's accept-time information.
    func info(for channel: any Channel) -> Info? {
        state.withLock { s in s.byChannel[ObjectIdentifier(channel)].flatMap { s.entries[$0]?.info } }
    }

    func set(_ id: UInt64, _ phase: Phase) {
        state.withLock { $0.entries[id]?.phase = phase }
    }

    /// Forgets a closed connection (before its channel can be freed and its identifier reused).
    func close(_ id: UInt64, channel: any Channel) {
        state.withLock { s in
            if s.entries.removeValue(forKey: id) != nil { s.byChannel[ObjectIdentifier(channel)] = nil }
        }
    }

    public struct Snapshot: Sendable {
        public let open: Int
        public let evicted: Int
        public let refused: Int
    }

    public var snapshot: Snapshot {
        state.withLock { Snapshot(open: $0.entries.count, evicted: $0.evicted, refused: $0.refused) }
    }
}
