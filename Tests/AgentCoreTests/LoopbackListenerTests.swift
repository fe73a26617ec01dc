@testable import AgentCore
import Foundation
import NIOEmbedded
#if canImport(Glibc)
import Glibc
#endif
import Testing
import VeniceClient
import VeniceSimulator
import WalletCrypto

/// The loopback TCP listener for OpenAI-compatible apps: token clients only, loopback Host and
/// Origin only, never the owner's API.
@Suite("Loopback TCP listener")
struct LoopbackListenerTests {
    static let chat = #"{"model":"venice-uncensored-1-2","messages":[{"role":"user","content":"hi"}],"max_tokens":10}"#

    func withListener<T: Sendable>(_ body: @Sendable (AgentHarness) async throws -> T) async throws -> T {
        try await withAgent(agent: { $0.listen = LoopbackAddress(host: "127.0.0.1", port: 0, family: .ipv4) }, body)
    }

    @Test("listen addresses: loopback forms are accepted, anything that reaches the network is refused naming the problem",
          arguments: [
              ("127.0.0.1:8439", "127.0.0.1:8439"), ("127.0.0.1:0", "127.0.0.1:0"), ("127.1.2.3:80", "127.1.2.3:80"),
              ("[::1]:8439", "[::1]:8439"), ("localhost:9000", "127.0.0.1:9000"), ("LOCALHOST:9000", "127.0.0.1:9000"),
              ("[0:0:0:0:0:0:0:1]:1", "[::1]:1"),
          ])
    func listenAccepted(text: String, expected: String) throws {
        #expect(try LoopbackAddress(parsing: text).description == expected)
    }

