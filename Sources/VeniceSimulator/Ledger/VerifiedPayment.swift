/// A top-up payment that passed every check of VENICE.md §3.4, ready to credit.
struct VerifiedPayment: Sendable {
    let payer: String            // lowercase
    let payerChecksummed: String
    let amount: UInt64
    let paymentId: String
    let transaction: String
}
