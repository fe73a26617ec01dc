import X402Protocol
import Foundation
import Hummingbird
import WalletCrypto

extension RouteServices {
    static let web3KeyFields: Set<String> = ["address", "signature", "token", "apiKeyType", "description", "expiresAt", "consumptionLimit",
                                             "limitPeriod", "modelPrivacy"]

    var tokens: Web3TokenIssuer { Web3TokenIssuer(secret: state.secret) }

    func registerAPIKeys(_ api: RouterGroup<Context>) {
        api.get("api_keys/generate_web3_key") { _, _ -> Response in
            let expired = await state.takeExpiredWeb3Token()
            return .json(["success": true, "data": ["token": .string(tokens.issue(nowMilliseconds: await state.nowMilliseconds(), expired: expired))]])
        }
        api.post("api_keys/generate_web3_key") { request, _ -> Response in
            let body = try await StrictBody.read(request, allowed: Self.web3KeyFields)
            return .json(try await mintWeb3Key(body))
        }
        api.get("api_keys/rate_limits") { request, context -> Response in
            try await bearerOnly(request, context, path: "/api_keys/rate_limits", admin: false) { record in
                let balance = await state.balanceMicro(account: record.account)
                var usd = balance
                if let limit = record.limitUSD, limit > 0 { usd = min(usd, max(0, (Money.micro(usd: limit) ?? Money.maxMicro) - (await state.periodUsageMicro(record)))) }
                let now = await state.nowMilliseconds()
                let rateLimits: [JSONValue] = catalog.models.filter { ["image", "tts", "asr"].contains($0.type) }.prefix(20).map {
                    ["apiModelId": .string($0.id), "rateLimits": [["type": "RPM", "amount": 20], ["type": "RPD", "amount": 10000]]]
                }
                // The key's account DIEM beside its USD (openapi.yaml `balances.USD`, `balances.DIEM`).
                let diem = await state.diemMicro(account: record.account)
                return .json(["data": [
                    "accessPermitted": .bool(usd + diem > 0), "apiTier": ["id": "paid", "isCharged": true],
                    "balances": ["USD": .usd(usd), "DIEM": .usd(diem)], "keyExpiration": .optional(record.expiresAtText),
                    "nextEpochBegins": .string(TimeFormat.iso(now - now % 86_400_000 + 86_400_000)),
                    "rateLimits": .array(rateLimits)]])
            }
        }
        api.get("api_keys/rate_limits/log") { request, context -> Response in
            try await bearerOnly(request, context, path: "/api_keys/rate_limits/log", admin: true) { _ in .json(["data": []]) }
        }
        api.get("api_keys") { request, context -> Response in
            try await bearerOnly(request, context, path: "/api_keys", admin: true) { record in
                let keys = await state.liveKeys(account: record.account)
                return .json(["object": "list", "data": .array(keys.map { keyJSON($0, includeSecret: false) })])
            }
        }
        api.delete("api_keys") { request, context -> Response in
            try await bearerOnly(request, context, path: "/api_keys", admin: true) { record in
                guard let id = request.uri.queryParameters.get("id"), let target = await state.key(id: id), target.account == record.account,
                      await state.revokeKey(id: id) else {
                    throw SimulatorError.standard(.badRequest, "API key could not be found")
                }
                return .json(["success": true])
            }
        }
        api.get("api_keys/:id") { request, context -> Response in
            try await bearerOnly(request, context, path: "/api_keys/id", admin: true) { record in
                guard let id = context.parameters.get("id"), let target = await state.key(id: id), target.account == record.account else {
                    throw SimulatorError.standard(.badRequest, "API key not found")
                }
                var object = keyJSON(target, includeSecret: false)
                if case .object(var fields) = object, target.limitUSD != nil || target.limitDIEM != nil {
                    fields["currentPeriodUsage"] = ["usd": .string(String(format: "%.4f", Money.usd(await state.periodUsageMicro(target)))),
                                                    "diem": "0.0000"]
                    object = .object(fields)
                }
                return .json(["data": object])
            }
        }
    }

    func keyJSON(_ record: APIKeyRecord, includeSecret: Bool) -> JSONValue {
        var object = JSONObject([("id", .string(record.id))])
        if includeSecret { object["apiKey"] = .string(record.secret) } else { object["last6Chars"] = .string(String(record.secret.suffix(6))) }
        object["apiKeyType"] = .string(record.type.rawValue)
        object["description"] = .string(record.description)
        object["expiresAt"] = .optional(record.expiresAtText)
        object["consumptionLimit"] = ["usd": record.limitUSD.map { .decimal($0) } ?? .null, "diem": record.limitDIEM.map { .decimal($0) } ?? .null, "vcu": .null]
        object["limitPeriod"] = .string(record.limitPeriod)
        object["modelPrivacy"] = .string(record.modelPrivacy)
        object["createdAt"] = .string(TimeFormat.iso(record.createdAtMilliseconds))
        return .object(object)
    }