    @Test("listen addresses that are not loopback, or not addresses, are refused",
          arguments: [
              ("0.0.0.0:8439", "not loopback"), ("192.168.1.2:80", "not loopback"), ("[::]:80", "not loopback"),
              ("[::ffff:127.0.0.1]:80", "not loopback"), ("example.com:80", "must be 127.0.0.1"), ("127.0.0.1", "no port"),
              ("127.0.0.1:65536", "port must be"), ("127.0.0.1:-1", "port must be"), ("127.0.0.1:", "port must be"),
              ("::1:80", "brackets"), ("[::1]80", "needs a port"), ("[::1:80", "unclosed"), ("127.000.0.1:80", "must be 127.0.0.1"),
              ("[fe80::1%lo]:80", "must be 127.0.0.1"), ("127.0.0.1:8o", "port must be"),
          ])
    func listenRefused(text: String, reason: String) {
        #expect { try LoopbackAddress(parsing: text) } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains(text)
        }
    }

    @Test("the TCP peer's uid is the one the kernel lists for the client's socket, matched on both endpoints")
    func peerTable() {
        let table = Array("""
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 0100007F:20F7 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1
           1: 0100007F:20F7 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 2 1
           2: 0100007F:D431 0100007F:20F7 01 00000000:00000000 00:00000000 00000000  1001        0 3 1
           3: 0100007F:D432 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1002        0 4 1
           4: 0100007F:D433 0100007F:20F7 06 00000000:00000000 03:00000F2C 00000000     0        0 0 3
           5: 0100007F:D434 0100007F:20F7 01 00000000:00000000 00:00000000 00000000     0        0 0 1

        """.utf8)
        // The client at 127.0.0.1:54321 (D431) talking to our 127.0.0.1:8439 (20F7).
        #expect(LoopbackPeer.uid(in: table, clientEndpoint: "0100007F:D431", serverEndpoint: "0100007F:20F7") == 1001)
        // A client that closed at once leaves a TIME_WAIT row with uid 0 and no inode: never root.
        #expect(LoopbackPeer.uid(in: table, clientEndpoint: "0100007F:D433", serverEndpoint: "0100007F:20F7") == nil)
        #expect(LoopbackPeer.uid(in: table, clientEndpoint: "0100007F:D434", serverEndpoint: "0100007F:20F7") == nil)
        // Same client port towards another server: not ours.
        #expect(LoopbackPeer.uid(in: table, clientEndpoint: "0100007F:D432", serverEndpoint: "0100007F:20F7") == nil)
        #expect(LoopbackPeer.uid(in: Array("junk\n 0: x".utf8), clientEndpoint: "0100007F:D431", serverEndpoint: "0100007F:20F7") == nil)
        #expect(LoopbackPeer.words([127, 0, 0, 1]) == "0100007F")
        #expect(LoopbackPeer.words(Array(repeating: 0, count: 15) + [1]) == "000000000000000000000000" + "01000000")
    }

    @Test("Host and Origin rules: the listener's own loopback names with its port; loopback pages only")
    func hostAndOriginRules() {
        let bound = LoopbackAddress(host: "127.0.0.1", port: 8439, family: .ipv4)
        for host in ["127.0.0.1:8439", "localhost:8439", "LOCALHOST:8439", "[::1]:8439"] {
            #expect(LoopbackGuard.isOwnHost(host, listener: bound), "\(host)")
        }
        for host in ["", "127.0.0.1", "localhost", "evil.example:8439", "127.0.0.1:8440", "127.0.0.1.evil.example:8439",
                     "localhost:8439@evil", "0.0.0.0:8439"] {
            #expect(!LoopbackGuard.isOwnHost(host, listener: bound), "\(host)")
        }
        #expect(LoopbackGuard.isOwnHost("localhost", listener: LoopbackAddress(host: "127.0.0.1", port: 80, family: .ipv4)))
        for origin in ["http://localhost:3000", "http://127.0.0.1", "https://127.5.0.1:1", "http://[::1]:8080", "HTTP://LOCALHOST"] {
            #expect(LoopbackGuard.isLoopbackOrigin(origin), "\(origin)")
        }
        for origin in ["null", "http://evil.example", "http://localhost.evil.example", "http://127.0.0.1.evil.example",
                       "file://", "http://[::2]", "http://localhost:80x", "chrome-extension://abc", "http://192.168.0.1:80"] {
            #expect(!LoopbackGuard.isLoopbackOrigin(origin), "\(origin)")
        }
    }

    @Test("over TCP a token is required: none, unknown or malformed → 401 in OpenAI's error shape; a client's token is served")
    func tokenRequired() async throws {
        try await withListener { agent in
            let listener = try #require(agent.listener)
            #expect(listener.port > 0)
            let token = try await agent.addClient(#"{"name":"aider","routes":["text"]}"#)
            let none = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat)
            #expect(none.status == 401)
            #expect(none.json?["error"]?["code"]?.stringValue == "AGENT_TOKEN_REQUIRED")
            #expect(none.json?["error"]?["type"]?.stringValue == "authentication_error")
            #expect(none.json?["error"]?["message"]?.stringValue?.contains("vat_") == true)
            let unknown = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat,
                                                     headers: [("Authorization", "Bearer vat_" + String(repeating: "A", count: 43))])
            #expect(unknown.status == 401)
            let malformed = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat,
                                                       headers: [("Authorization", "Bearer sk-not-ours")])
            #expect(malformed.status == 401)
            let served = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat,
                                                    headers: [("Authorization", "Bearer \(token)")])
            #expect(served.status == 200, "\(served.text.prefix(300))")
            #expect(served.json?["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue?.isEmpty == false)
            #expect(served.header("access-control-allow-origin") == nil)
            // A route group the client was not given is still refused over TCP.
            let image = try await agent.tcpRequest("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest,
                                                   headers: [("Authorization", "Bearer \(token)")])
            #expect(image.status == 403)
            #expect(image.json?["error"]?["code"]?.stringValue == "AGENT_ROUTE_NOT_ALLOWED")
            // Without a token the owner's uid alone is not enough over TCP: nothing reached Venice for the refusals.
            let chats = await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/chat/completions") }
            #expect(chats.count == 1)
            // The app's token stays with the agent: Venice sees the wallet's sign-in, never the vat_ token.
            #expect(chats.allSatisfy { $0.header("authorization") == nil && $0.header("sign-in-with-x") != nil })
        }
    }

    @Test("a Host that is not the listener's loopback name is refused 403 before the token is looked at; a foreign Origin likewise")
    func hostAndOriginRefused() async throws {
        try await withListener { agent in
            let listener = try #require(agent.listener)
            let token = try await agent.addClient(#"{"name":"web","routes":["text"]}"#)
            let auth = ("Authorization", "Bearer \(token)")
            let rebound = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat,
                                                     headers: [auth, ("Host", "evil.example:\(listener.port)")])
            #expect(rebound.status == 403)
            #expect(rebound.json?["error"]?["code"]?.stringValue == "AGENT_HOST_REFUSED")
            // No token at all with a bad Host: the Host is what is named, not the token.
            let noToken = try await agent.tcpRequest("GET", "/agent/v1/status", headers: [("Host", "attacker.test")])
            #expect(noToken.json?["error"]?["code"]?.stringValue == "AGENT_HOST_REFUSED")
            let named = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat,
                                                   headers: [auth, ("Host", "localhost:\(listener.port)")])
            #expect(named.status == 200)
            let page = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat,
                                                  headers: [auth, ("Origin", "https://evil.example")])
            #expect(page.status == 403)
            #expect(page.json?["error"]?["code"]?.stringValue == "AGENT_ORIGIN_REFUSED")
            let preflight = try await agent.tcpRequest("OPTIONS", "/api/v1/chat/completions",
                                                       headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")])
            #expect(preflight.status == 403)
            #expect(preflight.header("access-control-allow-origin") == nil)
            let localPage = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: Self.chat,
                                                       headers: [auth, ("Origin", "http://localhost:3000")])
            #expect(localPage.status == 200)
            #expect(localPage.header("access-control-allow-origin") == nil)
            let chats = await agent.requestsAtSimulator().filter { $0.path.hasSuffix("/chat/completions") }
            #expect(chats.count == 2)
        }
    }

    @Test("the owner's API and the metrics are never served over TCP; status, balance and spend answer the token client about itself")
    func ownerAPIStaysOnTheSocket() async throws {
        try await withListener { agent in
            let listener = try #require(agent.listener)
            let token = try await agent.addClient(#"{"name":"app","routes":["text"],"daily_usd":1}"#)
            let auth = ("Authorization", "Bearer \(token)")
            for (method, path) in [("POST", "/agent/v1/unlock"), ("POST", "/agent/v1/lock"), ("POST", "/agent/v1/topup"),
                                   ("GET", "/agent/v1/clients"), ("POST", "/agent/v1/clients"), ("GET", "/agent/v1/audit"),
                                   ("POST", "/agent/v1/apikey/mint"), ("GET", "/agent/v1/paths"), ("GET", "/metrics"),
                                   ("GET", "/agent/v1/requests/x"), ("GET", "//metrics"), ("GET", "///metrics"),
                                   ("GET", "//agent/v1/clients"), ("GET", "/agent//v1/audit")] {
                for headers in [[auth], []] {
                    let answer = try await agent.tcpRequest(method, path, json: method == "POST" ? #"{"password":"x"}"# : nil, headers: headers)
                    // The owner's read-only views answer a request with no credential at all that
                    // a dashboard session is needed; everything else is the socket's only.
                    let view = method == "GET" && headers.isEmpty
                        && LoopbackGuard.dashboardViews.contains(LoopbackGuard.collapsingSlashes(path))
                    #expect(answer.status == (view ? 401 : 403), "\(method) \(path): \(answer.status)")
                    #expect(answer.json?["error"]?["code"]?.stringValue == (view ? "AGENT_DASHBOARD_SESSION_REQUIRED" : "AGENT_SOCKET_ONLY"),
                            "\(method) \(path)")
                }
            }
            #expect(agent.session.isUnlocked)
            let status = try await agent.tcpRequest("GET", "/agent/v1/status", headers: [auth])
            #expect(status.status == 200)
            #expect(status.json?["client"]?.stringValue == "app")
            #expect(status.json?["listen"]?.stringValue == listener.description)
            #expect(status.json?["address"]?.stringValue == agent.address.checksummed)
            #expect(status.json?["connections"] == nil && status.json?["upstream"] == nil)
            let spend = try await agent.tcpRequest("GET", "/agent/v1/spend", headers: [auth])
            #expect(spend.status == 200)
            // The owner, over the socket, sees the listener's address and gets the app's lines.
            let owner = try await agent.request("GET", "/agent/v1/status")
            #expect(owner.json?["listen"]?.stringValue == listener.description)
            let added = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"second","routes":["text"]}"#)
            #expect(added.json?["openai_base_url"]?.stringValue == "http://\(listener.description)/api/v1")
        }
    }

    @Test("without a listener nothing listens on TCP and status says listen null")
    func noListenerByDefault() async throws {
        try await withAgent { agent in
            #expect(agent.listener == nil)
            let status = try await agent.request("GET", "/agent/v1/status")
            #expect(status.json?["listen"] == JSONValue.null)
            let added = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"x","routes":["text"]}"#)
            #expect(added.json?["openai_base_url"] == nil)
        }
    }
}

