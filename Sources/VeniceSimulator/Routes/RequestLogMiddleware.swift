import NIOCore
import Hummingbird
import Logging

/// Records each request's headers (for tests) and logs one line per request: method, path, status, ms.
/// Header values are never logged.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = SimulatorRequestContext
    let state: SimulatorState
    let logRequests: Bool
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let headers = request.headers.map { (name: $0.name.canonicalName.lowercased(), value: $0.value) }
        await state.record(RecordedRequest(method: request.method.rawValue, path: request.uri.path, headers: headers))
        let start = ContinuousClock.now
        var status = 500
        defer {
            if logRequests {
                let elapsed = ContinuousClock.now - start
                let ms = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
                logger.info("\(request.method.rawValue) \(request.uri.path) \(status) \(ms)ms")
            }
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as SimulatorError {
            status = error.status.code
            throw error
        } catch is NIOTooManyBytesError {
            status = 413
            throw SimulatorError.standard(.contentTooLarge, "Request body exceeds the maximum allowed size.")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            status = 413
            throw SimulatorError.standard(.contentTooLarge, "Request body exceeds the maximum allowed size.")
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            // Unknown routes answer with Venice's JSON shape, not an empty body.
            status = error.status.code
            throw SimulatorError.standard(error.status, error.status == .notFound ? "Not found" : "Method not allowed")
        } catch let error as any HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}
