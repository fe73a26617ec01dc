public import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core storage plus the peer IP (per-IP rate limits, error budget).
public struct SimulatorRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteIP: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Multipart uploads up to 25 MB + framing; JSON up to 35 MB.
    public var maxUploadSize: Int { 36 * 1024 * 1024 }
}
