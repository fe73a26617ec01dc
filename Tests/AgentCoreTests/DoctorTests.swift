@testable import AgentCore
import Foundation
import Testing
import WalletCrypto

/// `venice-agent doctor`'s pure parts: the transcript redactor, each rule's verdict from what
/// was observed, the spending plan, and the owner's ledger-row route it polls.
@Suite("Doctor: redaction, rules and the request-row route")
struct DoctorTests {
    let redactor = TranscriptRedactor()
    static let signature = "0x" + String(repeating: "ab", count: 65)
    static let me: UInt32 = 1000

    // MARK: redaction

    @Test("credential and payment headers are replaced whole, whatever their case")
    func secretHeadersAreMasked() {
        for name in ["Authorization", "SIGN-IN-WITH-X", "x-sign-in-with-x", "PAYMENT-SIGNATURE", "X-Payment", "payment-required", "Cookie", "x-api-key"] {
            #expect(redactor.header(name: name, value: "Bearer abc eyJhbGciOi") == TranscriptRedactor.mask, "\(name)")
        }
        #expect(redactor.header(name: "CF-RAY", value: "8f1a2b3c4d5e6f70-IAD") == "8f1a2b3c4d5e6f70-IAD")
    }

    @Test("vat_ tokens are masked anywhere in text, the text around them kept")
    func tokensAreMasked() {
        let out = redactor.text("token=vat_AbC-12_x9 and more")
        #expect(out == "token=[redacted] and more")
        #expect(redactor.header(name: "X-Note", value: "see vat_zzz") == "see [redacted]")
    }

    @Test("a 0x-prefixed 130-hex-digit signature is masked; an address or a hash is not")
    func signaturesAreMasked() {
        let address = "0x" + String(repeating: "1", count: 40)
        let hash = "0x" + String(repeating: "f", count: 64)
        let out = redactor.text("sig \(Self.signature) addr \(address) tx \(hash)")
        #expect(!out.contains(Self.signature))
        #expect(out.contains(address) && out.contains(hash))
    }

    @Test("JSON fields named apiKey, token, key, signature or password lose their string values")
    func secretFieldsAreMasked() throws {
        let body = #"{"apiKey":"abcd","data":{"token" : "xyz","key":"k1","Signature":"s","name":"kept"},"password":"p\"w"}"#
        let out = redactor.text(body)
        for secret in ["abcd", "xyz", "k1", "\"s\"", "p\\\"w"] { #expect(!out.contains(secret), "\(secret) in \(out)") }
        #expect(out.contains("\"name\":\"kept\""))
        #expect(try JSONValue(parsing: Array(out.utf8))["apiKey"]?.stringValue == TranscriptRedactor.mask)
    }

    @Test("a transcript body is redacted before it is cut, so a cut cannot expose part of a secret")
    func transcriptCutsAfterRedacting() throws {
        let transcript = DoctorTranscript()
        let padding = String(repeating: "x", count: DoctorTranscript.maxBodyBytes - 20)
        let body = Array((padding + Self.signature + " vat_secret").utf8)
        transcript.record(.init(method: "GET", target: "agent:/x", status: 200, requestHeaders: [("Authorization", "Bearer vat_secret")],
                                responseHeaders: [("Content-Type", "application/json")], responseBody: body))
        let text = String(decoding: transcript.rendered(), as: UTF8.self)
        #expect(!text.contains("vat_secret") && !text.contains(String(Self.signature.prefix(60))))
        #expect(text.contains("more bytes cut") || text.contains("[redacted]"))
    }

    @Test("a transcript is written 0600")
    func transcriptIsPrivate() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let transcript = DoctorTranscript()
        transcript.record(.init(method: "GET", target: "agent:/agent/v1/status", status: 200))
        try transcript.write(to: dir + "/t.jsonl")
        guard case .success(let status) = FileStatus.of(dir + "/t.jsonl", followingLinks: false) else { Issue.record("not written"); return }
        #expect(status.permissions == 0o600)
    }

    // MARK: rules

    static func file(_ kind: FileStatus.Kind, _ mode: UInt32, uid: UInt32 = me) -> Result<FileStatus, FileStatus.Errno> {
        .success(FileStatus(ownerUID: uid, permissions: mode, kind: kind))
    }

    @Test("the socket folder passes at 0700 and ours; a symlink, another owner or 0755 fails")
    func socketFolderRule() {
        #expect(DoctorRules.socketFolder("/d", status: Self.file(.directory, 0o700), uid: Self.me).verdict == .pass)
        #expect(DoctorRules.socketFolder("/d", status: Self.file(.symlink, 0o777), uid: Self.me).verdict == .fail)
        #expect(DoctorRules.socketFolder("/d", status: Self.file(.directory, 0o700, uid: 0), uid: Self.me).verdict == .fail)
        let loose = DoctorRules.socketFolder("/d", status: Self.file(.directory, 0o755), uid: Self.me)
        #expect(loose.verdict == .fail && loose.detail.contains("chmod 700"))
    }

