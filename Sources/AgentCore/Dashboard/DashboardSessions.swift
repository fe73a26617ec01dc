import HTTPTypes
import Synchronization
import WalletCrypto

/// The dashboard's one-time codes and the browser sessions they become.
///
/// `venice-agent dashboard` (the owner, over the socket) asks for a code; the browser trades it
/// once, on the loopback listener, for a session: a cookie, and a second secret the page keeps
/// in its tab's `sessionStorage` and sends as `X-Agent-Dashboard` with each view it reads.
/// Browsers send a loopback cookie to every port of the host, so a server on another port the
/// browser visits may see the cookie; the second secret, which only the page's own origin can
/// read, is what makes the cookie alone worth nothing. A session (and a pending code) is good
/// only on the listener it was made for, only while the key's state has not changed since
/// (`KeySession.keyEpoch`: a lock ends it), and for at most `sessionLifetime`. Codes and
/// sessions are 256-bit random values held in memory only: a restart ends every session.
public final class DashboardSessions: Sendable {
    /// What `issueCode` hands the owner.
    public struct Code: Sendable {
        public let value: String
        public let expiresIn: Duration
    }

    /// What trading a code gives the browser.
    public struct Session: Sendable {
        public let cookie: String
        /// Sent by the page as `X-Agent-Dashboard` with every view it reads.
        public let secret: String
        public let lifetime: Duration
    }

    /// What a request must carry: the cookie for the page and its assets; the cookie and the
    /// page's secret for the views (data).
    public enum Need: Sendable {
        case page
        case view(secret: String?)
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
        let epoch: Int
    }

    private struct Live {
        let listenerPort: Int
        let expires: ContinuousClock.Instant
        let epoch: Int
        let secret: String
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
    private let epoch: @Sendable () -> Int

    /// `epoch` is the key session's state counter (`KeySession.keyEpoch`).
    public init(epoch: @escaping @Sendable () -> Int, clock now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.epoch = epoch
        self.now = now
    }

    /// The header the page sends its secret in.
    static let secretField = HTTPField.Name("X-Agent-Dashboard")!

    /// The cookie's name: one per listener port, since browsers send a loopback cookie to every port.
    public static func cookieName(port: Int) -> String { "venice_agent_dashboard_\(port)" }

    /// A fresh one-time code for the listener on `port`.
    public func issueCode(listenerPort: Int) -> Code {
        let value = Hex.encode(SecureRandom.bytes(count: 32))
        let now = self.now()
        let epoch = self.epoch()
        state.withLock { s in
            s.codes = s.codes.filter { $0.value.expires > now && $0.value.epoch == epoch }
            if s.codes.count >= Self.maxCodes, let oldest = s.codes.min(by: { $0.value.expires < $1.value.expires }) {
                s.codes[oldest.key] = nil
            }
            s.codes[value] = Pending(listenerPort: listenerPort, expires: now + Self.codeLifetime, epoch: epoch)
        }
        return Code(value: value, expiresIn: Self.codeLifetime)
    }

    /// Trades `code` for a session on the listener on `port`. A code is gone after its first
    /// presentation, whether or not it was accepted.
    public func redeem(code: String, listenerPort: Int) throws(Refusal) -> Session {
        let now = self.now()
        let cookie = Hex.encode(SecureRandom.bytes(count: 32))
        let secret = Hex.encode(SecureRandom.bytes(count: 32))
        let epoch = self.epoch()
        let accepted: Bool = state.withLock { s in
            guard let pending = s.codes.removeValue(forKey: code) else { return false }
            guard pending.expires > now, pending.listenerPort == listenerPort, pending.epoch == epoch else { return false }
            s.sessions = s.sessions.filter { $0.value.expires > now && $0.value.epoch == epoch }
            if s.sessions.count >= Self.maxSessions, let oldest = s.sessions.min(by: { $0.value.expires < $1.value.expires }) {
                s.sessions[oldest.key] = nil
            }
            s.sessions[cookie] = Live(listenerPort: listenerPort, expires: now + Self.sessionLifetime, epoch: epoch, secret: secret)
            return true
        }
        guard accepted else { throw .codeRefused }
        return Session(cookie: cookie, secret: secret, lifetime: Self.sessionLifetime)
    }

    /// Whether one of `cookies` is a live session of the listener on `port` that meets `need`.
    /// Every value is tried: a page on another loopback port can add a cookie of the same name
    /// (cookies ignore ports), and must not thereby hide the real one.
    public func isLive(cookies: [String], need: Need, listenerPort: Int) -> Bool {
        let now = self.now()
        let epoch = self.epoch()
        return state.withLock { s in
            for cookie in cookies {
                guard let live = s.sessions[cookie] else { continue }
                guard live.expires > now, live.epoch == epoch else {
                    s.sessions[cookie] = nil
                    continue
                }
                guard live.listenerPort == listenerPort else { continue }
                switch need {
                case .page: return true
                case .view(let secret?) where Self.same(secret, live.secret): return true
                case .view: continue
                }
            }
            return false
        }
    }

    /// Compares two secrets in time independent of where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    /// The values of this listener's session cookie among a request's `Cookie` header values (at most 8).
    public static func cookies(in headerValues: [String], port: Int) -> [String] {
        let name = cookieName(port: port)
        var found: [String] = []
        for value in headerValues {
            for pair in value.split(separator: ";") {
                let trimmed = pair.drop(while: { $0 == " " || $0 == "\t" })
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                let cookie = trimmed[trimmed.index(after: equals)...].trimmingSuffix(while: { $0 == " " || $0 == "\t" })
                if !cookie.isEmpty, found.count < 8 { found.append(String(cookie)) }
            }
        }
        return found
    }
}

extension Substring {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var end = endIndex
        while end > startIndex, predicate(self[index(before: end)]) { end = index(before: end) }
        return self[startIndex..<end]
    }
}
