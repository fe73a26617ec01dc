import Testing
import VeniceClient
import X402Protocol

@Suite("Retry policy")
struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 4, baseDelaySeconds: 0.5, maxDelaySeconds: 30, maxRetryAfterSeconds: 30)

    func decide(_ outcome: RetryPolicy.Outcome, attempt: Int = 1, signInRetries: Int = 0, idempotent: Bool = false,
                replayable: Bool = true) -> RetryPolicy.Decision {
        policy.decide(attempt: attempt, outcome: outcome, signInRetries: signInRetries, idempotent: idempotent, replayable: replayable, jitter: 0.5)
    }

    @Test("a POST that got a 5xx is delivered, never retried (it may have been charged)")
    func postServerErrorNotRetried() {
        for status in [500, 502, 503, 504] {
            #expect(decide(.response(status: status, retryAfterSeconds: nil, signInFailure: nil)) == .deliver)
        }
    }

    @Test("a GET that got a 5xx is retried with backoff")
    func getServerErrorRetried() {
        #expect(decide(.response(status: 503, retryAfterSeconds: nil, signInFailure: nil), idempotent: true)
            == .retry(afterSeconds: 0.375, reason: .serverError))
    }

    @Test("429 honours Retry-After, and a Retry-After above the cap goes back to the client")
    func rateLimited() {
        #expect(decide(.response(status: 429, retryAfterSeconds: 2, signInFailure: nil)) == .retry(afterSeconds: 2.25, reason: .rateLimited))
        #expect(decide(.response(status: 429, retryAfterSeconds: 120, signInFailure: nil)) == .deliver)
        #expect(decide(.response(status: 429, retryAfterSeconds: nil, signInFailure: nil), attempt: 3)
            == .retry(afterSeconds: policy.backoff(attempt: 3, jitter: 0.5), reason: .rateLimited))
    }

    @Test("attempts are capped")
    func capped() {
        #expect(decide(.response(status: 429, retryAfterSeconds: 1, signInFailure: nil), attempt: 4) == .deliver)
    }

    @Test("clock and nonce sign-in failures are re-signed and retried exactly once")
    func signInRetriedOnce() {
        for failure in [SignInFailure.futureTimestamp, .expired] {
            #expect(decide(.response(status: 401, retryAfterSeconds: nil, signInFailure: failure)) == .retry(afterSeconds: 0, reason: .clockSkew))
            #expect(decide(.response(status: 401, retryAfterSeconds: nil, signInFailure: failure), attempt: 2, signInRetries: 1) == .deliver)
        }
        #expect(decide(.response(status: 401, retryAfterSeconds: nil, signInFailure: .nonceReused)) == .retry(afterSeconds: 0, reason: .nonceReused))
        #expect(decide(.response(status: 401, retryAfterSeconds: nil, signInFailure: .invalidSignature)) == .deliver)
        #expect(decide(.response(status: 401, retryAfterSeconds: nil, signInFailure: nil)) == .deliver)
    }

    @Test("connection failures before sending are retried; after sending only for idempotent requests")
    func connectionFailures() {
        if case .retry(_, .connect) = decide(.connectFailed) {} else { Issue.record("connect failure not retried") }
        #expect(decide(.connectFailed, attempt: 2) == .fail)
        #expect(decide(.failedAfterSend) == .fail)
        if case .retry = decide(.failedAfterSend, idempotent: true) {} else { Issue.record("idempotent GET not retried") }
    }

    @Test("a streamed body that cannot be replayed is never retried")
    func notReplayable() {
        #expect(decide(.response(status: 429, retryAfterSeconds: 1, signInFailure: nil), replayable: false) == .deliver)
        #expect(decide(.connectFailed, replayable: false) == .fail)
    }

    @Test("backoff doubles per attempt, is capped and jittered")
    func backoff() {
        #expect(policy.backoff(attempt: 1, jitter: 0) == 0.25)
        #expect(policy.backoff(attempt: 1, jitter: 1) == 0.5)
        #expect(policy.backoff(attempt: 3, jitter: 1) == 2)
        #expect(policy.backoff(attempt: 20, jitter: 1) == 30)
    }
}

@Suite("Route allow-list")
struct RouteTableTests {
    let wallet = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"

    @Test("inference routes need SIWX, billing the Bearer key, models nothing")
    func authSchemes() {
        guard case .allowed(let image) = RouteTable.resolve(method: "POST", path: "/image/generate", walletAddress: wallet),
              case .allowed(let billing) = RouteTable.resolve(method: "GET", path: "/billing/balance", walletAddress: wallet),
              case .allowed(let models) = RouteTable.resolve(method: "GET", path: "/models", walletAddress: wallet) else {
            Issue.record("route missing"); return
        }
        #expect(image.auth == .signIn && image.group == .image)
        #expect(billing.auth == .bearer && billing.group == .billing)
        #expect(models.auth == .none)
    }

    @Test("`me` in wallet routes becomes the wallet address")
    func me() {
        guard case .allowed(let balance) = RouteTable.resolve(method: "GET", path: "/x402/balance/me", walletAddress: wallet) else {
            Issue.record("route missing"); return
        }
        #expect(balance.path == "/x402/balance/\(wallet)")
        #expect(balance.template == "/x402/balance/me")
        #expect(RouteTable.resolve(method: "GET", path: "/x402/balance/0x1234", walletAddress: wallet) == .unknown)
    }