    @Test("the socket passes only at 0600 with an agent answering")
    func socketRule() {
        #expect(DoctorRules.socket("/s", status: Self.file(.socket, 0o600), uid: Self.me, answered: .success("0xabc")).verdict == .pass)
        #expect(DoctorRules.socket("/s", status: Self.file(.socket, 0o644), uid: Self.me, answered: .success("0xabc")).verdict == .fail)
        #expect(DoctorRules.socket("/s", status: Self.file(.socket, 0o600), uid: Self.me, answered: .failure(DoctorProblem("refused"))).verdict == .fail)
        #expect(DoctorRules.socket("/s", status: .failure(.noEntry), uid: Self.me, answered: .failure(DoctorProblem("x"))).verdict == .fail)
    }

    @Test("the keystore passes at 0600 as a parseable v3 file; 0644 or garbage fails, and no password is needed")
    func keystoreRule() throws {
        let key = PrivateKey.generate()
        var pw = Array("pw".utf8)
        let json = try Keystore.encrypt(key, password: SecretBytes(zeroingSource: &pw), scryptN: 1024)
        let good = DoctorRules.keystore("/k", status: Self.file(.regular, 0o600), uid: Self.me, contents: .success(json))
        #expect(good.verdict == .pass && good.detail.contains(key.address.checksummed))
        let open = DoctorRules.keystore("/k", status: Self.file(.regular, 0o644), uid: Self.me, contents: .success(json))
        #expect(open.verdict == .fail && open.detail.contains("chmod 600"))
        #expect(DoctorRules.keystore("/k", status: Self.file(.regular, 0o600), uid: Self.me, contents: .success(Array("{}".utf8))).verdict == .fail)
        #expect(DoctorRules.keystore("/k", status: Self.file(.regular, 0o600, uid: 0), uid: Self.me, contents: .success(json)).verdict == .fail)
    }

