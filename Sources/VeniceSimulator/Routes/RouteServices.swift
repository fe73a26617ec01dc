import HTTPTypes
import Foundation
import Hummingbird
import WalletCrypto
import X402Protocol

/// The routes and the per-request pipeline they share (auth, concurrency, admission, faults, error budget).
struct RouteServices: Sendable {
    typealias Context = SimulatorRequestContext

    let state: SimulatorState
    let catalog: ModelCatalog
    let configuration: SimulatorConfiguration
    let auth: Authenticator
    let faults: FaultInjector
    let discovery: DiscoveryBodies
    let clonedVoices = ClonedVoices()

    /// Wallet admission minimum: $0.10.
    static let admissionMinimumMicro: Int64 = 100_000

    init(state: SimulatorState, catalog: ModelCatalog, configuration: SimulatorConfiguration) {
        self.state = state
        self.catalog = catalog
        self.configuration = configuration
        self.discovery = DiscoveryBodies(origin: configuration.publicOrigin, payTo: SimulatorConfiguration.basePayTo)
        self.auth = Authenticator(state: state, discovery: discovery)
        self.faults = FaultInjector(state: state)
    }

    func register(on router: Router<Context>) {
        let api = router.group("api/v1")
        registerModels(api)
        registerImages(api)
        registerImageTools(api)
        registerText(api)
        registerSpeech(api)
        registerVoiceClone(api)
        registerAudioQueue(api)
        registerVideo(api)
        registerAugment(api)
        registerTopUp(api)
        registerWallet(api)
        registerAPIKeys(api)
        registerBilling(api)
    }

    // MARK: - pipeline

    /// Error-budget bucket: the key (or, for wallet requests, the client IP) × `model` × OpenAI `user` (VENICE.md §9.4).
    /// JSON bodies are read here (and handed on buffered) to learn the model; multipart shares the key/IP bucket.
    private func budgetBucket(_ request: inout Request, _ context: Context) async throws -> String {
        var bucket = "budget:ip:" + context.remoteIP
        if Authenticator.siwx(request) == nil, let token = Authenticator.bearer(request), !token.isEmpty { bucket = "budget:key:" + token }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else { return bucket }
        let buffer = try await request.collectBody(upTo: StrictBody.maxJSONBytes + 1)
        request.body = .init(buffer: buffer)
        guard buffer.readableBytes <= 1_000_000, let json = try? JSONValue(parsing: Array(buffer.readableBytesView)) else { return bucket }
        return bucket + "|" + (json["model"]?.stringValue ?? "") + "|" + (json["user"]?.stringValue ?? "")
    }

    private static let budgetMessage = "Too many failed attempts (> 50) resulting in a non-success status code. Please wait 30 seconds and try again. See https://docs.venice.ai/api-reference/rate-limiting for more information."

    /// Wraps a credentialed handler with the error budget and its headers.
    private func budgeted(_ request: Request, _ context: Context, _ body: (Request) async throws -> Response) async throws -> Response {
        var request = request
        let bucket = try await budgetBucket(&request, context)
        let (failures, resetsAt) = await state.count(bucket, windowMilliseconds: 30_000)
        if failures > 50 { throw SimulatorError.standard(.tooManyRequests, Self.budgetMessage) }
        do {
            var response = try await body(request)
            response.headers[HTTPField.Name("x-ratelimit-remaining")!] = String(max(0, 50 - failures))
            response.headers[HTTPField.Name("x-ratelimit-resets")!] = String(resetsAt)
            let minute = "rpm:" + bucket
            await state.record(minute)
            let (made, minuteResets) = await state.count(minute, windowMilliseconds: RateLimitHeaders.windowMilliseconds)
            let model = bucket.split(separator: "|", omittingEmptySubsequences: false).dropFirst().first.map(String.init)
            let limit = RateLimitHeaders.requestsPerMinute(modelType: model.flatMap { catalog.model($0)?.type })
            for (name, value) in RateLimitHeaders.values(limit: limit, count: made, resetsAtMilliseconds: minuteResets) {
                if let field = HTTPField.Name(name) { response.headers[field] = value }
            }
            return response
        } catch let error as SimulatorError {
            let code = error.status.code
            if (400..<500).contains(code), code != 429, !Self.isBudgetExempt(error) { await state.record(bucket) }
            throw error
        }
    }

    private static func isBudgetExempt(_ error: SimulatorError) -> Bool {
        switch error {
        case .json(let status, let body, _) where status == .payment402 && body["x402Version"] != nil: true   // discovery
        case .standard(_, let message): message == "Invalid JSON request" || message.hasPrefix("'Content-Type'") || message.hasPrefix("Request body exceeds")
        default: false
        }
    }

