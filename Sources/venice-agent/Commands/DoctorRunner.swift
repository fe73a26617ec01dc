import AgentCore
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WalletCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The I/O of `venice-agent doctor`: gathers what each rule needs (file status, the agent's
/// answers, Venice's headers), asks `DoctorRules` for the verdict, prints one line per rule,
/// and records every exchange in the transcript. Every signed call goes through the agent.
struct DoctorRunner {
    let command: Doctor
    let client: AgentClient
    let transcript = DoctorTranscript()
    let uid = UInt32(geteuid())
    var results: [DoctorResult] = []
    /// Answers that came from Venice (through the agent or directly), for `venice.cf-ray`.
    var veniceAnswers: [(label: String, headers: [(String, String)])] = []
    /// Signed answers from Venice, for `venice.rate-limit-headers`.
    var signedAnswers: [(label: String, headers: [(String, String)])] = []

    init(_ command: Doctor) {
        self.command = command
        self.client = command.options.client
    }

    /// Runs the checks the flags ask for; returns the exit status.
    mutating func run() async -> Int32 {
        let agent = await checkLocal()
        if command.live { await checkLive(agentUp: agent != nil) }
        if let path = command.transcript {
            do { try transcript.write(to: path) } catch {
                KeyCommands.printError("cannot write the transcript: \(error)")
                return 1
            }
        }
        return DoctorResult.exitStatus(results)
    }

    mutating func report(_ result: DoctorResult) {
        results.append(result)
        if command.options.json {
            print((["rule": .string(result.rule), "verdict": .string(result.verdict.rawValue), "detail": .string(result.detail)] as JSONValue).serialized())
        } else {
            print(result.line)
        }
    }

    // MARK: offline

    /// What the running agent said about itself (nil when none answered).
    struct AgentFacts {
        var upstream: String?
        var keystore: String?
        var stateDir: String?
    }

    mutating func checkLocal() async -> AgentFacts? {
        let socket = command.options.socketPath
        let folder = socket.lastIndex(of: "/").map { String(socket[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        report(DoctorRules.socketFolder(folder, status: FileStatus.of(folder, followingLinks: false), uid: uid))

        var facts: AgentFacts?
        let answered: Result<String, DoctorProblem>
        switch await agentCall(.GET, "/agent/v1/status") {
        case .success(let response) where response.status == 200:
            let s = response.json
            facts = AgentFacts(upstream: s?["upstream"]?.stringValue)
            let state = s?["locked"]?.boolValue == true ? "locked" : "unlocked"
            answered = .success("\(s?["address"]?.stringValue ?? "?"), \(state), upstream \(facts?.upstream ?? "?")")
        case .success(let response):
            answered = .failure(DoctorProblem("it answered \(response.status): \(AgentClientError.from(response))"))
        case .failure(let error):
            answered = .failure(DoctorProblem(error.description))
        }
        report(DoctorRules.socket(socket, status: FileStatus.of(socket, followingLinks: false), uid: uid, answered: answered))
        if facts != nil, case .success(let response) = await agentCall(.GET, "/agent/v1/paths"), response.status == 200, let p = response.json {
            facts?.keystore = p["keystore"]?.stringValue
            facts?.stateDir = p["state_dir"]?.stringValue
        }

        let file = checkConfig()
        checkKeystore(command.keystore ?? facts?.keystore ?? file?.keystore.map(ConfigFile.expand), agentAnswered: facts != nil)
        let environment = ProcessInfo.processInfo.environment
        checkStateDirectory(command.stateDir ?? facts?.stateDir ?? file?.stateDir.map(ConfigFile.expand)
                            ?? AgentConfiguration.defaultStateDirectory(environment: environment))
        let upstream = command.upstream ?? facts?.upstream ?? file?.upstream ?? AgentConfiguration.defaultUpstream
        await checkClock(upstream: upstream)
        return facts
    }

    mutating func checkConfig() -> ConfigFile? {
        let rule = "local.config"
        let environment = ProcessInfo.processInfo.environment
        let path = command.config ?? ConfigFile.defaultPath(environment: environment)
        guard command.config != nil || FileManager.default.fileExists(atPath: path) else {
            report(.pass(rule, "no config file at \(path); flags and defaults apply"))
            return nil
        }
        do {
            let file = try ConfigFile.load(path: path)
            report(.pass(rule, "\(path) parses"))
            return file
        } catch {
            report(.fail(rule, "\(path): \(error)"))
            return nil
        }
    }

    mutating func checkKeystore(_ path: String?, agentAnswered: Bool) {
        guard let path else {
            let agent = agentAnswered ? "the agent tells only its owner where its keystore is (not a --token client)" : "no agent answered"
            report(.skip("local.keystore", "no keystore known: \(agent) and no config file names one; pass --keystore FILE"))
            return
        }
        let contents: Result<[UInt8], DoctorProblem>
        do { contents = .success(try SecureFile.read(path, limit: 1 << 20)) } catch { contents = .failure(DoctorProblem(error.description)) }
        report(DoctorRules.keystore(path, status: FileStatus.of(path, followingLinks: true), uid: uid, contents: contents))
    }

    mutating func checkStateDirectory(_ path: String) {
        let files = ["ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"].map { name in
            (name: name, status: FileStatus.of(path + "/" + name, followingLinks: false))
        }
        report(DoctorRules.stateDirectory(path, status: FileStatus.of(path, followingLinks: false), uid: uid, files: files))
    }

    /// One unauthenticated `GET /models` straight to the upstream (no credentials, no agent).
    mutating func checkClock(upstream: String) async {
        let base = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        let url = base + "/models"
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "User-Agent", value: "venice-agent-doctor/\(VeniceAgentVersion.current)")
        let sentAt = Self.nowMilliseconds()
        do {
            let response = try await http.execute(request, timeout: .seconds(15))
            let receivedAt = Self.nowMilliseconds()
            let body = try await response.body.collect(upTo: 8 << 20)
            let headers = response.headers.map { ($0.name, $0.value) }
            transcript.record(.init(method: "GET", target: url, status: Int(response.status.code), requestHeaders: request.headers.map { ($0.name, $0.value) },
                                    responseHeaders: headers, responseBody: Array(body.readableBytesView)))
            veniceAnswers.append(("GET \(url) (direct)", headers))
            report(DoctorRules.clockSkew(source: "GET \(url)", dateHeader: response.headers.first(name: "date"), sentAt: sentAt, receivedAt: receivedAt))
        } catch {
            transcript.record(.init(method: "GET", target: url, error: String(describing: error)))
            report(.skip("clock.skew", "the upstream \(url) did not answer (\(error)); check your network, then run doctor again"))
        }
        try? await http.shutdown()
    }

    // MARK: live

    mutating func checkLive(agentUp: Bool) async {
        let liveRules = ["venice.models", "siwx.sign-in-accepted", "venice.cf-ray", "venice.rate-limit-headers", "clock.skew"]
            + (command.spendUSD != nil ? ["charge.image-reconciled", "charge.speech-reconciled"] : [])
        guard agentUp else {
            for rule in liveRules { report(.fail(rule, "no agent answered on \(command.options.socketPath); start and unlock it, then run doctor --live again")) }
            return
        }
        // Models (unauthenticated at Venice, through the agent).
        var models: JSONValue?
        switch await agentCall(.GET, "/api/v1/models?type=all") {
        case .success(let response):
            models = response.json
            if response.status < 500 || response.header("cf-ray") != nil { veniceAnswers.append(("GET /models", pairs(response.headers))) }
            report(DoctorRules.models(status: response.status, body: response.json))
        case .failure(let error):
            report(.fail("venice.models", error.description))
        }
        // A signed, free call: the wallet's balance.
        var balanceResponse: AgentResponse?
        let balanceSent = Self.nowMilliseconds()
        var balanceReceived = balanceSent
        switch await agentCall(.GET, "/api/v1/x402/balance/me") {
        case .success(let response):
            balanceReceived = Self.nowMilliseconds()
            balanceResponse = response
            let message = response.status == 200 ? nil : AgentClientError.from(response).description
            report(DoctorRules.signIn(status: response.status, message: message))
            if response.status == 200 {
                veniceAnswers.append(("GET /x402/balance/me", pairs(response.headers)))
                signedAnswers.append(("GET /x402/balance/me", pairs(response.headers)))
            }
        case .failure(let error):
            report(.fail("siwx.sign-in-accepted", error.description))
        }
        if let spend = command.spendUSD { await spendAndReconcile(spend, models: models) }
        report(DoctorRules.cfRay(veniceAnswers))
        if signedAnswers.count == 1, !DoctorRules.rateLimit(signedAnswers).isPass {
            report(.skip("venice.rate-limit-headers", "the signed balance answer carries none (Venice documents them on inference answers); run with --spend-usd to check one"))
        } else {
            report(DoctorRules.rateLimit(signedAnswers))
        }
        if let balanceResponse, balanceResponse.status == 200 {
            report(DoctorRules.clockSkew(source: "signed GET /x402/balance/me", dateHeader: balanceResponse.header("x-agent-upstream-date"),
                                         sentAt: balanceSent, receivedAt: balanceReceived))
        } else {
            report(.skip("clock.skew", "no signed answer from Venice to compare (see siwx.sign-in-accepted)"))
        }
    }

    // MARK: spending

    mutating func spendAndReconcile(_ limitUSD: Double, models: JSONValue?) async {
        let plan = DoctorSpendPlan(models: models)
        guard let plan else {
            report(.fail("charge.image-reconciled", "refused before spending: /models listed no priced image and speech models"))
            report(.fail("charge.speech-reconciled", "refused before spending: /models listed no priced image and speech models"))
            return
        }
        guard plan.estimateUSD <= limitUSD else {
            let why = "refused before spending: the cheapest image (\(plan.imageModel), \(DollarFormat.usd(plan.imageUSD))) and speech (\(plan.speechModel), "
                + "\(DollarFormat.usd(plan.speechUSD))) come to about \(DollarFormat.usd(plan.estimateUSD)), over --spend-usd \(DollarFormat.usd(limitUSD)); nothing was spent"
            report(.fail("charge.image-reconciled", why))
            report(.fail("charge.speech-reconciled", why))
            return
        }
        let image = await spend("charge.image-reconciled", "/api/v1/image/generate", json: plan.imageBody, label: "POST /image/generate (\(plan.imageModel))")
        let speech = await spend("charge.speech-reconciled", "/api/v1/audio/speech", json: plan.speechBody, label: "POST /audio/speech (\(plan.speechModel))")
        let deadline = ContinuousClock.now + .seconds(command.reconcileTimeout)
        if let image { report(await waitForCharge("charge.image-reconciled", requestID: image, deadline: deadline)) }
        if let speech { report(await waitForCharge("charge.speech-reconciled", requestID: speech, deadline: deadline)) }
    }

    /// Sends one paid request; its `X-Agent-Request-Id`, or nil after reporting why it failed.
    mutating func spend(_ rule: String, _ path: String, json: JSONValue, label: String) async -> String? {
        switch await agentCall(.POST, path, json: json) {
        case .success(let response) where (200..<300).contains(response.status):
            veniceAnswers.append((label, pairs(response.headers)))
            signedAnswers.append((label, pairs(response.headers)))
            guard let id = response.header("x-agent-request-id") else {
                report(.fail(rule, "\(label) answered \(response.status) without X-Agent-Request-Id; is the agent older than this CLI?"))
                return nil
            }
            return id
        case .success(let response):
            report(.fail(rule, "\(label) answered \(response.status): \(AgentClientError.from(response))"))
            return nil
        case .failure(let error):
            report(.fail(rule, "\(label): \(error)"))
            return nil
        }
    }

    /// Polls the agent's ledger row for `requestID` (2 s, then up to 5 s apart) until its charge is reconciled.
    mutating func waitForCharge(_ rule: String, requestID: String, deadline: ContinuousClock.Instant) async -> DoctorResult {
        var delay = 2
        var last: JSONValue?
        while true {
            switch await agentCall(.GET, "/agent/v1/requests/\(requestID)") {
            case .success(let response) where response.status == 200:
                last = response.json
                if last?["reconciled"]?.boolValue == true {
                    let estimate = last?["estimate_usd"]?.doubleValue.map(DollarFormat.usd) ?? "?"
                    let charged = last?["charged_usd"]?.doubleValue.map(DollarFormat.usd) ?? "?"
                    return .pass(rule, "request \(requestID) (\(last?["model"]?.stringValue ?? "?")): estimate \(estimate), Venice charged \(charged), reconciled")
                }
            case .success(let response):
                return .fail(rule, "the agent answered \(response.status) for request \(requestID): \(AgentClientError.from(response))")
            case .failure(let error):
                return .fail(rule, "request \(requestID): \(error)")
            }
            guard ContinuousClock.now + .seconds(delay) < deadline else { break }
            try? await Task.sleep(for: .seconds(delay))
            delay = min(delay + 1, 5)
        }
        let estimate = last?["estimate_usd"]?.doubleValue.map(DollarFormat.usd) ?? "?"
        return .fail(rule, "request \(requestID): no charge reconciled within \(command.reconcileTimeout) s (estimate \(estimate)); "
                     + "see `venice-agent transactions` and `venice-agent audit`, or wait and run `venice-agent spend --by model`")
    }

    // MARK: exchanges

    /// One call to the agent, recorded in the transcript.
    func agentCall(_ method: AgentClient.Method, _ path: String, json: JSONValue? = nil) async -> Result<AgentResponse, AgentClientError> {
        var requestHeaders: [(String, String)] = []
        if let token = client.token { requestHeaders.append(("Authorization", "Bearer \(token)")) }
        if json != nil { requestHeaders.append(("Content-Type", "application/json")) }
        do {
            let response = try await client.send(method, path, json: json, timeoutSeconds: 300)
            transcript.record(.init(method: method.rawValue, target: "agent:" + path, status: response.status, requestHeaders: requestHeaders,
                                    requestBody: json?.serializedBytes() ?? [], responseHeaders: pairs(response.headers), responseBody: response.body))
            return .success(response)
        } catch {
            transcript.record(.init(method: method.rawValue, target: "agent:" + path, requestHeaders: requestHeaders,
                                    requestBody: json?.serializedBytes() ?? [], error: error.description))
            return .failure(error)
        }
    }

    func pairs(_ headers: HTTPHeaders) -> [(String, String)] { headers.map { ($0.name, $0.value) } }

    static func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
