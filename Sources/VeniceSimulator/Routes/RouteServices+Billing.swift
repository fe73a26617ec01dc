import X402Protocol
import HTTPTypes
import Foundation
import Hummingbird
import WalletCrypto

extension RouteServices {
    static let historyParameters: Set<String> = ["startTimestamp", "endTimestamp", "currency", "pageSize", "cursor"]

    func registerBilling(_ api: RouterGroup<Context>) {
        api.get("billing/balance") { request, context -> Response in
            try await bearerOnly(request, context, path: "/billing/balance", admin: true) { record in
                // The key's account: DIEM first, then USD (openapi.yaml `BillingBalanceResponse`; 1 DIEM = $1 of credit).
                let usd = await state.balanceMicro(account: record.account)
                let diem = await state.diemMicro(account: record.account)
                let currency: JSONValue = diem > 0 ? "DIEM" : usd > 0 ? "USD" : .null
                return .json(["canConsume": .bool(usd + diem >= Self.admissionMinimumMicro), "consumptionCurrency": currency,
                              "balances": ["diem": diem > 0 ? .usd(diem) : .null, "usd": usd > 0 ? .usd(usd) : .null,
                                           "bundledCredits": .null, "earnedCredits": .null],
                              "diemEpochAllocation": 0])
            }
        }
        api.get("billing/usage-history") { request, context -> Response in
            try await bearerOnly(request, context, path: "/billing/usage-history", admin: true) { record in
                try await usageHistory(request, account: record.account)
            }
        }
        api.get("billing/usage-analytics") { request, context -> Response in
            try await bearerOnly(request, context, path: "/billing/usage-analytics", admin: true) { record in
                try await usageAnalytics(request, account: record.account)
            }
        }
    }

    private struct HistoryQuery {
        var start: Int64?
        var end: Int64?
        var currency: String?
        var pageSize = 1000
        var offset = 0
    }

    private func encodeCursor(_ query: HistoryQuery) -> String {
        let payload: JSONValue = ["o": .number(String(query.offset)), "p": .number(String(query.pageSize)),
                                  "s": query.start.map { .number(String($0)) } ?? .null, "e": query.end.map { .number(String($0)) } ?? .null,
                                  "c": .optional(query.currency)]
        let body = Web3TokenIssuer.base64URL(Array(payload.serialized().utf8))
        return body + tokens.mac("cursor:" + body)
    }

    private func decodeCursor(_ cursor: String) -> HistoryQuery? {
        guard cursor.count > 43, cursor.count <= 512,
              cursor.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else { return nil }
        let body = String(cursor.dropLast(43))
        guard tokens.mac("cursor:" + body) == String(cursor.suffix(43)), let bytes = Web3TokenIssuer.fromBase64URL(body),
              let json = try? JSONValue(parsing: bytes), let offset = json["o"]?.intValue, let size = json["p"]?.intValue else { return nil }
        return HistoryQuery(start: json["s"]?.intValue.map(Int64.init), end: json["e"]?.intValue.map(Int64.init),
                            currency: json["c"]?.stringValue, pageSize: size, offset: offset)
    }