    /// Inference route: SIWX wins over Bearer; no credentials → 402 discovery; payment header → 400.
    /// A wallet holds one of its concurrency slots for the whole handler.
    func inference(_ request: Request, _ context: Context, path: String, flavor: FaultInjector.Flavor = .generic,
                   _ handler: @escaping @Sendable (Caller, Request) async throws -> Response) async throws -> Response {
        try await budgeted(request, context) { request in
            if Authenticator.payment(request) != nil {
                throw SimulatorError.coded(.badRequest, "Payment headers are only accepted on POST /api/v1/x402/top-up",
                                           code: "PAYMENT_HEADER_NOT_ACCEPTED")
            }
            if let siwx = Authenticator.siwx(request) {
                let wallet = try await auth.verifySignIn(siwx, generic: false)
                guard await state.acquire(wallet: wallet) else {
                    throw SimulatorError.coded(.tooManyRequests, "Too many concurrent requests", code: "X402_CONCURRENCY_LIMIT")
                }
                do {
                    // Admission counts the linked account's DIEM, which is spent first (x402-venice-api.mdx, "DIEM First").
                    if await state.spendableMicro(.wallet(address: wallet)) < Self.admissionMinimumMicro {
                        throw await auth.insufficientBalance(path: path, balanceMicro: await state.balanceMicro(account: wallet))
                    }
                    try await faults.beforeHandling(flavor: flavor, inference: true)
                    var response = try await handler(.wallet(address: wallet), request)
                    await state.release(wallet: wallet)
                    response.headers[Self.balanceRemaining] = Money.text(await state.balanceMicro(account: wallet), decimals: 6)
                    return await faults.maybeCut(response)
                } catch {
                    await state.release(wallet: wallet)
                    throw error
                }
            }
            if let token = Authenticator.bearer(request) {
                let record = try await auth.key(token)
                try await admitKey(record)
                try await faults.beforeHandling(flavor: flavor, inference: true)
                return await faults.maybeCut(try await handler(.key(record), request))
            }
            throw await auth.noCredentials(path: path)
        }
    }

    /// `X-Balance-Remaining` on a wallet's successful inference answer: "Remaining x402 credit balance in USD after this
    /// request (only present for x402 auth)", six decimals — veniceai/api-docs `swagger.yaml`, the 200 headers of every
    /// inference path the simulator serves (`/chat/completions`, `/image/generate`, `/audio/speech`, `/audio/queue`, …).
    static let balanceRemaining = HTTPField.Name("X-Balance-Remaining")!

    /// Key admission: its USD limit, then the account's DIEM and USD (generating-api-key-agent.mdx, "Paying for inference").
    func admitKey(_ record: APIKeyRecord) async throws {
        if let limit = record.limitUSD, limit > 0, await state.periodUsageMicro(record) >= (Money.micro(usd: limit) ?? Money.maxMicro) {
            throw SimulatorError.standard(.payment402, "API key USD spend limit exceeded. Your account may still have USD balance, but this API key has reached its configured USD spending limit.")
        }
        if await state.spendableMicro(.key(record)) <= 0 {
            throw Self.insufficientFunds
        }
    }

    static let insufficientFunds = SimulatorError.standard(.payment402, "Insufficient USD or Diem balance to complete request. Visit https://venice.ai/settings/api to add credits.")

    /// Bearer-only route: SIWX alone → 401, nothing → 402 discovery, INFERENCE where ADMIN needed → 401.
    func bearerOnly(_ request: Request, _ context: Context, path: String, admin: Bool,
                    _ handler: @escaping @Sendable (APIKeyRecord) async throws -> Response) async throws -> Response {
        try await budgeted(request, context) { request in
            guard let token = Authenticator.bearer(request) else {
                if Authenticator.siwx(request) != nil { throw SimulatorError.standard(.unauthorized, "Authentication failed") }
                throw await auth.noCredentials(path: path)
            }
            let record = try await auth.key(token)
            if admin, record.type != .admin { throw SimulatorError.standard(.unauthorized, "Admin API key required") }
            return try await handler(record)
        }
    }

    /// Checks the model privacy rule of a key (VENICE.md §1.4).
    func checkPrivacy(_ caller: Caller, model: ModelCatalog.Model) throws {
        guard case .key(let record) = caller, record.modelPrivacy != "ALL", model.privacy != "private" else { return }
        if record.modelPrivacy == "PRIVATE_ONLY" || (record.modelPrivacy == "PRIVATE_TEXT" && model.type == "text") {
            throw SimulatorError.standard(.forbidden, "This API key is set to '\(record.modelPrivacy)', but `\(model.id)` is an Anonymous model. Choose a Private, TEE, or E2EE model, or change the model privacy setting of this API key.")
        }
    }

    /// Looks a model up for a route: missing → 400 `model is required`, unknown → 404, other type → 400.
    func model(_ id: String?, type: String) throws -> ModelCatalog.Model {
        guard let id, !id.isEmpty else { throw SimulatorError.standard(.badRequest, "model is required") }
        guard let model = catalog.model(id) else {
            throw SimulatorError.standard(.notFound, "Specified model not found: \(id)")
        }
        guard model.type == type else { throw SimulatorError.standard(.badRequest, "Model \(id) does not support this endpoint") }
        return model
    }

    func requestID(_ prefix: String) async -> String { await state.nextID(prefix) }
}
