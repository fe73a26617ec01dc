import HTTPTypes
import Hummingbird
import WalletCrypto

extension RouteServices {
    static let imageStyles = ["3D Model", "Analog Film", "Anime", "Cinematic", "Comic Book", "Craft Clay", "Digital Art",
                              "Enhance", "Fantasy Art", "Isometric Style", "Line Art", "Lowpoly", "Neon Punk", "Origami",
                              "Photographic", "Pixel Art", "Texture", "Advertising", "Food Photography", "Real Estate", "Abstract",
                              "Cubist", "Graffiti", "Hyperrealism", "Impressionist", "Pointillism", "Pop Art", "Psychedelic",
                              "Renaissance", "Steampunk", "Surrealist", "Typography", "Watercolor"]

    func registerModels(_ api: RouterGroup<Context>) {
        api.get("models") { request, _ -> Response in
            try await faults.beforeHandling()
            let type = request.uri.queryParameters.get("type") ?? "text"
            guard ModelCatalog.modelTypes.contains(type) else {
                throw SimulatorError.invalidParameters(field: "type", message: "Invalid enum value. Expected 'text' | 'image' | 'video' | 'music' | 'tts' | 'asr' | 'embedding' | 'upscale' | 'inpaint' | 'all' | 'code', received '\(type)'")
            }
            var listing = catalog.listing(type: type)
            // A key filters by its modelPrivacy.
            if let token = Authenticator.bearer(request), !token.isEmpty {
                let record = try await auth.key(token)
                if record.modelPrivacy == "PRIVATE_ONLY", case .object(var object) = listing, let rows = object["data"]?.arrayValue {
                    object["data"] = .array(rows.filter { $0["model_spec"]?["privacy"]?.stringValue == "private" })
                    listing = .object(object)
                }
            }
            return await faults.maybeCut(.json(listing))
        }
        api.get("image/styles") { _, _ -> Response in
            try await faults.beforeHandling()
            return .json(["object": "list", "data": .array(Self.imageStyles.map { .string($0) })])
        }
        api.get("billing/usage") { _, _ -> Response in
            var headers = HTTPFields()
            headers[HTTPField.Name("Deprecation")!] = "@1783555200"
            headers[HTTPField.Name("Sunset")!] = "Wed, 16 Sep 2026 00:00:00 GMT"
            headers[HTTPField.Name("Link")!] = "</api/v1/billing/usage-history>; rel=\"successor-version\", <https://docs.venice.ai/api-reference/endpoint/billing/usage-history>; rel=\"deprecation\"; type=\"text/html\""
            return .json(["error": "This endpoint has been retired. Use GET /api/v1/billing/usage-history instead: page+limit became pageSize+nextCursor, startDate/endDate became startTimestamp/endTimestamp."],
                         status: .gone, headers: headers)
        }
    }
}