    /// Step 2 of the web3 key flow (VENICE.md §4.2): every failure is a 400 `{"error": "<message>"}` with the texts of
    /// veniceai/api-docs guides/integrations/generating-api-key-agent.mdx, "Error reference", checked in its order:
    /// address, token (malformed, signature, claims, expiry), wallet signature, its verification, staked VVV.
    func mintWeb3Key(_ body: StrictBody) async throws -> JSONValue {
        guard let address = try body.string("address") else { throw SimulatorError.invalidParameters(field: "address", message: "Required") }
        guard let signatureText = try body.string("signature") else { throw SimulatorError.invalidParameters(field: "signature", message: "Required") }
        guard let token = try body.string("token") else { throw SimulatorError.invalidParameters(field: "token", message: "Required") }
        guard let typeText = try body.string("apiKeyType") else { throw SimulatorError.invalidParameters(field: "apiKeyType", message: "Required") }
        guard let type = APIKeyRecord.KeyType(rawValue: typeText) else {
            throw SimulatorError.invalidParameters(field: "apiKeyType", message: "Invalid enum value. Expected 'INFERENCE' | 'ADMIN', received '\(typeText)'")
        }
        let description = try body.string("description") ?? "Web3 API Key"
        guard description.count <= 64 else { throw SimulatorError.invalidParameters(field: "description", message: "String must contain at most 64 character(s)") }
        let limitPeriod = try body.string("limitPeriod") ?? "EPOCH"
        guard ["EPOCH", "MONTH", "LIFETIME"].contains(limitPeriod) else {
            throw SimulatorError.invalidParameters(field: "limitPeriod", message: "Invalid enum value. Expected 'EPOCH' | 'MONTH' | 'LIFETIME'")
        }
        let modelPrivacy = try body.string("modelPrivacy") ?? "ALL"
        guard ["ALL", "PRIVATE_TEXT", "PRIVATE_ONLY"].contains(modelPrivacy) else {
            throw SimulatorError.invalidParameters(field: "modelPrivacy", message: "Invalid enum value. Expected 'ALL' | 'PRIVATE_TEXT' | 'PRIVATE_ONLY'")
        }
        var expiresAtMilliseconds: Int64?
        var expiresAtText: String?
        if let text = try body.string("expiresAt"), !text.isEmpty {
            guard let ms = TimeFormat.parseISO(text) else { throw SimulatorError.invalidParameters(field: "expiresAt", message: "Invalid date") }
            expiresAtMilliseconds = ms
            expiresAtText = TimeFormat.iso(ms)
        }
        var limits: (usd: Double?, diem: Double?, vcu: Double?) = (nil, nil, nil)
        if let limit = body["consumptionLimit"] {
            guard let object = limit.objectValue, object.keys.allSatisfy({ ["usd", "diem", "vcu"].contains($0) }) else {
                throw SimulatorError.invalidParameters(field: "consumptionLimit", message: "Expected object with usd, diem, vcu")
            }
            func amount(_ key: String) throws -> Double? {
                guard let value = object[key], !value.isNull else { return nil }
                guard let number = value.doubleValue, number >= 0, number <= 9_999_999_999 else {
                    throw SimulatorError.invalidParameters(field: "consumptionLimit", message: "\(key) must be between 0 and 9999999999")
                }
                return number
            }
            limits = (try amount("usd"), try amount("diem"), try amount("vcu"))
        }
        guard address.count == 42, address.hasPrefix("0x"), let wallet = try? EthereumAddress(address.lowercased()) else {
            throw SimulatorError.standard(.badRequest, "Invalid wallet address")
        }
        let now = await state.nowMilliseconds()
        if let refusal = tokens.check(token, nowMilliseconds: now) { throw SimulatorError.standard(.badRequest, refusal.message) }
        // Venice verifies the signature over RPC; the knob plays that call failing (before any verdict).
        if await state.takeWeb3VerifyFailure() {
            throw SimulatorError.standard(.badRequest, "Could not verify wallet signature")
        }
        guard let signature = try? Signature(hex: signatureText),
              let signer = try? EIP191.recoverSigner(message: Array(token.utf8), signature: signature), signer == wallet else {
            throw SimulatorError.standard(.badRequest, "Wallet signature does not match")
        }
        guard await state.isStaked(wallet.lowercasedHex) else {
            throw SimulatorError.standard(.badRequest, "Wallet has no staked VVV on Base")
        }
        let prefix = type == .admin ? "VENICE_ADMIN_KEY_" : "VENICE_INFERENCE_KEY_"
        let secret = prefix + Web3TokenIssuer.base64URL(SecureRandom.bytes(count: 30))
        let record = APIKeyRecord(id: UUID().uuidString.lowercased(), secret: secret, type: type, description: description,
                                  expiresAtMilliseconds: expiresAtMilliseconds, expiresAtText: expiresAtText,
                                  limitUSD: limits.usd, limitDIEM: limits.diem, limitPeriod: limitPeriod, modelPrivacy: modelPrivacy,
                                  account: SimulatorState.userAccount(wallet: wallet.lowercasedHex), createdAtMilliseconds: now)
        await state.mintKey(record)
        // Echo quirk: diem mirrors vcu; usd 0 echoes null.
        let echoUSD: JSONValue = limits.usd.flatMap { $0 == 0 ? nil : JSONValue.decimal($0) } ?? .null
        return ["success": true, "data": [
            "id": .string(record.id), "apiKey": .string(secret), "apiKeyType": .string(type.rawValue), "description": .string(description),
            "expiresAt": .optional(expiresAtText),
            "consumptionLimit": ["usd": echoUSD, "diem": limits.vcu.map { .decimal($0) } ?? .null, "vcu": limits.vcu.map { .decimal($0) } ?? .null],
            "limitPeriod": .string(limitPeriod), "modelPrivacy": .string(modelPrivacy)]]
    }
}
