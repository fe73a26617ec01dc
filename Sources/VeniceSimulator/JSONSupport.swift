import HTTPTypes
import Foundation
public import Hummingbird
public import WalletCrypto
import NIOCore
import X402Protocol

extension JSONValue {
    /// A JSON number from a Double: integral values without a fraction, others in shortest form.
    static func decimal(_ value: Double) -> JSONValue {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return .number(String(Int64(value))) }
        return .number(Self.shortest(value))
    }

    /// USD from micro-dollars (USDC atomic units), rounded to 6 decimals.
    static func usd(_ micro: Int64) -> JSONValue { decimal(Money.usd(micro)) }

    static func optional(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    private static func shortest(_ value: Double) -> String {
        let text = "\(value)"
        if text.contains("e") { return String(format: "%.10f", value).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression) }
        return text
    }
}

extension Response {
    static func json(_ body: JSONValue, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.serialized())))
    }

    static func bytes(_ bytes: [UInt8], contentType: String, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = contentType
        headers[.contentLength] = String(bytes.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension Money {
    /// The simulator's own dollar figures (catalog prices times validated quantities): one that
    /// leaves `Money`'s range is a 400 naming `field`, never a trap.
    static func micro(_ usd: Double, field: String) throws(SimulatorError) -> Int64 {
        guard let micro = Money.micro(usd: usd) else {
            throw .invalidParameters(field: field, message: "The amount this request would cost is out of range")
        }
        return micro
    }
}

/// Strict request bodies: Content-Type, size, JSON syntax, unknown fields, field types.
struct StrictBody: Sendable {
    let object: JSONObject

    static let maxJSONBytes = 35 * 1024 * 1024

    /// Reads a JSON object body. Missing body → empty object when `optional`. Keys outside `allowed` are a 400
    /// unless `rejectsUnknownKeys` is false (routes whose schema does not forbid additional properties).
    static func read(_ request: Request, allowed: Set<String>, optional: Bool = false, rejectsUnknownKeys: Bool = true) async throws -> StrictBody {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        var request = request
        let buffer = try await request.collectBody(upTo: maxJSONBytes + 1)
        if buffer.readableBytes > maxJSONBytes {
            throw SimulatorError.standard(.contentTooLarge, "Request body exceeds the maximum allowed size.")
        }
        if buffer.readableBytes == 0 && optional { return StrictBody(object: JSONObject()) }
        guard contentType.hasPrefix("application/json") else {
            throw SimulatorError.standard(.badRequest, "'Content-Type' must be 'application/json'")
        }
        let bytes = Array(buffer.readableBytesView)
        guard let value = try? JSONValue(parsing: bytes), let object = value.objectValue else {
            throw SimulatorError.standard(.badRequest, "Invalid JSON request")
        }
        let unknown = rejectsUnknownKeys ? object.keys.filter { !allowed.contains($0) } : []
        if !unknown.isEmpty {
            throw SimulatorError.invalidParameters(field: nil,
                message: "Unrecognized key(s) in object: " + unknown.map { "'\($0)'" }.joined(separator: ", "))
        }
        return StrictBody(object: object)
    }

    subscript(key: String) -> JSONValue? {
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let value = self[key] else { return nil }
        guard let text = value.stringValue else { throw SimulatorError.invalidParameters(field: key, message: "Expected string") }
        return text
    }

    func int(_ key: String) throws -> Int? {
        guard let value = self[key] else { return nil }
        guard let literal = value.numberLiteral, let number = Int(literal) else {
            throw SimulatorError.invalidParameters(field: key, message: "Expected integer")
        }
        return number
    }

    func double(_ key: String) throws -> Double? {
        guard let value = self[key] else { return nil }
        guard let number = value.doubleValue else { throw SimulatorError.invalidParameters(field: key, message: "Expected number") }
        return number
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = self[key] else { return nil }
        guard let flag = value.boolValue else { throw SimulatorError.invalidParameters(field: key, message: "Expected boolean") }
        return flag
    }
}
