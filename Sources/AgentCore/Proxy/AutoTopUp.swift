import NIOCore
import VeniceClient
import WalletCrypto
import X402Protocol

/// Auto top-up (off by default): on Venice's insufficient-balance 402, top up once within
/// the caps and retry once, re-signed. It never loops: one top-up per request, the balance
/// must have risen, and a 402 a top-up cannot fix (a quote above the balance, DIEM-linked
/// wallets) goes back as it is, with the reason in `X-Agent-Auto-Topup`. Parallel 402s pay
/// once: the top-ups take turns, and one that finds a top-up settled since its 402 just retries.
struct AutoTopUp: Sendable {
    let topUps: TopUpService
    let amountMicro: Int64
    let upstream: UpstreamClient
    let scheduler: UpstreamScheduler
    let ledger: AgentLedger

    struct Outcome: Sendable {
        let note: String
        let retried: (answer: UpstreamResponse, lease: UpstreamScheduler.Lease)?
    }

    func settledCount() async -> Int { await topUps.settledCount }

    func fix(answerBody body: ByteBuffer, retrying request: UpstreamRequest, observedSettled: Int, client: String) async -> Outcome {
        let json = try? JSONValue(parsing: Array(body.readableBytesView))
        guard json?["code"]?.stringValue == "PAYMENT_REQUIRED", json?["reason"]?.stringValue ?? "insufficient_balance" == "insufficient_balance" else {
            await ledger.audit(.autoTopUpSkipped, "402 without PAYMENT_REQUIRED (quote above balance or DIEM-linked wallet): a top-up cannot fix it")
            return Outcome(note: "not-applicable: this 402 is not an insufficient-balance answer a top-up can fix", retried: nil)
        }
        // A wallet linked to an account with DIEM left is billed to that account: USDC credit
        // cannot fix its 402 (veniceai/skills skills/venice-auth/SKILL.md, Option B).
        if topUps.funding.spendsDIEM(now: AgentLedger.nowMilliseconds()) {
            await ledger.audit(.autoTopUpSkipped, "402 while the wallet spends its linked account's DIEM: a USDC top-up cannot fix it")
            return Outcome(note: "not-applicable: the wallet spends DIEM first, which a top-up does not add to", retried: nil)
        }
        let before = json?["currentBalanceUsd"]?.doubleValue ?? 0
        let note: String
        do {
            switch try await topUps.autoTopUp(usd: Money.usd(amountMicro), observedSettled: observedSettled) {
            case .alreadyToppedUp:
                note = "after-another-top-up"
            case .paid(let result):
                guard let after = result.newBalanceUSD, after > before else {
                    await ledger.audit(.autoTopUpBreaker, "balance did not rise after \(result.paymentId); not retrying")
                    return Outcome(note: "no-balance-increase: not retried", retried: nil)
                }
                await ledger.audit(.autoTopUp, "\(result.paymentId) +\(result.amountCreditedUSD) USD, retrying once")
                note = "topped-up: \(result.paymentId)"
            }
        } catch {
            await ledger.audit(.autoTopUpRefused, error.description)
            return Outcome(note: "refused: \(error.code)", retried: nil)
        }
        guard let lease = try? await scheduler.lease(.client(client)) else {
            return Outcome(note: "\(note); retry not queued", retried: nil)
        }
        guard let answer = try? await upstream.execute(request) else {
            return Outcome(note: "\(note); retry failed", retried: nil)
        }
        return Outcome(note: note, retried: (answer, lease))
    }
}
