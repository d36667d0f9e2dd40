import CKhataSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A dedicated OS thread for blocking work (file I/O) that must never run on a Swift concurrency
/// or event-loop thread.
public final class BackgroundThread: Sendable {
    private final class Body {
        let name: String
        let run: @Sendable () -> Void
        init(_ name: String, _ run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }

    private let handle: pthread_t

    /// Starts `body` on a new thread named `name` (at most 15 characters show in `top`).
    public init(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Body(name, body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { raw in
                // Safe: `raw` is the retained Body passed below, released exactly once here.
                let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
                khata_set_thread_name(body.name)
                body.run()
                return nil
            }, context)
        // Safe: pthread_create fails only when the system is out of threads or memory.
        precondition(status == 0, "cannot start thread \(name): error \(status)")
        handle = thread
    }

    /// Starts a detached thread (one that signals its own end).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        BackgroundThread(name: name, body).detach()
    }

    /// Lets the thread's resources go when it returns, for threads that signal their own end.
    public func detach() {
        _ = pthread_detach(handle)
    }

    /// Waits for the thread to return.
    public func join() {
        _ = pthread_join(handle, nil)
    }
}
