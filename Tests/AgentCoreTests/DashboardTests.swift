@testable import AgentCore
import Foundation
import Synchronization
import Testing
import WalletCrypto

/// The dashboard: one-time links, browser sessions that end with the agent's lock, read-only
/// views, and a listener that serves nothing else when the agent started it for the dashboard.
@Suite("Dashboard")
struct DashboardTests {
    // MARK: codes and sessions

    @Test("a dashboard code works once, on its own listener, within its lifetime")
    func codesWorkOnce() throws {
        let clock = TestClock()
        let sessions = DashboardSessions(epoch: { 0 }, clock: { clock.now })
        let code = sessions.issueCode(listenerPort: 8439)
        #expect(code.value.count == 64)
        let session = try sessions.redeem(code: code.value, listenerPort: 8439)
        #expect(sessions.isLive(cookies: [session.cookie], need: .view(secret: session.secret), listenerPort: 8439))
        #expect(throws: DashboardSessions.Refusal.codeRefused) { try sessions.redeem(code: code.value, listenerPort: 8439) }

        // Another listener's code is refused, and spent by the attempt.
        let other = sessions.issueCode(listenerPort: 8440)
        #expect(throws: DashboardSessions.Refusal.codeRefused) { try sessions.redeem(code: other.value, listenerPort: 8439) }
        #expect(throws: DashboardSessions.Refusal.codeRefused) { try sessions.redeem(code: other.value, listenerPort: 8440) }

        // An unused code expires.
        let late = sessions.issueCode(listenerPort: 8439)
        clock.advance(by: DashboardSessions.codeLifetime + .seconds(1))
        #expect(throws: DashboardSessions.Refusal.codeRefused) { try sessions.redeem(code: late.value, listenerPort: 8439) }
        #expect(throws: DashboardSessions.Refusal.codeRefused) { try sessions.redeem(code: String(repeating: "0", count: 64), listenerPort: 8439) }
    }

    @Test("a dashboard session ends when the key's state changes, after 12 hours, and is good on its own listener only")
    func sessionsEnd() throws {
        let clock = TestClock()
        let epoch = Mutex(0)
        let sessions = DashboardSessions(epoch: { epoch.withLock { $0 } }, clock: { clock.now })
        func live(_ s: DashboardSessions.Session, port: Int = 1) -> Bool {
            sessions.isLive(cookies: [s.cookie], need: .view(secret: s.secret), listenerPort: port)
        }
        let first = try sessions.redeem(code: sessions.issueCode(listenerPort: 1).value, listenerPort: 1)
        #expect(live(first) && !live(first, port: 2))
        #expect(!sessions.isLive(cookies: [first.cookie.uppercased()], need: .page, listenerPort: 1))
        // A code made before a lock dies with it, like the sessions.
        let pending = sessions.issueCode(listenerPort: 1)
        epoch.withLock { $0 += 1 }
        #expect(!live(first))
        #expect(throws: DashboardSessions.Refusal.codeRefused) { try sessions.redeem(code: pending.value, listenerPort: 1) }

        let second = try sessions.redeem(code: sessions.issueCode(listenerPort: 1).value, listenerPort: 1)
        clock.advance(by: DashboardSessions.sessionLifetime - .seconds(1))
        #expect(live(second))
        clock.advance(by: .seconds(2))
        #expect(!live(second))
    }

    @Test("the cookie alone opens the page but reads no data: the views need the page's secret, and a planted cookie hides nothing")
    func viewsNeedTheSecret() throws {
        let sessions = DashboardSessions(epoch: { 0 })
        let session = try sessions.redeem(code: sessions.issueCode(listenerPort: 1).value, listenerPort: 1)
        #expect(sessions.isLive(cookies: [session.cookie], need: .page, listenerPort: 1))
        #expect(!sessions.isLive(cookies: [session.cookie], need: .view(secret: nil), listenerPort: 1))
        #expect(!sessions.isLive(cookies: [session.cookie], need: .view(secret: String(repeating: "0", count: 64)), listenerPort: 1))
        #expect(!sessions.isLive(cookies: [session.cookie], need: .view(secret: session.cookie), listenerPort: 1))
        // A page on another loopback port can add a cookie of the same name; the real one still counts.
        #expect(sessions.isLive(cookies: ["0000", session.cookie], need: .view(secret: session.secret), listenerPort: 1))
    }

