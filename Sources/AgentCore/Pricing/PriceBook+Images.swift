import WalletCrypto

/// Image edits, from `/models?type=inpaint`.
extension PriceBook {
    /// One edited image at the dearest figure the model lists (`inpaint`, any `resolutions`
    /// tier, any `quality` tier: a bound whatever resolution and quality Venice settles on),
    /// plus `inputImages.additional` for each input image past `inputImages.included`. The
    /// model is `model`, else the deprecated `modelId`, else `firered-image-edit` (openapi.yaml
    /// EditImageRequest, MultiEditImageRequest). `enhance_prompt` bills a rewrite whose price
    /// Venice does not publish: unbounded.
    func editPrice(_ body: JSONValue, route: String, form: MultipartForm?) async throws(AgentError) -> (PriceEstimate, model: String?) {
        let model = body["model"]?.stringValue ?? body["modelId"]?.stringValue ?? Self.defaultEditModel
        if body["enhance_prompt"]?.boolValue == true || body["enhance_prompt"]?.stringValue == "true" {
            return (.unbounded(reason: "enhance_prompt bills a rewrite whose price Venice does not publish"), model)
        }
        let images: Int
        if route == "/image/edit" {
            images = 1
        } else if let list = body["images"]?.arrayValue {
            images = list.count
        } else if let form {
            images = form.contents("images").count + form.contents("images[]").count
        } else {
            return (.unbounded(reason: "the body lists no \"images\""), model)
        }
        guard let pricing = await pricing(type: "inpaint", model: model) else { return (Self.noPrice(model), model) }
        var figures: [JSONValue?] = [pricing["inpaint"]]
        for (_, tier) in pricing["resolutions"]?.objectValue ?? JSONObject([]) { figures.append(tier) }
        for (_, tier) in pricing["quality"]?.objectValue ?? JSONObject([]) {
            for (_, level) in tier.objectValue ?? JSONObject([]) { figures.append(level) }
        }
        var usd = -1.0
        for figure in figures where figure != nil {
            guard let rate = TokenRates.rate(figure) else { return (outOfRange(model), model) }
            usd = max(usd, rate)
        }
        guard usd >= 0 else { return (Self.noPrice(model), model) }
        if let extra = pricing["inputImages"] {
            guard let each = TokenRates.rate(extra["additional"]), let included = extra["included"]?.intValue, included >= 0 else {
                return (outOfRange(model), model)
            }
            usd += each * Double(max(0, images - included))
        }
        return (priced(usdPerUnit: usd, units: 1, model: model), model)
    }
}