    @Test("top-up and key minting are owned by the agent; unknown routes and wrong methods are unknown")
    func refused() {
        #expect(RouteTable.resolve(method: "POST", path: "/x402/top-up", walletAddress: wallet) == .ownedByAgent(template: "/x402/top-up"))
        #expect(RouteTable.resolve(method: "GET", path: "/api_keys/generate_web3_key", walletAddress: wallet)
            == .ownedByAgent(template: "/api_keys/generate_web3_key"))
        #expect(RouteTable.resolve(method: "GET", path: "/image/generate", walletAddress: wallet) == .unknown)
        #expect(RouteTable.resolve(method: "DELETE", path: "/api_keys", walletAddress: wallet) == .unknown)
        #expect(RouteTable.resolve(method: "GET", path: "/../x402/top-up", walletAddress: wallet) == .unknown)
    }

    @Test("every route Venice documents for wallets or the minted key is allowed, with the auth and group Venice gives it",
          arguments: [
              ("POST", "/audio/voices", VeniceRoute.Auth.signIn, VeniceRoute.Group.audio, true),
              ("POST", "/video/transcriptions", .signIn, .video, true),
              ("POST", "/augment/text-parser", .signIn, .augment, true),
              ("POST", "/augment/scrape", .signIn, .augment, true),
              ("POST", "/augment/search", .signIn, .augment, true),
              ("POST", "/crypto/rpc/base-mainnet", .signIn, .crypto, true),
              ("GET", "/crypto/rpc/networks", .none, .crypto, false),
              ("GET", "/characters", .bearer, .text, false),
              ("GET", "/characters/ember-guide", .bearer, .text, false),
              ("GET", "/characters/ember-guide/reviews", .bearer, .text, false),
              ("GET", "/api_keys", .bearer, .keys, false),
              ("PATCH", "/api_keys", .bearer, .keys, false),
              ("GET", "/api_keys/3f0c9a1e-2b4d-4c6e-8f10-123456789abc", .bearer, .keys, false),
              ("GET", "/api_keys/rate_limits", .bearer, .billing, false),
              ("POST", "/video/quote", .bearerIfAvailable, .video, false),
          ])
    func documentedRoutes(method: String, path: String, auth: VeniceRoute.Auth, group: VeniceRoute.Group, charged: Bool) {
        guard case .allowed(let route) = RouteTable.resolve(method: method, path: path, walletAddress: wallet) else {
            Issue.record("\(method) \(path) is not allowed"); return
        }
        #expect(route.path == path)
        #expect(route.auth == auth && route.group == group && route.isCharged == charged)
    }

    @Test("a path parameter is one segment of unreserved characters; anything that could change the upstream path is refused")
    func pathParameters() throws {
        #expect(try RouteTable.route(method: "POST", template: "/crypto/rpc/{network}", walletAddress: wallet,
                                     parameters: ["network": "ethereum-mainnet"])?.path == "/crypto/rpc/ethereum-mainnet")
        #expect(try RouteTable.route(method: "POST", template: "/crypto/rpc/{network}", walletAddress: wallet,
                                     parameters: ["network": "ethereum-mainnet"])?.template == "/crypto/rpc/{network}")
        for hostile in ["", ".", "..", "a/b", "..%2F", "a?b", "a#b", "a%00", "a b", "ünï", String(repeating: "a", count: 129), "x\r\ny"] {
            #expect(throws: RouteTable.InvalidPathParameter(name: "network")) {
                try RouteTable.route(method: "POST", template: "/crypto/rpc/{network}", walletAddress: wallet, parameters: ["network": hostile])
            }
        }
        #expect(throws: RouteTable.InvalidPathParameter(name: "slug")) {
            try RouteTable.route(method: "GET", template: "/characters/{slug}", walletAddress: wallet, parameters: [:])
        }
        #expect(RouteTable.resolve(method: "GET", path: "/characters/../x402/top-up", walletAddress: wallet) == .unknown)
        #expect(RouteTable.resolve(method: "GET", path: "/characters/a/b/reviews", walletAddress: wallet) == .unknown)
        #expect(RouteTable.resolve(method: "DELETE", path: "/api_keys/abc", walletAddress: wallet) == .unknown)
        #expect(RouteTable.resolve(method: "POST", path: "/api_keys", walletAddress: wallet) == .unknown)
    }
}

@Suite("Header filter")
struct HeaderFilterTests {
    @Test("credentials, cookies, hop-by-hop and Connection-named headers are dropped; others kept")
    func forwardable() {
        var headers = HTTPHeadersBuilder.make([
            ("Authorization", "Bearer x"), ("sign-in-with-x", "x"), ("Cookie", "c"), ("Transfer-Encoding", "chunked"),
            ("Connection", "X-Hop"), ("X-Hop", "1"), ("Content-Type", "application/json"), ("Accept", "image/png"),
        ])
        headers = HeaderFilter.forwardable(headers)
        #expect(headers.map(\.name) == ["Content-Type", "Accept"])
    }
}
