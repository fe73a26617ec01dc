import WalletCrypto

/// An upper bound on the input tokens of a `/chat/completions` or `/responses` body, read
/// from the body alone. Every tokenizer spends at least one byte of UTF-8 per token, so the
/// bytes of every string (keys and values, including tools, schemas and instructions) bound
/// the text; each message adds `perMessage` for the template's role markers; each image of the
/// conversation adds `perImage` (instead of its URL's bytes); Venice's own system prompt (on unless `venice_parameters.
/// include_venice_system_prompt` is false, openapi.yaml ChatCompletionRequest) adds
/// `veniceSystemPrompt`. What the body cannot bound — audio, video or file parts, an earlier
/// response or conversation carried over, web search or scraping (which add pages and
/// per-search charges) — makes the bound unknown.
enum PromptBound {
    /// Tokens per message for role markers and separators (chat templates spend 3–8).
    static let perMessage = 16
    /// Tokens per image: the most any vision model Venice lists spends on one image (Qwen2.5-VL
    /// at its default `max_pixels` = 12,845,056 / 28² = 16,384; Claude ≈ 1,600; GPT ≈ 1,105;
    /// Gemini ≤ 1,120).
    static let perImage = 16_384
    /// Venice's system prompt, unpublished: an allowance of 4,096 tokens.
    static let veniceSystemPrompt = 4_096
    /// Content part types whose tokens the body does not bound, and hosted tools that add
    /// results and charges of their own (a `type` anywhere in the body).
    static let unboundedParts: Set<String> = ["input_audio", "audio", "video_url", "input_video", "file", "input_file",
                                              "web_search", "web_search_preview", "file_search", "code_interpreter",
                                              "image_generation", "computer_use_preview", "mcp", "x_search"]
    static let imageParts: Set<String> = ["image_url", "input_image", "image"]

    enum Bound: Equatable {
        case tokens(Int)
        case unknown(String)
    }

    /// `messages` is the field holding the conversation (`messages` or `input`).
    static func inputTokens(_ body: JSONValue, messages field: String) -> Bound {
        let venice = body["venice_parameters"]
        if let search = venice?["enable_web_search"]?.stringValue, search != "off" {
            return .unknown("web search adds pages and charges the agent cannot bound")
        }
        for flag in ["enable_web_scraping", "enable_x_search"] where venice?[flag]?.boolValue == true {
            return .unknown("\(flag) adds pages and charges the agent cannot bound")
        }
        for carried in ["previous_response_id", "conversation"] where body[carried].map({ !$0.isNull }) == true {
            return .unknown("\(carried) carries input the agent cannot see")
        }
        var count = Counter()
        for (key, value) in body.objectValue ?? JSONObject([]) {
            count.bytes += key.utf8.count
            count.walk(value, inConversation: key == field)
        }
        if let reason = count.unknown { return .unknown(reason) }
        var tokens = count.bytes + count.images * perImage
        switch body[field] {
        case .array(let items)?: tokens += (items.count + 1) * perMessage
        default: tokens += 2 * perMessage
        }
        if venice?["include_venice_system_prompt"]?.boolValue != false { tokens += veniceSystemPrompt }
        return .tokens(tokens)
    }

    /// Sums UTF-8 bytes of keys, strings and number literals. An image part of the
    /// conversation counts as one image instead of the bytes of its `image_url` (or `url`),
    /// which the model sees as pixels; everywhere else (tools, schemas) every byte counts, so
    /// text cannot hide in an image-shaped object.
    struct Counter {
        static let imageFields: Set<String> = ["image_url", "url"]
        var bytes = 0
        var images = 0
        var unknown: String?

        mutating func walk(_ value: JSONValue, inConversation: Bool) {
            switch value {
            case .string(let s): bytes += s.utf8.count
            case .number(let n): bytes += n.utf8.count
            case .bool, .null: bytes += 1
            case .array(let items): for item in items { walk(item, inConversation: inConversation) }
            case .object(let object):
                let type = object["type"]?.stringValue ?? ""
                if PromptBound.unboundedParts.contains(type) {
                    unknown = unknown ?? "a \(type.prefix(32)) part has no token bound the agent knows"
                    return
                }
                let image = inConversation && PromptBound.imageParts.contains(type)
                if image { images += 1 }
                for (key, item) in object {
                    bytes += key.utf8.count
                    if image && Self.imageFields.contains(key) { continue }
                    walk(item, inConversation: inConversation)
                }
            }
        }
    }
}
