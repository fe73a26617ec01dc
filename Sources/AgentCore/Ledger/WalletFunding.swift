import Synchronization
import VeniceClient
import WalletCrypto
import X402Protocol

/// Which balance Venice draws the wallet's signed-in requests from, as last read from
/// `GET /x402/balance/{wallet}`. A wallet linked to a Venice account with DIEM spends DIEM first,
/// and those requests never appear as CHARGE rows in `/x402/transactions`
/// (veniceai/api-docs guides/integrations/x402-venice-api.mdx, "DIEM First"; veniceai/skills
/// skills/venice-auth/SKILL.md): while DIEM is being spent, reconciliation expects no charges.
final class WalletFunding: Sendable {
    struct Reading: Sendable, Equatable {
        var balanceMicro: Int64
        var diemMicro: Int64
        /// Local time of the reading, ms since the epoch.
        var at: Int64
    }

    /// How long a reading is trusted.
    let freshFor: Int64
    private let last = Mutex<Reading?>(nil)

    init(freshForMilliseconds: Int64 = 600_000) {
        self.freshFor = freshForMilliseconds
    }

    var reading: Reading? { last.withLock { $0 } }

    /// Records the `data` of a balance answer (`balanceUsd`, `diemBalanceUsd`); amounts out of
    /// range are read as zero.
    func record(_ data: JSONValue, now: Int64) {
        let balance = data["balanceUsd"]?.doubleValue.flatMap { Money.micro(usd: $0) } ?? 0
        let diem = data["diemBalanceUsd"]?.doubleValue.flatMap { Money.micro(usd: $0) } ?? 0
        last.withLock { $0 = Reading(balanceMicro: max(0, balance), diemMicro: max(0, diem), at: now) }
    }

    /// True while the newest fresh reading shows DIEM left to spend.
    func spendsDIEM(now: Int64) -> Bool {
        guard let reading else { return false }
        return reading.diemMicro > 0 && now - reading.at <= freshFor
    }

    /// True when there is no reading younger than `milliseconds`.
    func isOlder(than milliseconds: Int64, now: Int64) -> Bool {
        guard let reading else { return true }
        return now - reading.at > milliseconds
    }
}
