/// The `CF-RAY` response header Venice sends on every answer.
///
/// Source: veniceai/api-docs `api-reference/api-spec.mdx`, "Response Headers Reference": `CF-RAY` — "Unique identifier
/// for this API request, used for troubleshooting and support requests" — returned "Always".
/// The shape is Cloudflare's: 16 lowercase hex digits, `-`, the three-letter code of the answering colo
/// (e.g. `8f1a2b3c4d5e6f70-IAD`). It identifies the HTTP exchange only: charge rows carry Venice's own
/// request id (the body's `id`), never a ray id.
enum CloudflareRay {
    static let headerName = "CF-RAY"
    /// Colos the simulator pretends to answer from.
    static let colos = ["IAD", "SJC", "FRA", "AMS", "LHR", "NRT", "SIN", "ORD"]

    /// A fresh random ray id.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        let padded = String(repeating: "0", count: max(0, 16 - hex.count)) + hex
        let colo = colos.randomElement(using: &generator) ?? "IAD"
        return padded + "-" + colo
    }
}
