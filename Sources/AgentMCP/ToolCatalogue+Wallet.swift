import Foundation
import MCP

/// balance and transactions (Venice's x402 wallet routes for the agent's wallet), and the
/// agent's own wallet tools: spend, budget_left, request_topup.
extension ToolCatalogue {
    static var walletTools: [AgentTool] { [balance, transactions, spend, budgetLeft, requestTopup] }

    static let balance = AgentTool(
        name: "balance", title: "Wallet credit at Venice",
        description: "The agent wallet's prepaid USD credit at Venice (GET /x402/balance for the agent's wallet).",
        inputSchema: Schema.object([:]), readOnly: true, spends: false
    ) { _, caller throws(ToolFailure) in
        let answer = try JSONCoding.object(try await send(caller, .get("/api/v1/x402/balance/me")))
        let data = answer["data"]?.objectValue ?? answer
        var lines: [String] = []
        if let wallet = data["walletAddress"]?.stringValue { lines.append("wallet: \(wallet)") }
        if let usd = number(data["balanceUsd"]) { lines.append("balance: \(usdText(usd))") }
        if let can = data["canConsume"]?.boolValue { lines.append("can consume: \(can)") }
        if let minimum = number(data["minimumTopUpUsd"]) { lines.append("minimum top-up: \(usdText(minimum))") }
        return ToolResults.json(.object(data), summary: lines.isEmpty ? nil : lines.joined(separator: "\n"))
    }