    private func usageHistory(_ request: Request, account: String) async throws -> Response {
        let parameters = request.uri.queryParameters
        var names: [String] = []
        for (name, _) in parameters { names.append(String(name)) }
        if let unknown = names.first(where: { !Self.historyParameters.contains($0) }) {
            throw SimulatorError.invalidParameters(field: unknown, message: "Unrecognized parameter '\(unknown)'")
        }
        var query = HistoryQuery()
        if let cursor = parameters.get("cursor") {
            guard names.allSatisfy({ $0 == "cursor" }) else {
                throw SimulatorError.standard(.badRequest, "cursor cannot be combined with other parameters")
            }
            guard let decoded = decodeCursor(cursor) else {
                throw SimulatorError.standard(.badRequest, "Invalid or expired cursor; restart from the first page")
            }
            query = decoded
        } else {
            for (field, keyPath) in [("startTimestamp", \HistoryQuery.start), ("endTimestamp", \HistoryQuery.end)] {
                guard let text = parameters.get(field) else { continue }
                guard text.count <= 40, text.hasSuffix("Z"), text.contains("T"), let ms = TimeFormat.parseISO(text) else {
                    throw SimulatorError.invalidParameters(field: field, message: "Invalid ISO 8601 UTC timestamp")
                }
                query[keyPath: keyPath] = ms
            }
            if let start = query.start, let end = query.end, end <= start {
                throw SimulatorError.invalidParameters(field: "endTimestamp", message: "endTimestamp must be after startTimestamp")
            }
            if let currency = parameters.get("currency") {
                guard ["USD", "DIEM", "BUNDLED_CREDITS", "EARNED_CREDITS"].contains(currency) else {
                    throw SimulatorError.invalidParameters(field: "currency", message: "Invalid enum value. Expected 'USD' | 'DIEM' | 'BUNDLED_CREDITS' | 'EARNED_CREDITS'")
                }
                query.currency = currency
            }
            if let sizeText = parameters.get("pageSize") {
                guard let size = Int(sizeText), (10...1000).contains(size) else {
                    throw SimulatorError.invalidParameters(field: "pageSize", message: "Number must be between 10 and 1000")
                }
                query.pageSize = size
            }
        }
        let rows = await state.usage(account: account).filter { row in
            (query.start.map { row.timestampMilliseconds >= $0 } ?? true) && (query.end.map { row.timestampMilliseconds < $0 } ?? true)
                && (query.currency.map { row.currency == $0 } ?? true)
        }
        let page = Array(rows.dropFirst(query.offset).prefix(query.pageSize))
        var next: String?
        if query.offset + query.pageSize < rows.count {
            var following = query
            following.offset += query.pageSize
            next = encodeCursor(following)
        }
        let accept = request.headers[.accept] ?? ""
        if accept.contains("text/csv") {
            var lines = ["timestamp,sku,pricePerUnitUsd,units,amount,currency,notes,inferenceDetails.requestId,inferenceDetails.inferenceExecutionTime,inferenceDetails.promptTokens,inferenceDetails.completionTokens"]
            for row in page {
                lines.append([TimeFormat.iso(row.timestampMilliseconds), row.sku, "\(row.pricePerUnitUSD)", "\(row.units)",
                              "\(Money.usd(row.amountMicro))", row.currency, row.notes, row.requestId ?? "", "\(row.executionMilliseconds)",
                              row.promptTokens.map(String.init) ?? "", row.completionTokens.map(String.init) ?? ""]
                    .joined(separator: ","))
            }
            var headers = HTTPFields()
            headers[HTTPField.Name("Content-Disposition")!] = "attachment; filename=billing-usage-history-\(TimeFormat.compact(await state.nowMilliseconds())).csv"
            if let next { headers[HTTPField.Name("x-next-cursor")!] = next }
            return .bytes(Array((lines.joined(separator: "\n") + "\n").utf8), contentType: "text/csv; charset=utf-8", headers: headers)
        }
        let data: [JSONValue] = page.map { row in
            ["timestamp": .string(TimeFormat.iso(row.timestampMilliseconds)), "sku": .string(row.sku), "units": .decimal(row.units),
             "pricePerUnitUsd": .decimal(row.pricePerUnitUSD), "amount": .usd(row.amountMicro), "currency": .string(row.currency),
             "notes": .string(row.notes),
             "inferenceDetails": row.requestId == nil ? .null : ["requestId": .optional(row.requestId),
                                                                 "promptTokens": row.promptTokens.map { .number(String($0)) } ?? .null,
                                                                 "completionTokens": row.completionTokens.map { .number(String($0)) } ?? .null,
                                                                 "inferenceExecutionTime": .number(String(row.executionMilliseconds))]]
        }
        return .json(["data": .array(data), "nextCursor": .optional(next)])
    }

    private func usageAnalytics(_ request: Request, account: String) async throws -> Response {
        let parameters = request.uri.queryParameters
        let now = await state.nowMilliseconds()
        let today = now - now % 86_400_000
        var startDay: Int64
        var endDay = today
        var label: String
        if let startText = parameters.get("startDate"), let endText = parameters.get("endDate") {
            guard startText.count == 10, endText.count == 10, let start = TimeFormat.parseISO(startText), let end = TimeFormat.parseISO(endText) else {
                throw SimulatorError.invalidParameters(field: "startDate", message: "Dates must be YYYY-MM-DD")
            }
            guard end >= start else { throw SimulatorError.invalidParameters(field: "endDate", message: "endDate must not be before startDate") }
            guard (end - start) / 86_400_000 + 1 <= 90 else { throw SimulatorError.invalidParameters(field: "endDate", message: "Date range must be at most 90 days") }
            startDay = start
            endDay = end
            label = "\(startText):\(endText)"
        } else {
            let lookback = parameters.get("lookback") ?? "7d"
            guard lookback.hasSuffix("d"), let first = lookback.first, first != "0", let days = Int(lookback.dropLast()), days >= 1 else {
                throw SimulatorError.invalidParameters(field: "lookback", message: "lookback must match ^[1-9]\\d*d$")
            }
            let clamped = min(days, 90)
            label = "\(clamped)d"
            startDay = today - Int64(clamped - 1) * 86_400_000
        }
        let rows = await state.usage(account: account).filter { $0.timestampMilliseconds >= startDay && $0.timestampMilliseconds < endDay + 86_400_000 }
        var byDate: [JSONValue] = []
        var day = startDay
        while day <= endDay {
            let total = -rows.filter { $0.timestampMilliseconds >= day && $0.timestampMilliseconds < day + 86_400_000 }.reduce(0) { $0 + $1.amountMicro }
            byDate.append(["date": .string(TimeFormat.date(day)), "USD": .usd(total), "DIEM": 0])
            day += 86_400_000
        }
        var models: [String: (usd: Int64, units: Double)] = [:]
        for row in rows { models[row.modelId, default: (0, 0)].usd -= row.amountMicro; models[row.modelId, default: (0, 0)].units += row.units }
        let byModel: [JSONValue] = models.sorted { $0.value.usd > $1.value.usd }.prefix(50).map { entry in
            ["modelName": .string(entry.key), "unitType": "units", "modelType": .string(catalog.model(entry.key)?.type ?? "other"),
             "totalUsd": .usd(entry.value.usd), "totalDiem": 0, "totalUnits": .decimal(entry.value.units)]
        }
        return .json(["lookback": .string(label), "byDate": .array(byDate), "byModel": .array(byModel), "byModelDaily": [],
                      "byModelDailyUsd": [], "topModels": .array(models.keys.sorted().map { .string($0) }), "byKey": [], "byKeyDaily": [],
                      "byKeyDailyUsd": [], "topKeyNames": []])
    }
}