    @Test("the state folder needs 0700 and the ledger 0600; a missing -wal is fine, a missing ledger is not")
    func stateDirectoryRule() {
        let ok = DoctorRules.stateDirectory("/st", status: Self.file(.directory, 0o700), uid: Self.me,
                                            files: [("ledger.sqlite", Self.file(.regular, 0o600)), ("ledger.sqlite-wal", .failure(.noEntry))])
        #expect(ok.verdict == .pass)
        #expect(DoctorRules.stateDirectory("/st", status: Self.file(.directory, 0o755), uid: Self.me, files: []).verdict == .fail)
        #expect(DoctorRules.stateDirectory("/st", status: Self.file(.directory, 0o700), uid: Self.me,
                                           files: [("ledger.sqlite", Self.file(.regular, 0o644))]).verdict == .fail)
        #expect(DoctorRules.stateDirectory("/st", status: Self.file(.directory, 0o700), uid: Self.me,
                                           files: [("ledger.sqlite", .failure(.noEntry))]).verdict == .fail)
    }

    @Test("clock skew within the sign-in tolerance passes, beyond it fails either way, without a Date it is skipped")
    func clockSkewRule() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        let server: Int64 = 784_111_777_000
        let date = "Sun, 06 Nov 1994 08:49:37 GMT"
        #expect(DoctorRules.clockSkew(source: "t", dateHeader: date, sentAt: server, receivedAt: server + 400).verdict == .pass)
        #expect(DoctorRules.clockSkew(source: "t", dateHeader: date, sentAt: server + 20_000, receivedAt: server + 20_000).verdict == .pass)
        let behind = DoctorRules.clockSkew(source: "t", dateHeader: date, sentAt: server - 120_000, receivedAt: server - 120_000)
        #expect(behind.verdict == .fail && behind.detail.contains("sync"))
        #expect(DoctorRules.clockSkew(source: "t", dateHeader: date, sentAt: server + 45_000, receivedAt: server + 45_000).verdict == .fail)
        #expect(DoctorRules.clockSkew(source: "t", dateHeader: nil, sentAt: 0, receivedAt: 0).verdict == .skip)
        #expect(DoctorRules.clockToleranceMilliseconds == 30_000)
    }

    @Test("models, sign-in, CF-RAY and rate-limit rules read status and headers")
    func liveRules() {
        #expect(DoctorRules.models(status: 200, body: ["data": [["id": "m"]]]).verdict == .pass)
        #expect(DoctorRules.models(status: 200, body: ["data": []]).verdict == .fail)
        #expect(DoctorRules.models(status: 502, body: nil).verdict == .fail)
        #expect(DoctorRules.signIn(status: 200, message: nil).verdict == .pass)
        #expect(DoctorRules.signIn(status: 401, message: "bad").verdict == .fail)
        #expect(DoctorRules.cfRay([("a", [("CF-RAY", "x-IAD")]), ("b", [("cf-ray", "y-SJC")])]).verdict == .pass)
        #expect(DoctorRules.cfRay([("a", [("CF-RAY", "x-IAD")]), ("b", [])]).detail.contains("b"))
        let limits = [("x-ratelimit-limit-requests", "20"), ("X-RateLimit-Remaining-Requests", "19"), ("x-ratelimit-reset-requests", "1")]
        #expect(DoctorRules.rateLimit([("a", []), ("b", limits)]).verdict == .pass)
        #expect(DoctorRules.rateLimit([("a", [("x-ratelimit-remaining", "3")])]).verdict == .fail)
        #expect(DoctorRules.rateLimit([]).verdict == .skip)
    }

    @Test("a result prints as one line and any failure makes the exit status 1")
    func linesAndExitStatus() {
        #expect(DoctorResult.pass("local.config", "a\nb").line == "PASS local.config  a b")
        #expect(DoctorResult.exitStatus([.pass("a", ""), .skip("b", "")]) == 0)
        #expect(DoctorResult.exitStatus([.pass("a", ""), .fail("b", "")]) == 1)
    }

    @Test("the spending plan takes the cheapest flat-priced image and speech models, ties going to the CLI defaults")
    func spendPlan() throws {
        let models: JSONValue = ["data": [
            ["id": "b-image", "type": "image", "model_spec": ["pricing": ["generation": ["usd": .number("0.01")]]]],
            ["id": "z-image-turbo", "type": "image", "model_spec": ["pricing": ["generation": ["usd": .number("0.01")]]]],
            ["id": "pricey", "type": "image", "model_spec": ["pricing": ["generation": ["usd": .number("0.2")]]]],
            ["id": "res-only", "type": "image", "model_spec": ["pricing": ["resolutions": ["1K": ["usd": .number("0.001")]]]]],
            ["id": "tts-a", "type": "tts", "model_spec": ["pricing": ["input": ["usd": .number("50")]]]],
            ["id": "tts-kokoro", "type": "tts", "model_spec": ["pricing": ["input": ["usd": .number("3.5")]]]],
        ]]
        let plan = try #require(DoctorSpendPlan(models: models))
        #expect(plan.imageModel == "z-image-turbo" && plan.speechModel == "tts-kokoro")
        #expect(abs(plan.estimateUSD - (0.01 + 3.5 * Double(DoctorSpendPlan.speechText.count) / 1e6)) < 1e-12)
        #expect(DoctorSpendPlan(models: ["data": []]) == nil)
    }

    // MARK: the route doctor polls

    @Test("the owner reads one request's ledger row by X-Agent-Request-Id, reconciled once Venice's charge is matched; unknown ids are 404")
    func requestRowRoute() async throws {
        try await withAgent { agent in
            let image = try await agent.request("POST", "/api/v1/image/generate", json: AgentHarness.imageRequest)
            #expect(image.status == 200)
            let id = try #require(image.header("X-Agent-Request-Id"))
            // Venice's own Date is relayed beside the agent's (doctor compares clocks with it).
            #expect(image.header("X-Agent-Upstream-Date") != nil)
            var row: JSONValue?
            for _ in 0..<100 {
                row = try await agent.request("GET", "/agent/v1/requests/\(id)").json
                if row?["reconciled"]?.boolValue == true { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(row?["id"]?.stringValue == id)
            #expect(row?["model"]?.stringValue == "z-image-turbo")
            #expect(row?["reconciled"]?.boolValue == true, "\(String(describing: row))")
            #expect((row?["charged_usd"]?.doubleValue ?? 0) > 0)
            let missing = try await agent.request("GET", "/agent/v1/requests/nope")
            #expect(missing.status == 404 && missing.json?["error"]?["code"]?.stringValue == "AGENT_UNKNOWN_REQUEST")
            // A named client may not read the owner's ledger rows or the agent's paths.
            let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"peek","routes":["image"]}"#)
            let token = try #require(created.json?["token"]?.stringValue)
            for path in ["/agent/v1/requests/\(id)", "/agent/v1/paths"] {
                let refused = try await agent.request("GET", path, headers: [("Authorization", "Bearer \(token)")])
                #expect(refused.status == 403, "\(path): \(refused.status)")
            }
            let paths = try await agent.request("GET", "/agent/v1/paths")
            #expect(paths.json?["state_dir"]?.stringValue == agent.stateDirectory)
        }
    }
}
