import Foundation
import WalletCrypto
import X402Protocol

/// Token counts for text the simulator reads or writes.
///
/// Our assumption, not Venice's tokenizer: one token per 4 UTF-8 bytes, rounded up, at least 1 for any text.
/// Real tokenizers differ per model; the simulator only needs counts that are deterministic and grow with the text.
enum TokenEstimate {
    static func count(_ text: String) -> Int { max(1, (text.utf8.count + 3) / 4) }

    /// Several texts (messages, inputs): the sum of their counts.
    static func count(_ texts: [String]) -> Int { texts.reduce(0) { $0 + count($1) } }
}

/// The simulator's "model": a deterministic reply derived from the prompt (FNV-1a seeded SplitMix64 over a word list).
///
/// Every piece is a three-letter word plus one separator, exactly 4 UTF-8 bytes, so each piece is exactly one
/// token under ``TokenEstimate`` and a reply of n pieces counts n tokens. The same prompt always gives the same reply.
enum TextSynthesizer {
    static let vocabulary = ["The", "sea", "was", "red", "and", "sky", "big", "old", "sun", "hot", "day", "new", "map", "far",
                             "owl", "fox", "ran", "sat", "saw", "one", "two", "six", "ten", "art", "oak", "ice", "air", "bay"]

    /// The reply to `prompt`: 12 to 40 tokens, cut to `maxTokens` when that is lower.
    static func reply(to prompt: String, maxTokens: Int?) -> (text: String, tokens: Int, truncated: Bool) {
        var generator = SeededGenerator(seed: 0, text: prompt)
        let natural = 12 + Int(generator.next() % 29)
        let length = min(natural, maxTokens ?? natural)
        var pieces: [String] = []
        for index in 0..<length {
            let word = vocabulary[Int(generator.next() % UInt64(vocabulary.count))]
            pieces.append(word + (index == natural - 1 ? "." : " "))
        }
        return (pieces.joined(), length, length < natural)
    }

    /// The reply split for streaming: a few tokens per chunk.
    static func chunks(_ text: String, piecesPerChunk: Int = 3) -> [String] {
        let bytes = Array(text.utf8)
        let size = 4 * max(1, piecesPerChunk)
        return stride(from: 0, to: bytes.count, by: size).map { String(decoding: bytes[$0..<min($0 + size, bytes.count)], as: UTF8.self) }
    }
}

/// Deterministic unit-length embedding vectors: the same text and dimension always give the same vector.
enum EmbeddingVectors {
    static let defaultDimensions = 1024
    static let maxDimensions = 4096
    static let maxValuesPerRequest = 2_048 * 1_024

    static func vector(for text: String, dimensions: Int) -> [Float] {
        var generator = SeededGenerator(seed: Int64(dimensions), text: text)
        var values = (0..<dimensions).map { _ in Float(Double(generator.next() % 2_000_001) / 1_000_000 - 1) }
        let norm = values.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { values = values.map { $0 / norm } }
        return values
    }

    /// OpenAI's `encoding_format: "base64"`: the float32 values little-endian, base64-encoded.
    static func base64(_ vector: [Float]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift))) }
        }
        return Data(bytes).base64EncodedString()
    }
}

/// Usage-based price of a text or embedding request from the catalog's `model_spec.pricing`
/// (`input.usd` and `output.usd`: "USD cost per million input/output tokens", veniceai/api-docs `swagger.yaml` `components.schemas.ModelResponse`
/// `model_spec.pricing`, served at `GET /models`).
struct TokenPricing: Sendable {
    let inputUSDPerMillion: Double
    let outputUSDPerMillion: Double

    init(model: ModelCatalog.Model) {
        inputUSDPerMillion = model.pricing["input"]?["usd"]?.doubleValue ?? 0
        outputUSDPerMillion = model.pricing["output"]?["usd"]?.doubleValue ?? 0
    }

    /// `input × input price + output × output price`, per 1M tokens, in micro-dollars (nearest).
    func micro(inputTokens: Int, outputTokens: Int, field: String) throws(SimulatorError) -> Int64 {
        let usd = (Double(inputTokens) * inputUSDPerMillion + Double(outputTokens) * outputUSDPerMillion) / 1_000_000
        return try Money.micro(usd, field: field)
    }
}
