import JobStore
import Logging
import ServiceLifecycle

/// The scheduler as a swift-service-lifecycle service, inside `khata serve` or alone in
/// `khata worker`: runs what is due, then sleeps until the next slot (at most a minute, so a
/// changed clock is noticed). On graceful shutdown a running job finishes its current batch,
/// its outcome is recorded as interrupted, and the loop ends.
public struct SchedulerService: Service {
    public let scheduler: JobScheduler
    /// Nanoseconds since the Unix epoch.
    public let clock: @Sendable () -> UInt64
    public let logger: Logger

    public init(scheduler: JobScheduler, clock: @escaping @Sendable () -> UInt64, logger: Logger) {
        self.scheduler = scheduler
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        logger.info(
            "scheduler started",
            metadata: [
                "jobs": "\(scheduler.jobs.map { "\($0.name) (\($0.schedule))" }.joined(separator: ", "))",
                "zone": "\(scheduler.zone)",
            ])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let now = Int64(clock() / 1_000_000_000)
            do {
                for (job, result) in try await scheduler.runDue(now: now, shouldStop: { Task.isShuttingDownGracefully })
                {
                    switch result {
                    case .ran(let run):
                        let metadata: Logger.Metadata = [
                            "job": "\(job)", "run": "\(run.id)", "outcome": "\(run.outcome.rawValue)",
                            "read": "\(run.counts.read)", "written": "\(run.counts.written)",
                            "failed": "\(run.counts.failed)",
                        ]
                        if run.outcome == .failed {
                            logger.error(
                                "job run failed", metadata: metadata.merging(["error": "\(run.error ?? "")"]) { $1 })
                        } else if let error = run.error {
                            // Interrupted for a reason other than shutdown, e.g. its lease was lost.
                            logger.warning(
                                "job run stopped early", metadata: metadata.merging(["error": "\(error)"]) { $1 })
                        } else {
                            logger.info("job run", metadata: metadata)
                        }
                    case .alreadyRunning, .slotTaken:
                        logger.debug("job slot skipped", metadata: ["job": "\(job)", "why": "\(result)"])
                    }
                }
            } catch {
                // The store failed: report it and try again at the next wake-up.
                logger.error("scheduler pass failed", metadata: ["error": "\(error)"])
            }
            let next = (try? await scheduler.earliestNext(now: now)) ?? now + 60
            let waitSeconds = max(1, min(next, now + 60) - Int64(clock() / 1_000_000_000))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(waitSeconds)) }
        }
        logger.info("scheduler stopped")
    }
}
