import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The agent's HTTP/1.1 connection: Hummingbird's HTTP1 pipeline, plus what a daemon that
/// holds a wallet needs at the connection level. When a connection is accepted, its peer
/// credentials (and, when a binding needs it, its process identity) are read once and kept
/// in the registry, which caps connections per uid; a request head must arrive within the
/// header timeout once its first byte did, and an idle connection is closed after the idle
/// timeout.
struct AgentHTTP1Channel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    struct Timeouts: Sendable {
        /// From a request's first byte to its complete head.
        var header: TimeAmount = .seconds(10)
        /// With no request in progress.
        var idle: TimeAmount = .seconds(60)
        /// Between two pieces of a request body (a stalled upload), and how long a response may
        /// wait for a client that stopped reading it (a stalled download holds an upstream slot).
        var body: TimeAmount = .seconds(30)
    }

    let responder: HTTPChannelHandler.Responder
    let registry: ConnectionRegistry
    let timeouts: Timeouts
    /// Read each process's executable, start time and unit at accept (bindings are configured).
    let readsProcessIdentity: Bool
    /// The Unix socket (SO_PEERCRED) or the loopback TCP listener (the uid from /proc/net/tcp).
    var transport: ConnectionRegistry.Transport = .unixSocket

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let transport = self.transport
        let peerRead: EventLoopFuture<PeerCredentials?> = switch transport {
        case .unixSocket: PeerCredentials.read(channel)
        case .loopbackTCP: channel.eventLoop.makeSucceededFuture(LoopbackPeer.credentials(of: channel))
        }
        return peerRead.flatMapThrowing { peer in
            let identity = readsProcessIdentity && transport == .unixSocket ? peer.map { ClientIdentity.of($0) } : nil
            guard let info = registry.open(channel, peer: peer, identity: identity, transport: transport) else {
                logger.warning("connection refused: every connection of this uid is being answered", metadata: ["uid": "\(peer?.uid ?? 0)"])
                // A refused connection is closed at once, never left holding its descriptor.
                channel.close(promise: nil)
                throw ConnectionRefused()
            }
            let registry = self.registry
            channel.closeFuture.whenComplete { _ in registry.close(info.id, channel: channel) }
            let phase = ConnectionPhase()
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(RequestStartWatcher(phase: phase, timeouts: timeouts))
            try sync.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false,
                                                 withOutboundHeaderValidation: false, withEncoderConfiguration: .init(),
                                                 withDecoderLimitConfiguration: .init())
            try sync.addHandler(AbsoluteFormHost())
            try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try sync.addHandler(RequestTracker(phase: phase, timeouts: timeouts, registry: registry, connection: info.id))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }

    struct ConnectionRefused: Error {}
}

/// Where a connection is in its request cycle; shared by its two handlers (one event loop).
final class ConnectionPhase {
    enum Phase { case idle, readingHead, readingBody, busy }
    var phase: Phase = .idle
    var timer: Scheduled<Void>?

    /// Closes the connection after `delay` unless the phase has moved on by then.
    func arm(_ delay: TimeAmount, context: ChannelHandlerContext, expecting expected: Phase) {
        timer?.cancel()
        let channel = context.channel
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: delay) { [self] in
            timer = nil
            if phase == expected { channel.close(promise: nil) }
        }
    }

    func disarm() {
        timer?.cancel()
        timer = nil
    }
}

@available(*, unavailable)
extension ConnectionPhase: Sendable {}

