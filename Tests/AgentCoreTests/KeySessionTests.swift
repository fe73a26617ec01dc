import AgentCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import WalletCrypto
import X402Protocol

@Suite("Key session")
struct KeySessionTests {
    static func session(lifetime: Duration?) async throws -> (KeySession, String) {
        let dir = try temporaryDirectory()
        let keystore = try makeKeystore(in: dir)
        let session = try KeySession(keystorePath: keystore.path, lifetime: lifetime)
        var pw = Array("test password".utf8)
        try await session.unlock(password: SecretBytes(zeroingSource: &pw))
        return (session, dir)
    }

    @Test("the key is dropped after its idle lifetime and signing then fails")
    func lifetime() async throws {
        let (session, dir) = try await Self.session(lifetime: .milliseconds(200))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(session.isUnlocked)
        #expect(!session.lockIfIdle())
        _ = try session.signPersonalMessage([1])
        try await Task.sleep(for: .milliseconds(300))
        #expect(session.lockIfIdle())
        #expect(!session.isUnlocked)
        #expect(throws: X402Error.self) { try session.signPersonalMessage([1]) }
    }

    @Test("use keeps the key alive; no lifetime never locks")
    func activityResets() async throws {
        let (session, dir) = try await Self.session(lifetime: nil)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(!session.lockIfIdle(now: .now + .seconds(100_000)))
        #expect(session.isUnlocked)
    }

    @Test("a wrong password leaves the session locked and is reported as such")
    func wrongPassword() async throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keystore = try makeKeystore(in: dir)
        let session = try KeySession(keystorePath: keystore.path, lifetime: nil)
        var pw = Array("nope".utf8)
        await #expect(throws: KeySession.UnlockError.failed(.wrongPasswordOrCorrupted)) { try await session.unlock(password: SecretBytes(zeroingSource: &pw)) }
        #expect(!session.isUnlocked)
        #expect(session.address == keystore.address)
    }

    @Test("the agent process is made non-dumpable")
    func hardening() {
        #expect(AgentServer.hardenProcess())
        #expect(!AgentServer.isDumpable)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        #expect(limit.rlim_cur == 0)
    }
}
