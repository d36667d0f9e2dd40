import Hummingbird
import NIOCore

/// The request context of Khata's router: Hummingbird's core context plus the peer's address,
/// which the review pages need to believe `X-Forwarded-Proto` only from a configured proxy.
public struct KhataRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The address of the connection's other end (the proxy's, behind one).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
