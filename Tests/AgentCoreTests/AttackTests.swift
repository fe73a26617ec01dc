@testable import AgentCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import VeniceSimulator
import WalletCrypto

/// Identity, admin rights and connections, tried as a hostile local process would.
@Suite("Identity, admin rights and connections under attack")
struct AttackTests {
    static let me = UInt32(getuid())
    static let adminCalls: [(String, String, String?)] = [
        ("POST", "/agent/v1/clients", #"{"name":"x"}"#), ("GET", "/agent/v1/clients", nil), ("DELETE", "/agent/v1/clients/x", nil),
        ("POST", "/agent/v1/unlock", #"{"password":"test password"}"#), ("POST", "/agent/v1/lock", nil),
        ("POST", "/agent/v1/topup", #"{"usd":10}"#), ("GET", "/agent/v1/audit", nil),
        ("POST", "/agent/v1/apikey/mint", #"{"type":"ADMIN"}"#), ("GET", "/agent/v1/apikey", nil), ("DELETE", "/agent/v1/apikey/k", nil),
    ]

    @Test("another allowed uid is served under [other_uids], accounted as itself, and never administers")
    func otherUIDsNeverAdminister() async throws {
        try await withAgent(agent: {
            $0.ownerUID = Self.me &+ 4242
            $0.allowedUIDs = [Self.me]
            $0.otherUIDsPolicy = ClientPolicy(name: "other_uids", routes: ["image"], maxRequestMicro: nil, dailyMicro: 1_000_000, source: .otherUID(0))
        }) { agent in
            for (method, path, body) in Self.adminCalls {
                let answer = try await agent.request(method, path, json: body)
                #expect(answer.status == 403, "\(method) \(path): \(answer.status)")
                #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_NOT_ALLOWED")
            }
            #expect(agent.session.isUnlocked)
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: ConcurrencyTests.tinyImage).status == 200)
            #expect(try await agent.request("POST", "/api/v1/audio/speech", json: #"{"model":"tts-kokoro","input":"hi","voice":"af_sky"}"#).status == 403)
            let spend = try await agent.request("GET", "/agent/v1/spend")
            #expect(spend.json?["rows"]?.arrayValue?.compactMap { $0["key"]?.stringValue } == ["uid-\(Self.me)"])
        }
    }

    @Test("a client token is read in any scheme case and spacing; any other vat_ is 401, never the owner's policy")
    func tokenConfinement() async throws {
        try await withAgent { agent in
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"tok","routes":["image","wallet"]}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            // Variants of the one accepted form select the client, who may not administer.
            for header in ["bearer \(token)", "Bearer  \(token)", "BEARER\t\(token)", "Bearer \(token)  "] {
                let answer = try await agent.request("POST", "/agent/v1/unlock", json: #"{"password":"test password"}"#,
                                                     headers: [("Authorization", header)])
                #expect(answer.status == 403, "\(header.prefix(12)): \(answer.status)")
                #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_NOT_ALLOWED")
            }
            let refused: [[(String, String)]] = [
                [("Authorization", "Bearer vat_00112233445566778899aabbccddeeff0011223344556677")],
                [("Authorization", "Basic \(token)")],
                [("Authorization", "Bearer\(token)")],
                [("Authorization", "Bearer \(token) extra")],
                [("Authorization", "Bearer \(token.uppercased())")],
                [("X-Api-Key", token)],
                [("Authorization", "Bearer \(token)"), ("Authorization", "Bearer other")],
                [("Authorization", "Bearer sk-1"), ("Authorization", "Bearer \(token)")],
            ]
            for headers in refused {
                let answer = try await agent.request("POST", "/agent/v1/lock", headers: headers)
                #expect(answer.status == 401, "\(headers.map(\.0)): \(answer.status) \(answer.text.prefix(120))")
            }
            let inQuery = try await agent.request("GET", "/api/v1/models?key=\(token)")
            #expect(inQuery.status == 401)
            #expect(agent.session.isUnlocked)
            // A non-agent bearer is the owner's program's own business: stripped, default policy.
            #expect(try await agent.request("GET", "/agent/v1/audit", headers: [("Authorization", "Bearer sk-1234")]).status == 200)
        }
    }

    @Test("a token client cannot lock the agent, and sees only its own spending however it is grouped")
    func tokenClientsSeeOnlyThemselves() async throws {
        try await withAgent { agent in
            _ = try await agent.request("POST", "/api/v1/image/generate", json: ConcurrencyTests.tinyImage)
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"peek","routes":["image","wallet"]}"#)
            let auth = [("Authorization", "Bearer \(try #require(created.json?["token"]?.stringValue))")]
            let lock = try await agent.request("POST", "/agent/v1/lock", headers: auth)
            #expect(lock.status == 403)
            #expect(agent.session.isUnlocked)
            _ = try await agent.request("POST", "/api/v1/image/generate", json: ConcurrencyTests.tinyImage, headers: auth)
            for by in ["client", "model", "route", "day"] {
                let mine = try await agent.request("GET", "/agent/v1/spend?by=\(by)", headers: auth)
                #expect(mine.json?["rows"]?.arrayValue?.compactMap { $0["requests"]?.intValue }.reduce(0, +) == 1, "by=\(by): \(mine.text)")
                let all = try await agent.request("GET", "/agent/v1/spend?by=\(by)")
                #expect(all.json?["rows"]?.arrayValue?.compactMap { $0["requests"]?.intValue }.reduce(0, +) == 2, "by=\(by): \(all.text)")
            }
        }
    }

