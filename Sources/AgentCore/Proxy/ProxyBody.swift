import AsyncHTTPClient
import Hummingbird
import NIOCore
import VeniceClient
import WalletCrypto

/// A client's request body on its way upstream. Bounded always; read whole when it is small
/// (so a retry can resend it) or when its price must be bounded before anything is signed —
/// for a client with spending limits, however the body is framed (Content-Length, chunked,
/// padded); streamed otherwise.
struct ProxyBody: Sendable {
    let upstream: UpstreamRequest.Body
    /// Set when streamed: tells afterwards whether the limit cut it, and holds its first bytes.
    let limited: LimitedBody<RequestBody>?
    /// The body as JSON (or the `model` of a buffered multipart form), for pricing.
    let json: JSONValue?
    /// A buffered multipart/form-data body, for pricing uploads (transcriptions, edits).
    let form: MultipartForm?
    let declaredLength: Int?
    /// The memory a whole-read body holds (nil when streamed); given back with the last copy.
    var reservation: BodyMemory.Reservation? = nil

    static func read(_ request: Request, route: VeniceRoute, mustBePriced: Bool, limit: Int, replayable: Int,
                     memory: BodyMemory? = nil) async throws(AgentError) -> ProxyBody {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit { throw .bodyTooLarge(limit: limit) }
        let upstream: UpstreamRequest.Body
        var limited: LimitedBody<RequestBody>?
        var reservation: BodyMemory.Reservation?
        if route.method == "GET" || route.method == "HEAD" || declared == 0 {
            upstream = .none
        } else if mustBePriced || (declared ?? Int.max) <= replayable {
            let held = memory.map { BodyMemory.Reservation($0) }
            reservation = held
            upstream = .buffered(try await collect(request.body, upTo: mustBePriced ? limit : replayable, memory: memory, reservation: held))
        } else {
            let body = LimitedBody(base: request.body, limit: limit)
            limited = body
            upstream = .streamed(.stream(body, length: declared.map { .known(Int64($0)) } ?? .unknown))
        }
        var json: JSONValue?
        var form: MultipartForm?
        if case .buffered(let buffer) = upstream {
            let bytes = Array(buffer.readableBytesView)
            json = try? JSONValue(parsing: bytes)
            if json == nil, let model = MultipartField.value(named: "model", in: bytes, contentType: request.headers[.contentType]) {
                json = ["model": .string(model)]
            }
            // Kept only when an upload must be priced (its slices hold the whole body).
            if mustBePriced {
                form = MultipartForm(body: bytes, contentType: request.headers[.contentType])
            }
        }
        return ProxyBody(upstream: upstream, limited: limited, json: json, form: form, declaredLength: declared, reservation: reservation)
    }

    /// Reads a whole body up to `limit` bytes: more is a 413, a body cut short a 400.
    /// Each chunk is counted against `memory` first (twice: the buffer and its parsed copy).
    static func collect(_ body: RequestBody, upTo limit: Int, memory: BodyMemory? = nil,
                        reservation: BodyMemory.Reservation? = nil) async throws(AgentError) -> ByteBuffer {
        var buffer = ByteBuffer()
        do {
            for try await chunk in body {
                guard chunk.readableBytes <= limit - buffer.readableBytes else { throw AgentError.bodyTooLarge(limit: limit) }
                if let memory, let reservation, !memory.grow(reservation, by: chunk.readableBytes * 2) {
                    throw AgentError.busy(retryAfterSeconds: 2)
                }
                var chunk = chunk
                buffer.writeBuffer(&chunk)
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw .badRequest("the request body could not be read completely")
        }
        return buffer
    }
}
