import Synchronization
import WalletCrypto

/// The dashboard's one-time codes and the browser sessions they become.
///
/// `venice-agent dashboard` (the owner, over the socket) asks for a code; the browser trades it
/// once, on the loopback listener, for a session cookie. A session is good only on the listener
/// it was made for, only while the agent has not been locked since (`KeySession.lockCount`),
/// and for at most `sessionLifetime`. Codes and sessions are 256-bit random values held in
/// memory only: a restart ends every session.
public final class DashboardSessions: Sendable {
    /// What `issueCode` hands the owner.
    public struct Code: Sendable {
        public let value: String
        public let expiresIn: Duration
    }

    /// What trading a code gives the browser.
    public struct Session: Sendable {
        public let cookie: String
        public let lifetime: Duration
    }

    /// Why a code or a cookie was not accepted.
    public enum Refusal: Error, Sendable, Equatable {
        /// Unknown, already used, or older than `codeLifetime`.
        case codeRefused
        /// No cookie, or one this agent did not issue, or an ended session.
        case noSession
    }

    private struct Pending {
        let listenerPort: Int
        let expires: ContinuousClock.Instant
    }

    private struct Live {
        let listenerPort: Int
        let expires: ContinuousClock.Instant
        let lockCount: Int
    }

    private struct State {
        var codes: [String: Pending] = [:]
        var sessions: [String: Live] = [:]
    }

    /// How long an unused code stays good.
    public static let codeLifetime: Duration = .seconds(300)
    /// How long a session lasts at most (the agent's next lock ends it earlier).
    public static let sessionLifetime: Duration = .seconds(12 * 3600)
    /// At most this many unused codes and live sessions; the oldest goes first.
    static let maxCodes = 16
    static let maxSessions = 32

    private let state = Mutex(State())
    private let now: @Sendable () -> ContinuousClock.Instant
    private let lockCount: @Sendable () -> Int

    public init(lockCount: @escaping @Sendable () -> Int, clock now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.lockCount = lockCount
        self.now = now
    }

    /// The cookie's name: one per listener port, since browsers send a loopback cookie to every port.
    public static func cookieName(port: Int) -> String { "venice_agent_dashboard_\(port)" }

    /// A fresh one-time code for the listener on `port`.
    public func issueCode(listenerPort: Int) -> Code {
        let value = Hex.encode(SecureRandom.bytes(count: 32))
        let now = self.now()
        state.withLock { s in
            s.codes = s.codes.filter { $0.value.expires > now }
            if s.codes.count >= Self.maxCodes, let oldest = s.codes.min(by: { $0.value.expires < $1.value.expires }) {
                s.codes[oldest.key] = nil
            }
            s.codes[value] = Pending(listenerPort: listenerPort, expires: now + Self.codeLifetime)
        }
        return Code(value: value, expiresIn: Self.codeLifetime)
    }

    /// Trades `code` for a session on the listener on `port`. A code is gone after its first
    /// presentation, whether or not it was accepted.
    public func redeem(code: String, listenerPort: Int) throws(Refusal) -> Session {
        let now = self.now()
        let cookie = Hex.encode(SecureRandom.bytes(count: 32))
        let locks = lockCount()
        let accepted: Bool = state.withLock { s in
            guard let pending = s.codes.removeValue(forKey: code) else { return false }
            guard pending.expires > now, pending.listenerPort == listenerPort else { return false }
            s.sessions = s.sessions.filter { $0.value.expires > now && $0.value.lockCount == locks }
            if s.sessions.count >= Self.maxSessions, let oldest = s.sessions.min(by: { $0.value.expires < $1.value.expires }) {
                s.sessions[oldest.key] = nil
            }
            s.sessions[cookie] = Live(listenerPort: listenerPort, expires: now + Self.sessionLifetime, lockCount: locks)
            return true
        }
        guard accepted else { throw .codeRefused }
        return Session(cookie: cookie, lifetime: Self.sessionLifetime)
    }

    /// Whether `cookie` is a live session of the listener on `port`.
    public func isLive(cookie: String, listenerPort: Int) -> Bool {
        let now = self.now()
        let locks = lockCount()
        return state.withLock { s in
            guard let live = s.sessions[cookie] else { return false }
            guard live.expires > now, live.lockCount == locks else {
                s.sessions[cookie] = nil
                return false
            }
            return live.listenerPort == listenerPort
        }
    }

    /// The session cookie among a request's `Cookie` header values, if it carries one for `port`.
    public static func cookie(in headerValues: [String], port: Int) -> String? {
        let name = cookieName(port: port)
        for value in headerValues {
            for pair in value.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " || $0 == "\t" })
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == name {
                    let cookie = trimmed[trimmed.index(after: equals)...].trimmingSuffix(while: { $0 == " " || $0 == "\t" })
                    return cookie.isEmpty ? nil : String(cookie)
                }
            }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }
}