extension LoopbackListenerTests {
    @Test("TCP connections are counted apart from the socket's: a full TCP quota never takes the owner's socket connections")
    func tcpConnectionsHaveTheirOwnQuota() throws {
        let owner: UInt32 = 1000
        let registry = ConnectionRegistry(limits: .init(ownerConnections: 4, otherConnections: 2), ownerUID: owner)
        let peer = PeerCredentials(uid: owner, gid: 0, pid: 0)
        #expect(registry.cap(for: owner, transport: .loopbackTCP) == 2 && registry.cap(for: owner) == 4)
        // Two TCP connections being answered fill the TCP quota: a third is refused, not evicting anything.
        var tcp: [EmbeddedChannel] = []
        for _ in 0..<2 {
            let channel = EmbeddedChannel()
            let info = try #require(registry.open(channel, peer: peer, identity: nil, transport: .loopbackTCP))
            registry.set(info.id, .answering)
            tcp.append(channel)
        }
        #expect(registry.open(EmbeddedChannel(), peer: peer, identity: nil, transport: .loopbackTCP) == nil)
        // The socket still has all four of the owner's places.
        for _ in 0..<4 {
            let info = try #require(registry.open(EmbeddedChannel(), peer: peer, identity: nil, transport: .unixSocket))
            registry.set(info.id, .answering)
        }
        #expect(registry.snapshot.open == 6 && registry.snapshot.evicted == 0)
    }
}

