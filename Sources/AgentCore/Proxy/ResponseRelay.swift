import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import VeniceClient

/// Venice's answer back to the client: its headers filtered, its body streamed as it comes.
/// The upstream slot and the ledger row are settled when the body has been written (or has
/// failed); reconciliation is asked to look for the charge once a signed request succeeded.
/// A text answer's `usage` settles the row's hold first (`UsageSettler`), read as the chunks
/// pass (`UsageWatch`), never holding one back.
struct ResponseRelay: Sendable {
    let reconciler: ChargeReconciler
    /// Settles text requests' holds with their answers' usage (nil: estimates stay until reconciled).
    var settler: UsageSettler? = nil

    /// `streamedBody`, when the request body was streamed upstream, is closed before the answer
    /// completes: the connection reads the rest of the request itself afterwards.
    func response(_ answer: UpstreamResponse, lease: UpstreamScheduler.Lease?, hold: LedgerHold?, streamedBody: LimitedBody<RequestBody>?,
                  signedIn: Bool, notes: RequestNotes?, settlesUsage: Bool = false) -> Response {
        var fields = HTTPFields()
        for (name, value) in HeaderFilter.returnable(answer.headers) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        // Our server stamps `Date` with the agent's clock; Venice's is kept for clock checks (`doctor`).
        if let date = answer.headers.first(name: "date") { fields[.agentUpstreamDate] = String(date.prefix(64)) }
        // Past the client's soft limit (daily or monthly budget).
        if let warning = hold?.warning { fields[.agentBudgetWarning] = warning }
        // Venice's id for a request is the answer body's `id` (`chatcmpl-…`, an image's id) or
        // its `queue_id`; that is what its ledger's charge rows carry. CF-RAY (on every answer)
        // identifies the HTTP exchange at Cloudflare: logged, never matched against charges.
        let cfRay = answer.headers.first(name: "cf-ray")
        let retries = answer.retries.map(\.rawValue)
        let status = HTTPResponse.Status(code: answer.status)
        let reconciler = self.reconciler
        // Only a successful text answer's usage settles its hold.
        let settler = settlesUsage && answer.status < 300 && hold != nil ? self.settler : nil
        switch answer.body {
        case .buffered(let buffer):
            let bodyID = UpstreamIdentifier.find(in: buffer)
            notes?.set(upstreamRequestID: bodyID, cfRay: cfRay, retries: retries)
            let body = ResponseBody(contentLength: buffer.readableBytes) { writer in
                await lease?.release()
                if let settler, let hold, let usage = UsageSettler.usage(inBody: buffer.readableBytesView) {
                    await settler.settle(hold, usage: usage)
                }
                hold?.finish(status: answer.status, bytesOut: buffer.readableBytes, upstreamRequestID: bodyID)
                await streamedBody?.close()
                try await writer.write(buffer)
                try await writer.finish(nil)
            }
            return Response(status: status, headers: fields, body: body)
        case .stream(let stream):
            notes?.set(upstreamRequestID: nil, cfRay: cfRay, retries: retries)
            let contentLength = answer.headers.first(name: "content-length").flatMap { Int($0) }.flatMap { $0 >= 0 ? $0 : nil }
            let contentType = answer.headers.first(name: "content-type")
            let body = ResponseBody(contentLength: contentLength) { writer in
                var bytes = 0
                var upstreamID: String?
                var watch = settler.map { _ in UsageWatch(contentType: contentType) }
                do {
                    for try await chunk in stream {
                        if bytes == 0, upstreamID == nil { upstreamID = UpstreamIdentifier.find(in: chunk) }
                        bytes += chunk.readableBytes
                        // The chunk goes out first; the watch reads it after.
                        try await writer.write(chunk)
                        watch?.scan(chunk)
                    }
                    try await writer.finish(nil)
                } catch {
                    await lease?.release()
                    hold?.finish(status: 599, bytesOut: bytes, upstreamRequestID: upstreamID)
                    await streamedBody?.close()
                    throw error
                }
                await streamedBody?.close()
                await lease?.release()
                if let settler, let hold, let usage = watch?.usage { await settler.settle(hold, usage: usage) }
                hold?.finish(status: answer.status, bytesOut: bytes, upstreamRequestID: upstreamID)
                if signedIn, answer.status < 300 { await reconciler.requestFinished() }
            }
            return Response(status: status, headers: fields, body: body)
        }
    }
}
