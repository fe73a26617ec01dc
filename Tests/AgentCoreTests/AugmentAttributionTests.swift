import Foundation
import Testing
import VeniceSimulator
import WalletCrypto

@Suite("Charges of routes that name no model are attributed")
struct AugmentAttributionTests {
    @Test("web search and scrape through the agent: each $0.01 charge lands on its request row, none unexplained, a balance read between them takes none")
    func augmentChargesAreAttributed() async throws {
        try await withAgent { agent in
            let search = try await agent.request("POST", "/api/v1/augment/search", json: #"{"query":"canals of Venice","limit":2}"#)
            #expect(search.status == 200, "\(search.text.prefix(200))")
            #expect(try await agent.request("GET", "/api/v1/x402/balance/me").status == 200)
            let scrape = try await agent.request("POST", "/api/v1/augment/scrape", json: #"{"url":"https://example.com/"}"#)
            #expect(scrape.status == 200, "\(scrape.text.prefix(200))")
            var rows: [String: Double] = [:]
            for _ in 0..<40 {
                let spend = try await agent.request("GET", "/agent/v1/spend?by=route")
                rows = Dictionary((spend.json?["rows"]?.arrayValue ?? []).compactMap { row in
                    row["key"]?.stringValue.map { ($0, row["charged_usd"]?.doubleValue ?? 0) }
                }, uniquingKeysWith: { $1 })
                if rows["/api/v1/augment/search"] == 0.01, rows["/api/v1/augment/scrape"] == 0.01 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(rows["/api/v1/augment/search"] == 0.01, "\(rows)")
            #expect(rows["/api/v1/augment/scrape"] == 0.01, "\(rows)")
            #expect((rows["/api/v1/x402/balance/me"] ?? 0) == 0, "\(rows)")
            let status = try await agent.request("GET", "/agent/v1/status")
            #expect(status.json?["unexplained_charges"]?.intValue == 0)
        }
    }

    @Test("a client with a per-request limit may search (priced at Venice's documented $0.01) and is refused under a cent")
    func augmentIsPricedForLimitedClients() async throws {
        try await withAgent { agent in
            for (limit, status) in [("0.05", 200), ("0.005", 402)] {
                let created = try await agent.request("POST", "/agent/v1/clients", json: #"{"name":"searcher-\#(status)","max_request_usd":\#(limit)}"#)
                let auth = [("Authorization", "Bearer \(created.json?["token"]?.stringValue ?? "")")]
                let search = try await agent.request("POST", "/api/v1/augment/search", json: #"{"query":"canals"}"#, headers: auth)
                #expect(search.status == status, "\(search.text.prefix(300))")
                if status == 402 {
                    #expect(search.json?["error"]?["code"]?.stringValue == "AGENT_BUDGET_EXCEEDED")
                    #expect(search.json?["error"]?["estimate_usd"]?.doubleValue == 0.01)
                }
            }
        }
    }
}