    static let transactions = AgentTool(
        name: "transactions", title: "Wallet transactions",
        description: "The agent wallet's x402 ledger at Venice: top-ups and charges, newest first.",
        inputSchema: Schema.object([
            "limit": Schema.integer("How many entries.", minimum: 1, maximum: 100, defaultValue: 20),
            "offset": Schema.integer("Entries to skip.", minimum: 0, defaultValue: 0),
        ]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let limit = try arguments.int("limit", in: 1...100) ?? 20
        let offset = try arguments.int("offset", in: 0...1_000_000) ?? 0
        let reply = try await send(caller, .get("/api/v1/x402/transactions/me", query: [("limit", String(limit)), ("offset", String(offset))]))
        return ToolResults.json(.object(try JSONCoding.object(reply)))
    }

    static let spend = AgentTool(
        name: "spend", title: "This client's spending",
        description: "What the agent's ledger recorded as spent by this client, grouped by model, route or day (charged, or estimated until reconciled).",
        inputSchema: Schema.object([
            "by": Schema.string("How to group rows.", oneOf: ["model", "route", "day", "client"], defaultValue: "model"),
            "since": Schema.string("First UTC day to include, YYYY-MM-DD."),
        ]),
        readOnly: true, spends: false
    ) { arguments, caller throws(ToolFailure) in
        let by = try arguments.string("by") ?? "model"
        guard ["model", "route", "day", "client"].contains(by) else { throw .badArgument(name: "by", reason: "must be model, route, day or client") }
        let since = try arguments.string("since")
        if let since, since.count != 10 || since.split(separator: "-").count != 3 {
            throw .badArgument(name: "since", reason: "must be a day as YYYY-MM-DD")
        }
        let answer = try JSONCoding.object(try await send(caller, .get("/agent/v1/spend", query: [("by", by), ("since", since)])))
        var lines = (answer["rows"]?.arrayValue ?? []).compactMap(\.objectValue).map { row in
            "\(row["key"]?.stringValue ?? "?"): \(row["requests"]?.intValue ?? 0) request(s), charged \(usdText(number(row["charged_usd"]) ?? 0)), estimated \(usdText(number(row["estimate_usd"]) ?? 0))"
        }
        lines.append("total: charged \(usdText(number(answer["total_charged_usd"]) ?? 0)), estimated \(usdText(number(answer["total_estimate_usd"]) ?? 0))")
        return ToolResults.json(.object(answer), summary: lines.joined(separator: "\n"))
    }

    static let budgetLeft = AgentTool(
        name: "budget_left", title: "Budget left",
        description: "This client's spending limits (per request, per UTC day, per UTC month) and what is left of them now.",
        inputSchema: Schema.object([:]), readOnly: true, spends: false
    ) { _, caller throws(ToolFailure) in
        let answer = try JSONCoding.object(try await send(caller, .get("/agent/v1/budget")))
        var lines = ["client: \(answer["name"]?.stringValue ?? "?")"]
        for (label, limitKey, spentKey, leftKey) in [("today", "daily_usd", "spent_today_usd", "left_today_usd"),
                                                     ("this month", "monthly_usd", "spent_month_usd", "left_month_usd")] {
            let spent = usdText(number(answer[spentKey]) ?? 0)
            if let limit = number(answer[limitKey]), let left = number(answer[leftKey]) {
                lines.append("\(label): \(usdText(left)) left of \(usdText(limit)) (spent or held \(spent))")
            } else {
                lines.append("\(label): no limit (spent or held \(spent))")
            }
        }
        if let perRequest = number(answer["max_request_usd"]) { lines.append("per request: at most \(usdText(perRequest))") }
        return ToolResults.json(.object(answer), summary: lines.joined(separator: "\n"))
    }

    static let requestTopup = AgentTool(
        name: "request_topup", title: "Ask for a top-up",
        description: "Asks for credit to be added to the agent's wallet at Venice. Unless the owner allowed this client to top up "
            + "(venice-agent clients add --may-topup), it never pays: it answers with the command the owner must run. "
            + "Use it when a tool says the wallet's credit at Venice is too low (HTTP 402).",
        inputSchema: Schema.object([
            "amount_usd": Schema.number("How much credit to ask for, in USD.", minimum: 1, maximum: 10_000),
            "reason": Schema.string("Why, in a few words, for the owner."),
        ], required: ["amount_usd"]),
        readOnly: false, spends: true
    ) { arguments, caller throws(ToolFailure) in
        guard let amount = try arguments.double("amount_usd", in: 1...10_000) else {
            throw .badArgument(name: "amount_usd", reason: "is required")
        }
        let reason = try arguments.string("reason").map { " Reason given: \(String($0.prefix(200)))." } ?? ""
        let command = "venice-agent topup \(amountText(amount))"
        // The agent decides: a client given may_topup is topped up within the agent's caps.
        let reply: AgentReply
        do throws(AgentCallFailure) {
            reply = try await caller.send(.post("/agent/v1/topup/request", json: ["usd": .double(amount)], timeoutSeconds: 300))
        } catch {
            guard error.code == "AGENT_TOPUP_NOT_ALLOWED" else { throw .refused(error) }
            return ToolResults.text("Nothing was paid: top-ups are the owner's decision. Ask the owner to run `\(command)` "
                                    + "(it pays USDC from the agent's wallet to Venice, within the agent's top-up caps), then call the tool again.\(reason)")
        }
        let answer = try JSONCoding.object(reply)
        let credited = number(answer["amount_credited"]).map(usdText) ?? usdText(amount)
        let balance = number(answer["new_balance"]).map { " The wallet's credit is now \(usdText($0))." } ?? ""
        return ToolResults.text("Topped up: \(credited) was paid in USDC from the agent's wallet to Venice.\(balance)")
    }

    static func number(_ value: Value?) -> Double? {
        switch value {
        case .int(let n)?: Double(n)
        case .double(let d)?: d
        case .string(let s)?: Double(s)
        default: nil
        }
    }

    static func usdText(_ usd: Double) -> String {
        String(format: "$%.4f", usd)
    }

    /// `10`, `2.5`: the shortest form of a top-up amount for the command line.
    static func amountText(_ usd: Double) -> String {
        let cents = (usd * 100).rounded()
        return cents.truncatingRemainder(dividingBy: 100) == 0 ? String(Int(cents / 100)) : String(format: "%.2f", cents / 100)
    }
}
