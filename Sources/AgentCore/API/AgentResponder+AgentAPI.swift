import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Logging
import WalletCrypto
import X402Protocol

/// `/agent/v1/*`: the agent's own API (status, lock/unlock, top-up, balance, audit).
extension AgentResponder {
    // MARK: /agent/v1

    func agentAPI(_ request: Request, method: String, path: String, requestID: String) async throws(AgentError) -> Response {
        switch (method, path) {
        case ("GET", "/agent/v1/status"):
            let snapshot = await scheduler.snapshot
            let status: JSONValue = [
                "address": .string(session.address.checksummed),
                "locked": .bool(!session.isUnlocked),
                "upstream": .string(configuration.upstream),
                "clock_offset_ms": .number(String(clock.offsetMilliseconds)),
                "in_flight": .number(String(snapshot.inFlight)),
                "queued": .number(String(snapshot.queued)),
                "max_in_flight": .number(String(configuration.maxInFlight)),
                "peak_in_flight": .number(String(snapshot.peakInFlight)),
                "signatures": .number(String(session.signatureCount)),
                "version": .string(AgentConfiguration.version),
            ]
            return Self.json(status, requestID: requestID)
        case ("POST", "/agent/v1/lock"):
            session.lock()
            logger.notice("key locked by client request")
            return Self.json(["locked": true], requestID: requestID)
        case ("POST", "/agent/v1/unlock"):
            var raw: [UInt8]
            do {
                let buffer = try await request.body.collect(upTo: 64 * 1024)
                raw = Array(buffer.readableBytesView)
            } catch {
                throw .badRequest("the unlock body must be a JSON object {\"password\": \"…\"} under 64 KiB")
            }
            defer { _ = raw.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
            guard let json = try? JSONValue(parsing: raw), let password = json["password"]?.stringValue else {
                throw .badRequest("the unlock body must be a JSON object {\"password\": \"…\"}")
            }
            var bytes = Array(password.utf8)
            let secret = SecretBytes(zeroingSource: &bytes)
            if configuration.upstreamIsRealVenice, AgentConfiguration.isPubliclyKnown(session.address) {
                throw AgentError(.forbidden, "AGENT_PUBLIC_KEY_REFUSED",
                                 "\(session.address) is a publicly known test key; it is refused against the real Venice API")
            }
            do {
                try await session.unlock(password: secret)
            } catch {
                if error == .wrongPasswordOrCorrupted {
                    throw AgentError(.unauthorized, "AGENT_WRONG_PASSWORD", "wrong password for \(session.keystorePath); try again")
                }
                throw AgentError(.internalServerError, "AGENT_UNLOCK_FAILED", error.description)
            }
            logger.notice("key unlocked by client request")
            return Self.json(["locked": false, "address": .string(session.address.checksummed)], requestID: requestID)
        case ("POST", "/agent/v1/topup"):
            let body = try await Self.jsonBody(request)
            guard let usd = body["usd"]?.doubleValue else {
                throw .badRequest("the top-up body must be {\"usd\": AMOUNT}, e.g. {\"usd\": 10}")
            }
            let result = try await topUps.topUp(usd: usd)
            return Self.json([
                "amount_credited": .number(String(result.amountCreditedUSD)),
                "new_balance": result.newBalanceUSD.map { .number(String($0)) } ?? .null,
                "payment_id": .string(result.paymentId),
                "transaction": result.transaction.map(JSONValue.string) ?? .null,
            ], requestID: requestID)
        case ("GET", "/agent/v1/balance"):
            return Self.json(try await topUps.balance(), requestID: requestID)
        case ("GET", "/agent/v1/audit"):
            let limit = min(max(Int(request.uri.queryParameters["limit"].map(String.init) ?? "") ?? 50, 1), 1000)
            let events: [AgentLedger.AuditEvent]
            do { events = try ledger.auditEvents(limit: limit) } catch {
                throw AgentError(.internalServerError, "AGENT_LEDGER_ERROR", "cannot read the audit log: \(error)")
            }
            return Self.json(["events": .array(events.map { e in
                ["time": .string(Self.iso(e.time)), "kind": .string(e.kind), "detail": .string(e.detail)]
            })], requestID: requestID)
        default:
            throw .unknownRoute(method: method, path: path)
        }
    }


    static func jsonBody(_ request: Request, limit: Int = 64 * 1024) async throws(AgentError) -> JSONValue {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            let value = try JSONValue(parsing: Array(buffer.readableBytesView))
            guard value.objectValue != nil else { throw AgentError.badRequest("the body must be a JSON object") }
            return value
        } catch let error as AgentError {
            throw error
        } catch {
            throw .badRequest("the body must be a JSON object under \(limit / 1024) KiB")
        }
    }

    static func iso(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