    @Test("the session cookie is read by its listener's name among other cookies, every value of it, and nowhere else")
    func cookieParsing() {
        #expect(DashboardSessions.cookies(in: ["a=1; venice_agent_dashboard_8439=abc ; b=2"], port: 8439) == ["abc"])
        #expect(DashboardSessions.cookies(in: ["venice_agent_dashboard_8439=x; y=1", "venice_agent_dashboard_8439=def"], port: 8439) == ["x", "def"])
        #expect(DashboardSessions.cookies(in: ["venice_agent_dashboard_8440=abc"], port: 8439).isEmpty)
        #expect(DashboardSessions.cookies(in: ["venice_agent_dashboard_84390=abc"], port: 8439).isEmpty)
        #expect(DashboardSessions.cookies(in: ["venice_agent_dashboard_8439="], port: 8439).isEmpty)
        #expect(DashboardSessions.cookies(in: [String](repeating: "venice_agent_dashboard_8439=a", count: 20), port: 8439).count == 8)
    }

    // MARK: the running agent

    /// Asks for a link over the socket and returns the listener and the code.
    func link(_ agent: AgentHarness) async throws -> (listener: LoopbackAddress, code: String, json: JSONValue) {
        let answer = try await agent.request("POST", "/agent/v1/dashboard")
        #expect(answer.status == 200, "\(answer.text)")
        guard let url = answer.json?["url"]?.stringValue, let parts = URLComponents(string: url), let port = parts.port,
              let code = parts.queryItems?.first(where: { $0.name == "code" })?.value else {
            throw HarnessError("no dashboard link: \(answer.text)")
        }
        #expect(parts.host == "127.0.0.1" && parts.path == "/dashboard/login")
        return (LoopbackAddress(host: "127.0.0.1", port: port, family: .ipv4), code, answer.json ?? .null)
    }

    static func cookie(from answer: AgentHarness.Answer) -> String? {
        guard let header = answer.header("set-cookie"), let pair = header.split(separator: ";").first else { return nil }
        return String(pair)
    }

    /// What the page sends with each view: its cookie and the secret from the redirect's fragment.
    static func session(from answer: AgentHarness.Answer) throws -> [(String, String)] {
        let cookie = try #require(Self.cookie(from: answer))
        let location = try #require(answer.header("location"))
        let secret = try #require(location.split(separator: "#", maxSplits: 1).last.map(String.init))
        #expect(location == "/dashboard#" + secret && secret.count == 64)
        return [("Cookie", cookie), ("X-Agent-Dashboard", secret)]
    }

