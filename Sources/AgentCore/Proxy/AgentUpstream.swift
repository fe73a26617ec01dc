import NIOCore
import NIOHTTP1
import VeniceClient

/// Calls the agent makes on its own behalf (top-ups, balance, reconciliation, pricing, keys):
/// signed-in ones take a slot of the same per-wallet scheduler as client requests, so the
/// agent never exceeds Venice's 5-in-flight limit; answers are small and read whole.
struct AgentUpstream: Sendable {
    let client: UpstreamClient
    let scheduler: UpstreamScheduler

    struct Answer: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
    }

    func fetch(_ request: UpstreamRequest, limit: Int = 8 << 20) async throws(VeniceClientError) -> Answer {
        let needsSlot = request.route.auth == .signIn
        if needsSlot {
            do { try await scheduler.acquire(client: "agent") } catch {
                throw .unreachable("the agent's upstream queue is full")
            }
        }
        do {
            let response = try await client.execute(request)
            let buffer: ByteBuffer
            switch response.body {
            case .buffered(let b): buffer = b
            case .stream(let s): buffer = (try? await s.collect(upTo: limit)) ?? ByteBuffer()
            }
            if needsSlot { await scheduler.release() }
            return Answer(status: response.status, headers: response.headers, body: Array(buffer.readableBytesView))
        } catch {
            if needsSlot { await scheduler.release() }
            throw error
        }
    }
}