    @Test("a restricted [default] cannot create a broader client; omitted limits are inherited; admin = false takes admin away")
    func noClientBroaderThanItsCreator() async throws {
        let restricted = ClientPolicy(name: "default", routes: ["image", "wallet"], maxRequestMicro: 100_000, dailyMicro: 1_000_000, source: .defaultClient)
        try await withAgent(agent: { $0.defaultPolicy = restricted }) { agent in
            for body in [#"{"name":"a"}"#.replacingOccurrences(of: "}", with: #","routes":["audio"]}"#),
                         #"{"name":"b","daily_usd":5}"#, #"{"name":"c","max_request_usd":1}"#] {
                let answer = try await agent.request("POST", "/agent/v1/clients", json: body)
                #expect(answer.status == 403, "\(body): \(answer.text)")
                #expect(answer.json?["error"]?["code"]?.stringValue == "AGENT_CLIENT_TOO_BROAD")
            }
            let inherited = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"d","routes":["image"]}"#)
            #expect(inherited.status == 200)
            #expect(inherited.json?["daily_usd"]?.doubleValue == 1 && inherited.json?["max_request_usd"]?.doubleValue == 0.1)
        }
        try await withAgent(agent: { $0.defaultPolicyAdministers = false }) { agent in
            let answer = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"e"}"#)
            #expect(answer.status == 403)
            #expect(answer.text.contains("admin = false"))
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: ConcurrencyTests.tinyImage).status == 200)
        }
    }

    @Test("a binding only narrows the policy its caller would otherwise have")
    func bindingsOnlyNarrow() async throws {
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let generous = ClientPolicy(name: "bound", routes: nil, maxRequestMicro: nil, dailyMicro: 50_000_000, source: .binding(exe))
        let base = ClientPolicy(name: "default", routes: ["image"], maxRequestMicro: 20_000, dailyMicro: 1_000_000, source: .defaultClient)
        let narrowed = generous.narrowed(to: base)
        #expect(narrowed.routes == ["image"] && narrowed.maxRequestMicro == 20_000 && narrowed.dailyMicro == 1_000_000 && narrowed.name == "bound")
        try await withAgent(agent: { $0.defaultPolicy = base; $0.bindings = [ClientBinding(executable: exe, unit: nil, policy: generous)] }) { agent in
            let expensive = try await agent.request("POST", "/api/v1/image/generate",
                                                    json: #"{"model":"gpt-image-2","prompt":"x","resolution":"4K","quality":"high"}"#)
            #expect(expensive.status == 402)
            #expect(expensive.json?["error"]?["client"]?.stringValue == "bound")
            #expect(try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"f"}"#).status == 403)
        }
    }

    @Test("metric labels are route templates: crafted paths neither inject labels nor grow /metrics")
    func metricsLabelsAreTemplates() async throws {
        try await withAgent { agent in
            let crafted = try await agent.request("GET", "/agent/v1/x%22%7D,evil=%221")
            #expect(crafted.status == 404)
            _ = try await agent.request("DELETE", "/agent/v1/clients/nobody")
            let before = try await agent.request("GET", "/metrics").text.split(separator: "\n").count
            for index in 0..<300 { _ = try await agent.request("GET", "/agent/v1/unknown-\(index)") }
            for index in 0..<50 { _ = try await agent.request("DELETE", "/agent/v1/clients/nobody-\(index)") }
            let metrics = try await agent.request("GET", "/metrics").text
            #expect(!metrics.contains("evil"))
            #expect(!metrics.contains("unknown-") && !metrics.contains("nobody-"))
            #expect(metrics.contains(#"route="/agent/v1/clients/{name}""#))
            #expect(metrics.contains(#"route="unmatched""#))
            // Unique paths add no series: only the /metrics request's own line may appear.
            #expect(metrics.split(separator: "\n").count <= before + 1)
        }
    }

    @Test("a flood of half-open connections cannot lock the owner out; idle ones are evicted, slow heads time out")
    func connectionFloodLeavesTheOwnerServed() async throws {
        try await withAgent(agent: { $0.connectionLimits = .init(ownerConnections: 16, otherConnections: 4); $0.headerTimeout = .milliseconds(300) }) { agent in
            var flood: [RawConnection] = []
            for _ in 0..<200 { flood.append(try RawConnection(path: agent.socketPath)) }
            // Half a request head: it must time out, not hold the connection forever.
            try flood[199].send("GET /agent/v1/status HTTP/1.1\r\nHost: a")
            let status = try await agent.request("GET", "/agent/v1/status")
            #expect(status.status == 200)
            #expect(try await agent.request("POST", "/api/v1/image/generate", json: ConcurrencyTests.tinyImage).status == 200)
            #expect(try flood[199].waitForClose(seconds: 15))
            let live = flood.filter { $0.isOpen() }.count
            #expect(live <= 16, "\(live) connections still open")
            flood.forEach { $0.close() }
        }
    }

    @Test("a client that vanishes mid-upload leaves no request in progress (shutdown does not wait for it)")
    func vanishedUploadDoesNotDelayShutdown() async throws {
        try await withAgent(agent: { $0.shutdownGraceSeconds = 120 }) { agent in
            let connection = try RawConnection(path: agent.socketPath)
            try connection.send("POST /api/v1/audio/transcriptions HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 5000000\r\n\r\n--x\r\n")
            try await Task.sleep(for: .milliseconds(300))
            connection.close()
            // Only the status request itself is in progress once the vanished one is cleaned up.
            var inProgress = -1
            for _ in 0..<300 {
                inProgress = try await agent.request("GET", "/agent/v1/status").json?["requests_in_progress"]?.intValue ?? -1
                if inProgress == 1 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(inProgress == 1)
        }
    }

    @Test("a client that stops reading its answer is cut off after the body timeout, so it cannot keep an upstream slot")
    func stalledReaderIsCutOff() async throws {
        try await withAgent(agent: { $0.bodyTimeout = .milliseconds(500) }) { agent in
            let connection = try RawConnection(path: agent.socketPath)
            // 1,200 characters are 30 s of WAV (1.4 MB): far more than the socket's buffers hold.
            let text = String(repeating: "a sentence to read aloud. ", count: 48)
            let body = #"{"model":"tts-kokoro","input":"\#(text)","voice":"af_sky","response_format":"wav"}"#
            try connection.send("POST /api/v1/audio/speech HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body)
            // Read nothing until the agent hangs up (bounded), then take what it had sent.
            #expect(await connection.waitForHangUp(seconds: 60), "the agent kept the connection of a client that stopped reading")
            let (received, closed) = connection.readUntilClosed(seconds: 15)
            #expect(closed)
            let head = String(decoding: received.prefix(4096), as: UTF8.self)
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(head.prefix(200))")
            #expect(length.map { received.count < $0 } == true, "received \(received.count) of \(String(describing: length))")
            let status = try await agent.request("GET", "/agent/v1/status")
            #expect(status.json?["in_flight"]?.doubleValue == 0)
        }
    }

    @Test("stalled request bodies cannot lock the owner out, and refused connections are closed")
    func stalledBodiesAreEvictedAndTimedOut() async throws {
        try await withAgent(agent: { $0.connectionLimits = .init(ownerConnections: 8, otherConnections: 4); $0.bodyTimeout = .milliseconds(500) }) { agent in
            var stalled: [RawConnection] = []
            for _ in 0..<20 {
                let connection = try RawConnection(path: agent.socketPath)
                try connection.send("POST /api/v1/image/generate HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
                stalled.append(connection)
            }
            #expect(try await agent.request("GET", "/agent/v1/status").status == 200)
            // A body that stops arriving is cut after the body timeout (or its connection was evicted).
            for (index, connection) in stalled.enumerated() {
                #expect(try connection.waitForClose(seconds: 15), "connection \(index) is still open")
            }
            stalled.forEach { $0.close() }
        }
    }
}

extension AttackTests {
    @Test("the socket folder must be a real folder of ours that nobody else can write", arguments: ["world-writable", "group-writable", "symlink", "foreign-owner"])
    func socketFolderIsChecked(_ kind: String) throws {
        let root = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = root + "/sock"
        switch kind {
        case "world-writable":
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            chmod(folder, 0o1777)
        case "group-writable":
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            chmod(folder, 0o770)
        case "symlink":
            try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: false)
            chmod(root + "/real", 0o700)
            try FileManager.default.createSymbolicLink(atPath: folder, withDestinationPath: root + "/real")
        default:
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            chmod(folder, 0o700)
            // Only root can give a folder away; as anyone else the case cannot be set up.
            guard getuid() == 0 else { return }
            chown(folder, 65534, 65534)
        }
        do {
            try SocketPreparation.prepare(path: folder + "/agent.sock")
            Issue.record("a \(kind) socket folder was accepted")
        } catch {
            #expect(String(describing: error).contains(folder), "\(error)")
        }
        // A folder the agent makes itself is private and accepted.
        try SocketPreparation.prepare(path: root + "/fresh/agent.sock")
        var st = stat()
        #expect(stat(root + "/fresh", &st) == 0 && st.st_mode & 0o777 == 0o700)
    }
}

/// A raw client connection to the agent's socket (for half-open and vanishing clients).
final class RawConnection: @unchecked Sendable {
    private var fd: Int32

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { Glibc.close(fd); throw HarnessError("connect failed: \(errno)") }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard n == bytes.count else { throw HarnessError("send failed") }
    }

    /// True when the peer has closed (a read returns 0 or an error) without waiting.
    func isOpen() -> Bool {
        guard fd >= 0 else { return false }
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollfd, 1, 0) > 0 else { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    /// Waits (bounded) for the agent to close the connection.
    func waitForClose(seconds: Int) throws -> Bool {
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pollfd, 1, Int32(seconds * 1000)) > 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { return n == 0 || errno != EAGAIN }
        }
    }

    /// Waits, reading nothing, until the peer has closed its end (POLLHUP), polling every 100 ms.
    func waitForHangUp(seconds: Int) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            let readHangUp: Int16 = 0x2000  // POLLRDHUP (Linux), not exported to Swift
            var pollfd = Glibc.pollfd(fd: fd, events: readHangUp, revents: 0)
            if poll(&pollfd, 1, 0) > 0, pollfd.revents & (Int16(POLLHUP) | readHangUp) != 0 { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Reads what arrives until the peer closes (true) or `seconds` pass without an end (false).
    func readUntilClosed(seconds: Int) -> (bytes: [UInt8], closed: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pollfd, 1, 200) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { received += buffer[0..<n]; continue }
            if n == 0 || errno != EAGAIN { return (received, true) }
        }
        return (received, false)
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