    @Test("without a listen address the agent binds one for the dashboard alone; the link trades once for an HttpOnly, SameSite=Strict session")
    func onDemandListener() async throws {
        try await withAgent { agent in
            let (listener, code, json) = try await link(agent)
            #expect(json["dashboard_only"]?.boolValue == true)
            var browser = agent
            browser.listener = listener

            // Nothing without a session: not the page, not the views.
            let bare = try await browser.tcpRequest("GET", "/dashboard")
            #expect(bare.status == 401 && bare.text.contains("AGENT_DASHBOARD_SESSION_REQUIRED"))
            #expect(!bare.text.contains("<html"))
            let view = try await browser.tcpRequest("GET", "/agent/v1/clients")
            #expect(view.status == 401 && view.text.contains("AGENT_DASHBOARD_SESSION_REQUIRED"))

            let login = try await browser.tcpRequest("GET", "/dashboard/login?code=\(code)")
            #expect(login.status == 303 && login.header("location")?.hasPrefix("/dashboard#") == true)
            let setCookie = login.header("set-cookie") ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/"))
            #expect(setCookie.hasPrefix("venice_agent_dashboard_\(listener.port)="))
            let again = try await browser.tcpRequest("GET", "/dashboard/login?code=\(code)")
            #expect(again.status == 403 && again.text.contains("AGENT_DASHBOARD_CODE_REFUSED"))

            let cookie = try #require(Self.cookie(from: login))
            let session = try Self.session(from: login)
            let page = try await browser.tcpRequest("GET", "/dashboard", headers: [("Cookie", cookie)])
            #expect(page.status == 200 && page.text.contains("/dashboard/app.js"))
            let csp = page.header("content-security-policy") ?? ""
            #expect(csp.contains("default-src 'none'") && csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"))
            #expect(page.header("x-frame-options") == "DENY" && page.header("cache-control") == "no-store")
            for asset in ["/dashboard/app.js", "/dashboard/app.css"] {
                let answer = try await browser.tcpRequest("GET", asset, headers: [("Cookie", cookie)])
                #expect(answer.status == 200 && !answer.body.isEmpty, "\(asset)")
            }

            // The views need the page's secret besides the cookie.
            #expect(try await browser.tcpRequest("GET", "/agent/v1/audit", headers: session).status == 200)
            let cookieOnly = try await browser.tcpRequest("GET", "/agent/v1/audit", headers: [("Cookie", cookie)])
            #expect(cookieOnly.status == 401 && cookieOnly.text.contains("AGENT_DASHBOARD_SESSION_REQUIRED"))

            // The dashboard-only listener serves nothing else, session or not.
            let chat = try await browser.tcpRequest("POST", "/api/v1/chat/completions", json: LoopbackListenerTests.chat, headers: session)
            #expect(chat.status == 403 && chat.text.contains("AGENT_DASHBOARD_ONLY"))
            let token = try await agent.addClient(#"{"name":"app"}"#)
            let tokened = try await browser.tcpRequest("POST", "/api/v1/chat/completions", json: LoopbackListenerTests.chat,
                                                       headers: [("Authorization", "Bearer \(token)")])
            #expect(tokened.status == 403 && tokened.text.contains("AGENT_DASHBOARD_ONLY"))
            #expect(try await browser.tcpRequest("GET", "/metrics", headers: session).status == 403)

            // A second link reuses the same listener.
            #expect(try await link(agent).listener.port == listener.port)
        }
    }

    @Test("a dashboard session reads the owner's views and can change nothing: no top-up, lock, client or key")
    func sessionIsReadOnly() async throws {
        try await withAgent { agent in
            let (listener, code, _) = try await link(agent)
            var browser = agent
            browser.listener = listener
            let session = try Self.session(from: try await browser.tcpRequest("GET", "/dashboard/login?code=\(code)"))
            _ = try await agent.addClient(#"{"name":"app","daily_usd":1}"#)
            _ = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)

            for path in ["/agent/v1/status", "/agent/v1/balance", "/agent/v1/spend?by=day&stack=client", "/agent/v1/clients",
                         "/agent/v1/audit", "/agent/v1/topups", "/agent/v1/requests", "/agent/v1/balance/history"] {
                let answer = try await browser.tcpRequest("GET", path, headers: session)
                #expect(answer.status == 200, "\(path): \(answer.text)")
            }
            let status = try await browser.tcpRequest("GET", "/agent/v1/status", headers: session)
            #expect(status.json?["in_flight"] != nil, "the owner's browser sees the owner's status")
            let recent = try await browser.tcpRequest("GET", "/agent/v1/requests?minutes=5", headers: session)
            let rows = recent.json?["requests"]?.arrayValue ?? []
            #expect(rows.contains { $0["route"]?.stringValue == "/api/v1/image/generate" && $0["latency_ms"]?.doubleValue != nil })

            let balanceBefore = try await agent.request("GET", "/agent/v1/balance").json?["balance_usd"]?.doubleValue
            for (method, path, body) in [("POST", "/agent/v1/topup", #"{"usd":5}"#), ("POST", "/agent/v1/lock", "{}"),
                                         ("POST", "/agent/v1/clients", #"{"name":"evil"}"#), ("DELETE", "/agent/v1/clients/app", "{}"),
                                         ("POST", "/agent/v1/apikey/mint", #"{"type":"INFERENCE"}"#), ("POST", "/agent/v1/dashboard", "{}"),
                                         ("GET", "/agent/v1/paths", "{}"), ("GET", "/agent/v1/apikey", "{}"),
                                         ("POST", "/agent/v1/unlock", #"{"password":"x"}"#)] {
                let answer = try await browser.tcpRequest(method, path, json: body, headers: session)
                #expect(answer.status == 403, "\(method) \(path): \(answer.status) \(answer.text)")
            }
            #expect(try await agent.request("GET", "/agent/v1/balance").json?["balance_usd"]?.doubleValue == balanceBefore)
            #expect(agent.session.isUnlocked)
            let clients = try await agent.request("GET", "/agent/v1/clients").json?["clients"]?.arrayValue ?? []
            #expect(clients.compactMap { $0["name"]?.stringValue } == ["app"])

            // A foreign page cannot use the session (the listener's Origin rule: not even another
            // loopback port), nor can a rebinding host.
            for origin in ["http://evil.example", "http://127.0.0.1:9", "http://localhost:\(listener.port + 1)"] {
                let foreign = try await browser.tcpRequest("GET", "/agent/v1/clients", headers: session + [("Origin", origin)])
                #expect(foreign.status == 403 && foreign.text.contains("AGENT_ORIGIN_REFUSED"), "\(origin)")
            }
            #expect(try await browser.tcpRequest("GET", "/agent/v1/clients", headers: session + [("Origin", "http://127.0.0.1:\(listener.port)")]).status == 200)
            let rebound = try await browser.tcpRequest("GET", "/agent/v1/clients", headers: session + [("Host", "evil.example:\(listener.port)")])
            #expect(rebound.status == 403)

            // Locking the agent ends the session.
            #expect(try await agent.request("POST", "/agent/v1/lock").status == 200)
            for path in ["/agent/v1/clients", "/agent/v1/status"] {
                let after = try await browser.tcpRequest("GET", path, headers: session)
                #expect(after.status == 401 && after.text.contains("AGENT_DASHBOARD_SESSION_REQUIRED"), "\(path)")
            }
            let page = try await browser.tcpRequest("GET", "/dashboard", headers: session)
            #expect(page.status == 401)
        }
    }

    @Test("only the owner's programs get a dashboard link, and the configured listener serves apps and the dashboard side by side")
    func configuredListener() async throws {
        try await withAgent(agent: { $0.listen = LoopbackAddress(host: "127.0.0.1", port: 0, family: .ipv4) }) { agent in
            let token = try await agent.addClient(#"{"name":"app"}"#)
            let refused = try await agent.request("POST", "/agent/v1/dashboard", headers: [("Authorization", "Bearer \(token)")])
            #expect(refused.status == 403)
            let (listener, code, json) = try await link(agent)
            #expect(listener.port == agent.listener?.port && json["dashboard_only"]?.boolValue == false)
            let session = try Self.session(from: try await agent.tcpRequest("GET", "/dashboard/login?code=\(code)"))
            #expect(try await agent.tcpRequest("GET", "/agent/v1/audit", headers: session).status == 200)
            // The session never reaches Venice: not even the free model list.
            let before = await agent.requestsAtSimulator().count
            for path in ["/api/v1/models", "//api//v1//models", "/api/v1/models/", "/api/v1/models?type=image", "/api/v1/models/traits"] {
                let answer = try await agent.tcpRequest("GET", path, headers: session)
                #expect(answer.status == 401 && answer.text.contains("AGENT_TOKEN_REQUIRED"), "\(path): \(answer.status)")
            }
            #expect(await agent.requestsAtSimulator().count == before)
            // A token client over TCP still gets no owner view, and a cookie does not widen a token.
            #expect(try await agent.tcpRequest("GET", "/agent/v1/audit", headers: [("Authorization", "Bearer \(token)")]).status == 403)
            let both = try await agent.tcpRequest("GET", "/agent/v1/audit", headers: [("Authorization", "Bearer \(token)")] + session)
            #expect(both.status == 403)
            // Apps keep working on the same listener.
            let chat = try await agent.tcpRequest("POST", "/api/v1/chat/completions", json: LoopbackListenerTests.chat,
                                                  headers: [("Authorization", "Bearer \(token)")])
            #expect(chat.status == 200)
            // The login route is the listener's: over the socket it explains itself.
            #expect(try await agent.request("GET", "/dashboard/login?code=\(code)").status == 400)
        }
    }
}

extension DashboardTests {
    @Test("the dashboard's own reads of the wallet do not keep an idle key unlocked")
    func pollingDoesNotKeepTheKeyAlive() async throws {
        let clock = TestClock()
        try await withAgent(agent: { $0.lifetime = .seconds(60) }, sessionClock: clock) { agent in
            let (listener, code, _) = try await link(agent)
            var browser = agent
            browser.listener = listener
            let session = try Self.session(from: try await browser.tcpRequest("GET", "/dashboard/login?code=\(code)"))
            clock.advance(by: .seconds(50))
            #expect(try await browser.tcpRequest("GET", "/agent/v1/balance", headers: session).status == 200)
            #expect(try await browser.tcpRequest("GET", "/agent/v1/balance/history", headers: session).status == 200)
            clock.advance(by: .seconds(11))
            #expect(agent.session.lockIfIdle(), "the dashboard's reads counted as use of the key")
            // The owner's own balance read does count.
            var pw = Array("test password".utf8)
            try await agent.session.unlock(password: SecretBytes(zeroingSource: &pw))
            clock.advance(by: .seconds(50))
            #expect(try await agent.request("GET", "/agent/v1/balance").status == 200)
            clock.advance(by: .seconds(11))
            #expect(!agent.session.lockIfIdle())
        }
    }
}
