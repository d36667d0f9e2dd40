import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers requests the HTTP parser cannot read with a problem document, as every other error is
/// answered, instead of the server's bare `400` with no body: headers over the limit are `431`
/// `header-too-large`, anything else the parser refuses is `400` `malformed-http`. The connection is
/// closed after the answer, since the parser cannot find where the next request starts.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Whether the current request's answer has begun: then nothing can be written in its place.
    private var answering = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: answering = true
        case .end: answering = false
        case .body: break
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !answering else {
            context.fireErrorCaught(error)
            return
        }
        let tooLarge = parserError == .headerOverflow
        let problem = ProblemBody(
            type: tooLarge ? "/problems/header-too-large" : "/problems/malformed-http",
            title: tooLarge ? "Header too large" : "Malformed HTTP", status: tooLarge ? 431 : 400,
            detail: tooLarge
                ? "the request's header fields are larger than the server accepts (80 KiB in all)"
                : "the request is not valid HTTP/1.1 (\(parserError)); the connection is closed",
            instance: "")
        // Safe: the body holds only strings and an integer, which always encode.
        let body = try! JSONResponse.encoder.encode(problem)
        let head = HTTPResponse(
            status: tooLarge ? .requestHeaderFieldsTooLarge : .badRequest,
            headerFields: [
                .contentType: "application/problem+json", .contentLength: String(body.count), .connection: "close",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        // Half-close, then close a moment later: closing at once with the rest of the request
        // unread makes the kernel reset the connection, and a client may lose the answer.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
            channel.eventLoop.scheduleTask(in: Self.lingerTime) { channel.close(promise: nil) }
        }
    }

    /// How long a refused connection stays half-open for the client to read the answer.
    static let lingerTime = TimeAmount.seconds(2)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }
}
