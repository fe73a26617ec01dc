public import WalletCrypto

/// What `venice-agent doctor --spend-usd` buys, chosen from Venice's `/models` pricing: the
/// cheapest flat-priced image model at a small size, and the cheapest speech model saying a
/// few words. Ties go to the CLI's own defaults (`z-image-turbo`, `tts-kokoro`), then by id.
public struct DoctorSpendPlan: Sendable {
    public static let speechText = "Doctor check."
    public static let imageSide = 256

    public let imageModel: String
    public let imageUSD: Double
    public let speechModel: String
    public let speechUSD: Double

    public var estimateUSD: Double { imageUSD + speechUSD }

    /// Nil when the listing holds no flat-priced image model or no priced speech model.
    public init?(models: JSONValue?) {
        let list = models?["data"]?.arrayValue ?? []
        func cheapest(type: String, preferred: String, price: (JSONValue) -> Double?) -> (String, Double)? {
            let priced: [(String, Double)] = list.compactMap { model in
                guard model["type"]?.stringValue == type, let id = model["id"]?.stringValue,
                      let usd = price(model), usd.isFinite, usd >= 0 else { return nil }
                return (id, usd)
            }
            return priced.min { a, b in
                if a.1 != b.1 { return a.1 < b.1 }
                if (a.0 == preferred) != (b.0 == preferred) { return a.0 == preferred }
                return a.0 < b.0
            }
        }
        guard let image = cheapest(type: "image", preferred: "z-image-turbo", price: { $0["model_spec"]?["pricing"]?["generation"]?["usd"]?.doubleValue }),
              let speech = cheapest(type: "tts", preferred: "tts-kokoro", price: { $0["model_spec"]?["pricing"]?["input"]?["usd"]?.doubleValue })
        else { return nil }
        imageModel = image.0
        imageUSD = image.1
        speechModel = speech.0
        // Speech is priced per million characters of input.
        speechUSD = speech.1 * Double(Self.speechText.count) / 1_000_000
    }

    public var imageBody: JSONValue {
        ["model": .string(imageModel), "prompt": "a small blue circle on white", "width": .number(String(Self.imageSide)),
         "height": .number(String(Self.imageSide)), "format": "png"]
    }

    public var speechBody: JSONValue {
        ["model": .string(speechModel), "input": .string(Self.speechText)]
    }
}