extension LoopbackListenerTests {
    /// Listening sockets moved to consecutive descriptors from `base`, as systemd would pass them.
    static func passed(_ sockets: [Int32], base: Int32) -> [Int32] {
        sockets.enumerated().map { index, fd in
            let target = base + Int32(index)
            _ = dup2(fd, target)
            close(fd)
            return target
        }
    }

    static func listening(_ family: Int32, host: String) -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            _ = inet_pton(AF_INET, host, &address.sin_addr)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        _ = listen(fd, 4)
        return fd
    }

    @Test("socket activation: the sockets systemd passed are read by their kind; another process's, a non-listening or a non-loopback socket is refused")
    func activationParsing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let unixFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = dir + "/agent.sock"
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(unixFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        _ = listen(unixFD, 4)
        let fds = Self.passed([unixFD, Self.listening(AF_INET, host: "127.0.0.1")], base: 900)
        defer { fds.forEach { close($0) } }
        let environment = ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "2", "LISTEN_FDNAMES": "unix:tcp"]
        let activation = try #require(try SocketActivation.inherited(environment: environment, firstDescriptor: 900))
        #expect(activation.unix?.address == path && activation.unix?.descriptor == 900)
        #expect(activation.tcp?.address.host == "127.0.0.1" && (activation.tcp?.address.port ?? 0) > 0 && activation.tcp?.descriptor == 901)
        // Meant for another process, or not at all: nothing is taken.
        #expect(try SocketActivation.inherited(environment: ["LISTEN_PID": "1", "LISTEN_FDS": "2"], firstDescriptor: 900) == nil)
        #expect(try SocketActivation.inherited(environment: [:], firstDescriptor: 900) == nil)
        for count in ["0", "9", "two"] {
            #expect(throws: SocketActivation.Invalid.self) {
                try SocketActivation.inherited(environment: ["LISTEN_PID": String(getpid()), "LISTEN_FDS": count], firstDescriptor: 900)
            }
        }
        let wide = Self.passed([Self.listening(AF_INET, host: "0.0.0.0")], base: 910)
        let idle = Self.passed([socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)], base: 911)
        defer { (wide + idle).forEach { close($0) } }
        #expect { try SocketActivation.inherited(environment: ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "1"], firstDescriptor: 910) }
            throws: { "\($0)".contains("non-loopback") }
        #expect { try SocketActivation.inherited(environment: ["LISTEN_PID": String(getpid()), "LISTEN_FDS": "1"], firstDescriptor: 911) }
            throws: { "\($0)".contains("not a listening") }
    }
}

extension LoopbackListenerTests {
    @Test("the kernel names the uid of a connected client socket by exact lookup; a closed one is not found")
    func kernelLookupOfAClientSocket() throws {
        let server = Self.listening(AF_INET, host: "127.0.0.1")
        defer { close(server) }
        func port(_ fd: Int32, peer: Bool) -> UInt16 {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length)
            } }
            return UInt16(bigEndian: address.sin_port)
        }
        let serverPort = port(server, peer: false)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = serverPort.bigEndian
        _ = inet_pton(AF_INET, "127.0.0.1", &target.sin_addr)
        let connected = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }
        #expect(connected == 0)
        let accepted = accept(server, nil, nil)
        defer { close(accepted) }
        let clientPort = port(client, peer: false)
        let loopback: [UInt8] = [127, 0, 0, 1]
        let lookup = LoopbackPeer.kernelLookup(v6: false, client: (loopback, clientPort), server: (loopback, serverPort))
        #expect(lookup == .found(getuid()), "\(lookup)")
        close(client)
        let after = LoopbackPeer.kernelLookup(v6: false, client: (loopback, clientPort), server: (loopback, serverPort))
        #expect(after == .none, "\(after)")
    }
}


extension LoopbackListenerTests {
    @Test("/mcp bodies count against the agent-wide bound on bodies held whole")
    func mcpBodiesAreBounded() async throws {
        try await withAgent(agent: {
            $0.listen = LoopbackAddress(host: "127.0.0.1", port: 0, family: .ipv4)
            $0.wholeBodyMemoryBytes = 1 << 20
        }) { agent in
            let token = try await agent.addClient(#"{"name":"host","routes":["text"]}"#)
            let big = #"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":""# + String(repeating: "a", count: 2 << 20) + #""}}"#
            let answer = try await agent.tcpRequest("POST", "/mcp", json: big, headers: [("Authorization", "Bearer \(token)"),
                                                                                      ("Accept", "application/json, text/event-stream")])
            #expect(answer.status == 503 && answer.text.contains("AGENT_BUSY"), "\(answer.status) \(answer.text.prefix(200))")
        }
    }
}
