import NIOCore
import NIOPosix

extension KhataServer {
    /// Makes NIO's event loops Swift concurrency's global executor, so that a request's handler,
    /// the continuation the ledger resumes and the answer stay on one event loop thread instead of
    /// hopping between NIO's threads and the runtime's pool (thread switches were the largest cost
    /// under load). Call it once, from the main thread, before any task is enqueued; answers
    /// whether it took effect.
    @discardableResult
    public static func runConcurrencyOnEventLoops() -> Bool {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }
}
