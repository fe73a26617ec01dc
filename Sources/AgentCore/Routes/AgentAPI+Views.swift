import Hummingbird
import VeniceClient
import X402Protocol
import WalletCrypto

/// The owner's read-only views, for `venice-agent` and the dashboard alike: recent requests,
/// top-ups with their state, and the wallet's balance over time. Each takes a `Reader`, which
/// only the owner's programs and a live dashboard session have.
extension AgentAPI {
    /// `GET /agent/v1/requests?minutes=60&limit=200`: the requests started in the last
    /// `minutes` (1–1440), newest first, with what was held, what Venice charged and how long
    /// each took.
    func recentRequests(_ reader: Reader, _ request: Request) async throws(AgentError) -> Response {
        let minutes = try Self.queryCount(request, "minutes", default: 60, upTo: 1440)
        let limit = try Self.queryCount(request, "limit", default: 200, upTo: 1000)
        let since = AgentLedger.nowMilliseconds() - Int64(minutes) * 60_000
        let rows: [RequestLedger.RequestRow]
        do { rows = try await requests.recent(since: since, limit: limit) } catch let error as AgentError { throw error } catch {
            throw .ledger("cannot read the ledger: \(error)")
        }
        return Response.json([
            "minutes": .number(String(minutes)),
            "requests": .array(rows.map { row in
                [
                    "id": .string(row.id), "client": .string(row.client), "method": .string(row.method), "route": .string(row.route),
                    "model": row.model.map(JSONValue.string) ?? .null,
                    "status": row.status.map { .number(String($0)) } ?? .null,
                    "estimate_usd": Money.json(row.estimateMicro),
                    "charged_usd": Money.json(row.chargedMicro),
                    "started_at": .string(Timestamp.iso(row.startedAt)),
                    "latency_ms": row.finishedAt.map { .number(String(max(0, $0 - row.startedAt))) } ?? .null,
                ]
            }),
        ])
    }

    /// `GET /agent/v1/topups?limit=50`: the latest top-ups with their state (reserved, pending,
    /// settled, failed, unknown) and, for those that ended, why.
    func recentTopUps(_ reader: Reader, _ request: Request) async throws(AgentError) -> Response {
        let limit = try Self.queryCount(request, "limit", default: 50, upTo: 500)
        let records: [TopUpJournal.Record]
        do { records = try await topUps.journal.recent(limit: limit) } catch {
            throw .ledger("cannot read the top-up journal: \(error)")
        }
        return Response.json(["topups": .array(records.map { record in
            [
                "id": .string(record.id), "created_at": .string(Timestamp.iso(record.createdAt)),
                "updated_at": .string(Timestamp.iso(record.updatedAt)),
                "amount_usd": Money.json(record.amountMicro), "state": .string(record.state.rawValue),
                "outcome": record.outcome.map(JSONValue.string) ?? .null,
                "transaction": record.transaction.map(JSONValue.string) ?? .null,
            ]
        })])
    }

    /// `GET /agent/v1/balance/history?limit=100`: the wallet's balance after each of its latest
    /// ledger rows at Venice (`balanceAfter` of `GET /x402/transactions/{wallet}`), oldest first.
    /// Asks Venice, so it needs the key (423 while locked).
    func balanceHistory(_ reader: Reader, _ request: Request) async throws(AgentError) -> Response {
        let limit = try Self.queryCount(request, "limit", default: 100, upTo: 100)
        guard session.isUnlocked else { throw .locked }
        let rows: [JSONValue]
        do {
            let venice = topUps.venice
            let read: @Sendable () async throws(VeniceClientError) -> [JSONValue] = { try await venice.transactions(limit: limit, offset: 0) }
            // The dashboard's polling must not keep an idle key unlocked.
            if case .dashboard = reader {
                rows = try await KeySession.withoutKeepingAlive { try await read() }
            } else {
                rows = try await read()
            }
        } catch let error as VeniceClientError {
            if case .signerLocked = error { throw .locked }
            throw .balanceFailed("the wallet's ledger could not be read from Venice: \(error.description)")
        } catch {
            throw .balanceFailed("the wallet's ledger could not be read from Venice: \(error)")
        }
        let points: [JSONValue] = rows.reversed().compactMap { row in
            guard let time = row["createdAt"]?.stringValue, let after = row["balanceAfter"]?.doubleValue,
                  let afterMicro = Money.micro(usd: after) else { return nil }
            return [
                "time": .string(time), "type": row["type"]?.stringValue.map(JSONValue.string) ?? .null,
                "amount_usd": row["amount"]?.doubleValue.flatMap { Money.micro(usd: $0) }.map { Money.json($0) } ?? .null,
                "balance_usd": Money.json(afterMicro),
            ]
        }
        return Response.json(["points": .array(points)])
    }

    /// A whole-number query parameter from 1 to `limit`, or `fallback` when absent.
    static func queryCount(_ request: Request, _ name: String, default fallback: Int, upTo limit: Int) throws(AgentError) -> Int {
        guard let text = request.uri.queryParameters[Substring(name)] else { return fallback }
        guard text.count <= 7, let value = Int(text), (1...limit).contains(value) else {
            throw .badRequest("\(name) must be a whole number from 1 to \(limit)")
        }
        return value
    }
}
