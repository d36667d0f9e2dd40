#if canImport(Glibc)
    import Glibc
#endif

/// A TCP socket bound to a free port of 127.0.0.1 (the kernel picks it), for tests that need a
/// port: closed at once to hand the port to a child process, or kept (listening) to hold it busy.
public struct LoopbackSocket {
    public let descriptor: Int32
    public let port: Int

    /// Binds, and listens when `listening`; nil when the system refuses.
    public init?(listening: Bool) {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(socketFD, raw, length) == 0 && (!listening || listen(socketFD, 1) == 0)
                    && getsockname(socketFD, raw, &length) == 0
            }
        }
        guard bound else {
            _ = Glibc.close(socketFD)
            return nil
        }
        descriptor = socketFD
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func close() { _ = Glibc.close(descriptor) }
}
