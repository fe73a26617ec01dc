import Foundation
import NIOCore

/// Finds Venice's id for a response (`"id"` of an image answer, `"queue_id"` of a queued job)
/// in the first bytes of a JSON body, without buffering the body.
enum UpstreamIdentifier {
    static func find(in chunk: ByteBuffer) -> String? {
        let head = chunk.getBytes(at: chunk.readerIndex, length: min(chunk.readableBytes, 1024)) ?? []
        let text = String(decoding: head, as: UTF8.self)
        for key in ["\"id\":\"", "\"queue_id\":\"", "\"id\": \"", "\"queue_id\": \""] {
            guard let start = text.range(of: key)?.upperBound,
                  let end = text[start...].firstIndex(of: "\"") else { continue }
            let id = String(text[start..<end])
            if !id.isEmpty, id.count <= 128 { return id }
        }
        return nil
    }
}
