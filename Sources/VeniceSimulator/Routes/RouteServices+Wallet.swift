import Foundation
import Hummingbird
import WalletCrypto

extension RouteServices {
    /// `^(0x[a-fA-F0-9]{40}|[1-9A-HJ-NP-Za-km-z]{32,44})$`
    static func isWalletPath(_ text: String) -> Bool {
        if text.hasPrefix("0x") { return text.count == 42 && text.dropFirst(2).allSatisfy(\.isHexDigit) }
        let base58 = Set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
        return (32...44).contains(text.count) && text.allSatisfy { base58.contains($0) }
    }

    /// SIWX-only wallet route: path check, 402 `accepts: []`, generic 401, signer = path wallet (403).
    private func walletRoute(_ request: Request, _ context: Context, kind: String,
                             _ handler: @escaping @Sendable (String) async throws -> Response) async throws -> Response {
        guard let raw = context.parameters.get("wallet"), Self.isWalletPath(raw) else {
            throw SimulatorError.standard(.badRequest, "Invalid wallet address")
        }
        let wallet = raw.hasPrefix("0x") ? raw.lowercased() : raw
        guard let siwx = Authenticator.siwx(request) else { throw await auth.noCredentials(path: "/x402/\(kind)/\(raw)", emptyAccepts: true) }
        let signer = try await auth.verifySignIn(siwx, generic: true)
        guard signer == wallet else {
            throw SimulatorError.standard(.forbidden, kind == "balance" ? "You can only access balance for your own wallet"
                                                                       : "You can only access transaction history for your own wallet")
        }
        guard await state.allow("\(kind):\(wallet)", limit: kind == "balance" ? 30 : 20) else {
            throw SimulatorError.standard(.tooManyRequests, "Rate limit exceeded. Please try again later.")
        }
        return try await handler(wallet)
    }

    func registerWallet(_ api: RouterGroup<Context>) {
        api.get("x402/balance/:wallet") { request, context -> Response in
            try await walletRoute(request, context, kind: "balance") { wallet in
                // `balanceUsd` is the wallet's x402 credit, `diemBalanceUsd` the DIEM of its linked Venice account, spent
                // first (veniceai/api-docs guides/integrations/x402-venice-api.mdx, "Step 2: Check balance", "DIEM First").
                let balance = await state.balanceMicro(account: wallet)
                let diem = await state.diemMicro(account: SimulatorState.userAccount(wallet: wallet))
                return .json(["success": true, "data": [
                    "walletAddress": .string(wallet), "balanceUsd": .usd(balance), "diemBalanceUsd": .usd(diem),
                    "canConsume": .bool(balance + diem >= Self.admissionMinimumMicro),
                    "minimumTopUpUsd": 5, "suggestedTopUpUsd": 10]])
            }
        }
        api.get("x402/transactions/:wallet") { request, context -> Response in
            try await walletRoute(request, context, kind: "transactions") { wallet in
                let query = request.uri.queryParameters
                let limitText = query.get("limit") ?? "50"
                let offsetText = query.get("offset") ?? "0"
                guard let limit = Int(limitText), (1...100).contains(limit) else {
                    throw SimulatorError.invalidParameters(field: "limit", message: "Number must be between 1 and 100")
                }
                guard let offset = Int(offsetText), offset >= 0 else {
                    throw SimulatorError.invalidParameters(field: "offset", message: "Number must be greater than or equal to 0")
                }
                let rows = await state.transactions(wallet: wallet).reversed()   // newest first
                let page = rows.dropFirst(offset).prefix(limit)
                let items: [JSONValue] = page.map { row in
                    ["id": .string(row.id), "amount": .usd(row.amountMicro), "balanceAfter": .usd(row.balanceAfterMicro),
                     "type": .string(row.kind.rawValue), "createdAt": .string(TimeFormat.iso(row.createdAtMilliseconds)),
                     "requestId": .optional(row.requestId), "modelId": .optional(row.modelId)]
                }
                return .json(["success": true, "data": [
                    "walletAddress": .string(wallet), "currentBalance": .usd(await state.balanceMicro(account: wallet)),
                    "transactions": .array(items),
                    "pagination": ["limit": .number(String(limit)), "offset": .number(String(offset)),
                                   "hasMore": .bool(offset + limit < rows.count)]]])
            }
        }
    }
}