/// First in the pipeline, it sees raw bytes: the first byte of a request starts the header timeout.
final class RequestStartWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let phase: ConnectionPhase
    let timeouts: AgentHTTP1Channel.Timeouts

    init(phase: ConnectionPhase, timeouts: AgentHTTP1Channel.Timeouts) {
        self.phase = phase
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { phase.arm(timeouts.idle, context: context, expecting: .idle) }
    }

    func channelActive(context: ChannelHandlerContext) {
        phase.arm(timeouts.idle, context: context, expecting: .idle)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase.phase == .idle {
            phase.phase = .readingHead
            phase.arm(timeouts.header, context: context, expecting: .readingHead)
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { phase.disarm() }
}

@available(*, unavailable)
extension RequestStartWatcher: Sendable {}

/// After HTTP decoding: a request head starts its body (each piece must come within the body
/// timeout); once the request has fully arrived the connection is being answered (not
/// evictable, no timeout) until its response has been written; then it is idle again.
final class RequestTracker: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let phase: ConnectionPhase
    let timeouts: AgentHTTP1Channel.Timeouts
    let registry: ConnectionRegistry
    let connection: UInt64
    private var inProgress = 0
    /// Armed while the channel is not writable: a client that stops reading its answer is cut off.
    private var writeStall: Scheduled<Void>?
    /// Set when the server is shutting down: close once the response in progress is written.
    private var closeWhenIdle = false
    /// Responses whose last part is handed to the channel but not yet written to the socket.
    private var unwritten = 0

    init(phase: ConnectionPhase, timeouts: AgentHTTP1Channel.Timeouts, registry: ConnectionRegistry, connection: UInt64) {
        self.phase = phase
        self.timeouts = timeouts
        self.registry = registry
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inProgress += 1
            phase.phase = .readingBody
            phase.arm(timeouts.body, context: context, expecting: .readingBody)
            registry.set(connection, .receiving)
        case .body:
            if phase.phase == .readingBody { phase.arm(timeouts.body, context: context, expecting: .readingBody) }
        case .end:
            if phase.phase == .readingBody {
                phase.phase = .busy
                phase.disarm()
                registry.set(connection, .answering)
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        inProgress = max(0, inProgress - 1)
        if inProgress == 0 {
            phase.phase = .idle
            phase.arm(timeouts.idle, context: context, expecting: .idle)
            registry.set(connection, .idle)
        }
        // The response's last bytes may still wait for the peer to read them, and NIO drops
        // pending writes on close: a shutdown closes the connection only once they are written.
        unwritten += 1
        let written = promise ?? context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolatedUnsafeUnchecked().whenComplete { [self] _ in
            unwritten -= 1
            closeIfDone(context: context)
        }
        context.write(data, promise: written)
        if closeWhenIdle { context.flush() }
    }

    /// A response the client does not read fills the socket; after the body timeout without
    /// progress the connection is closed, which ends the relay and frees its upstream slot.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            writeStall?.cancel()
            writeStall = nil
        } else if writeStall == nil {
            let channel = context.channel
            writeStall = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: timeouts.body) { [self] in
                writeStall = nil
                if !channel.isWritable { channel.close(promise: nil) }
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// Graceful shutdown: idle connections close now, busy ones once their response is written.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        closeWhenIdle = true
        closeIfDone(context: context)
    }

    private func closeIfDone(context: ChannelHandlerContext) {
        if closeWhenIdle, inProgress == 0, unwritten == 0 { context.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        phase.disarm()
        writeStall?.cancel()
        writeStall = nil
    }
}

@available(*, unavailable)
extension RequestTracker: Sendable {}

/// RFC 9112 §3.2.2: for an absolute-form target (`GET http://host/path`) the target's host is
/// the request's host and a `Host` header is ignored. The HTTP-types conversion keeps only the
/// path and the first `Host`, so the target's authority replaces the `Host` header here, before
/// it — and the loopback listener's Host check then sees the host the client really named.
final class AbsoluteFormHost: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), !head.uri.hasPrefix("/"), let authority = Self.authority(of: head.uri) else {
            context.fireChannelRead(data)
            return
        }
        head.headers.replaceOrAdd(name: "Host", value: authority)
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }

    /// `http://user@host:port/path?q` → `host:port` (nil when the target has no `scheme://`).
    static func authority(of target: String) -> String? {
        guard let schemeEnd = target.range(of: "://") else { return nil }
        let rest = target[schemeEnd.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<end]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        return String(authority)
    }
}

@available(*, unavailable)
extension AbsoluteFormHost: Sendable {}
