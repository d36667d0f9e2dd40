import Hummingbird
import Logging

/// A quiet HTTP server on a free port of 127.0.0.1 for as long as a piece of work runs: the local
/// providers that the demo and the benchmarks send to.
enum LocalHTTPServer {
    /// Serves `router` while `body` runs, handing it the port; `name` says what failed to start.
    static func serving<T: Sendable>(
        _ router: Router<BasicRequestContext>, name: String, _ body: (Int) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "khata.local-http")
        // Quiet: its start and its shutdown's cancellation are not the caller's news.
        logger.logLevel = .critical
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else { throw CommandFailure("\(name) did not start") }
            do {
                let value = try await body(port)
                group.cancelAll()
                return value
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}
