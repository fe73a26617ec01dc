/// The rate-limit headers Venice sends on a served request: requests made and left in the
/// current minute, and when the window resets.
///
/// Source: veniceai/api-docs `api-reference/rate-limiting.mdx`, "Rate Limit and Consumption
/// Headers": `x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`,
/// `x-ratelimit-reset-requests` ("the unix time stamp when the rate limit will reset"). The
/// per-minute limits are that page's paid tier: image models 20, audio models 60, embeddings
/// and the smallest LLMs 500. Assumption: other text models get 50 (the page lists 20–500 by
/// size), and the simulator only reports these numbers; it does not enforce them.
enum RateLimitHeaders {
    static let limitName = "x-ratelimit-limit-requests"
    static let remainingName = "x-ratelimit-remaining-requests"
    static let resetName = "x-ratelimit-reset-requests"
    static let windowMilliseconds: Int64 = 60_000

    /// Requests per minute for a model of `type` (nil: unknown model).
    static func requestsPerMinute(modelType type: String?) -> Int {
        switch type {
        case "image", "inpaint", "upscale": 20
        case "tts", "asr", "music": 60
        case "embedding": 500
        default: 50
        }
    }

    /// The three headers for a request that was the `count`-th in a window resetting at `resetsAtMilliseconds`.
    static func values(limit: Int, count: Int, resetsAtMilliseconds: Int64) -> [(String, String)] {
        [(limitName, String(limit)), (remainingName, String(max(0, limit - count))), (resetName, String(resetsAtMilliseconds / 1000))]
    }
}
