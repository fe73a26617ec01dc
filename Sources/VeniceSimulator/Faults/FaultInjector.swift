import HTTPTypes
import WalletCrypto
import Hummingbird
import NIOCore

/// Applies the fault knobs to one request: added latency, injected statuses, cut connections.
struct FaultInjector: Sendable {
    let state: SimulatorState

    /// Failure texts of the routes that have their own (VENICE.md §7.1, §7.2).
    enum Flavor: Sendable { case generic, speech, transcription }

    /// Sleeps the latency knob, then maybe throws one of the configured statuses.
    /// `inference`: the request may consume a scripted status.
    func beforeHandling(flavor: Flavor = .generic, inference: Bool = false) async throws {
        let knobs = await state.faults
        if knobs.latencyMilliseconds > 0 { try await Task.sleep(for: .milliseconds(knobs.latencyMilliseconds)) }
        if inference, let scripted = await state.nextScriptedStatus() {
            throw Self.error(status: scripted, flavor: flavor, retryAfter: knobs.retryAfterSeconds)
        }
        for status in knobs.failRates.keys.sorted() {
            guard let rate = knobs.failRates[status], rate > 0, await state.draw() < rate else { continue }
            throw Self.error(status: status, flavor: flavor, retryAfter: knobs.retryAfterSeconds)
        }
    }

    static func error(status: Int, flavor: Flavor, retryAfter: Int = 30) -> SimulatorError {
        switch status {
        case 429:
            return .json(.tooManyRequests, ["error": "The model is currently overloaded. Please try again later."],
                         headers: [("Retry-After", String(retryAfter))])
        case 502:
            let text = switch flavor {
            case .speech: "Speech synthesis failed due to a temporary upstream error. Please retry."
            case .transcription: "Audio transcription failed due to a temporary upstream error. Please retry."
            case .generic: "Upstream provider error. Please retry."
            }
            return .standard(.badGateway, text)
        case 503:
            return .standard(.serviceUnavailable, "The model is at capacity. Please try again later.")
        case 504:
            return .standard(.gatewayTimeout, "Request timed out. Please retry.")
        default:
            return .standard(HTTPResponse.Status(code: status), "Internal server error")
        }
    }

    struct ConnectionReset: Error {}

    /// With the reset knob: keep status and headers (and Content-Length), send part of the body, then close.
    func maybeCut(_ response: Response) async -> Response {
        let rate = await state.faults.resetRate
        guard rate > 0, await state.draw() < rate else { return response }
        var response = response
        let original = response.body
        response.body = ResponseBody(contentLength: response.body.contentLength) { writer in
            let box = BufferBox()
            try await original.write(CollectingWriter(box: box))
            var buffer = box.buffer
            let keep = max(1, buffer.readableBytes / 2)
            if let part = buffer.readSlice(length: min(keep, buffer.readableBytes)) { try await writer.write(part) }
            throw ConnectionReset()
        }
        return response
    }
}

/// Holds a collected body (only touched by the one task writing the response).
final class BufferBox: @unchecked Sendable {
    var buffer = ByteBuffer()
}

/// Collects a response body so it can be cut.
struct CollectingWriter: ResponseBodyWriter {
    let box: BufferBox
    mutating func write(_ buffer: ByteBuffer) async throws {
        var copy = buffer
        box.buffer.writeBuffer(&copy)
    }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
