import HTTPTypes
public import Hummingbird
public import WalletCrypto

/// Every answer that is not a 2xx, rendered with Venice's body shapes (VENICE.md §9.1).
public enum SimulatorError: Error, Sendable, HTTPResponseError {
    /// `{"error":"…"}`
    case standard(HTTPResponse.Status, String)
    /// `{"error":"…","code":"…"}`
    case coded(HTTPResponse.Status, String, code: String)
    /// 400 DetailedError: `{"error":"Invalid request parameters","details":{…},"issues":[…]}`
    case invalidParameters(field: String?, message: String)
    /// `/x402/top-up`: `{"error":"<CODE>","message":"…"}`
    case topUp(HTTPResponse.Status, code: String, message: String)
    /// 413 `{"code":"PAYLOAD_TOO_LARGE","error":"…"}`
    case payloadTooLarge(String)
    /// A JSON body chosen by the caller, with extra headers (402 discovery, insufficient balance, 429 Retry-After).
    case json(HTTPResponse.Status, JSONValue, headers: [(String, String)])

    public var status: HTTPResponse.Status {
        switch self {
        case .standard(let status, _), .coded(let status, _, _), .topUp(let status, _, _), .json(let status, _, _):
            status
        case .invalidParameters: .badRequest
        case .payloadTooLarge: .contentTooLarge
        }
    }

    public var code: String? {
        switch self {
        case .coded(_, _, let code), .topUp(_, let code, _): code
        case .payloadTooLarge: "PAYLOAD_TOO_LARGE"
        default: nil
        }
    }

    var body: JSONValue {
        switch self {
        case .standard(_, let message):
            return ["error": .string(message)]
        case .coded(_, let message, let code):
            return ["error": .string(message), "code": .string(code)]
        case .invalidParameters(let field, let message):
            var details = JSONObject([("_errors", field == nil ? .array([.string(message)]) : .array([]))])
            if let field { details[field] = ["_errors": .array([.string(message)])] }
            let path: JSONValue = field.map { .array([.string($0)]) } ?? .array([])
            return ["error": "Invalid request parameters", "details": .object(details),
                    "issues": .array([["code": "custom", "path": path, "message": .string(message)]])]
        case .topUp(_, let code, let message):
            return ["error": .string(code), "message": .string(message)]
        case .payloadTooLarge(let message):
            return ["code": "PAYLOAD_TOO_LARGE", "error": .string(message)]
        case .json(_, let body, _):
            return body
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Response.json(body, status: status)
        if case .json(_, _, let headers) = self {
            for (name, value) in headers {
                if let fieldName = HTTPField.Name(name) { response.headers[fieldName] = value }
            }
        }
        return response
    }
}

extension HTTPResponse.Status {
    /// 402 Payment Required (absent from HTTPTypes' named statuses).
    static var payment402: HTTPResponse.Status { .init(code: 402, reasonPhrase: "Payment Required") }
}
