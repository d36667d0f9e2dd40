import Dispatch
import LedgerStorage
import Synchronization

/// How the background scrub of sealed segments paces itself.
public struct ScrubConfiguration: Sendable {
    /// A pass starts this long after the previous one started (default: every segment once a
    /// day). The first starts when the scrub does.
    public var intervalSeconds: UInt64 = 86_400
    /// The most bytes of segment files read per second, so that the scrub takes a small share of
    /// the disk (a segment is read whole, then the scrub pauses for as long as the rate needs).
    public var maximumBytesPerSecond = 32 << 20

    public init() {}
}

/// What the scrub has done: for health checks and metrics.
public struct ScrubStatus: Sendable, Equatable {
    /// Passes finished since the ledger opened.
    public var passes = 0
    /// Segments and bytes the last finished pass verified.
    public var lastPassSegments = 0
    public var lastPassBytes = 0
    /// When the last pass finished, in nanoseconds since the Unix epoch (the ledger's clock).
    public var lastPassEndedAt: UInt64?
    /// Bytes verified since the ledger opened.
    public var bytesVerified = 0

    public init() {}
}

extension Ledger {
    /// Verifies every sealed segment now (checksums and the chain), paced by `afterEach` as in
    /// `SegmentScrub.pass`, and records what it finds: damage appears in `damage` (and so in
    /// health checks and metrics) until the log is repaired. Runs on the caller's thread.
    @discardableResult
    public func scrubSealedSegments(afterEach: (Int) -> Bool = { _ in true }) -> SegmentScrub.Pass {
        var bytesSoFar = 0
        let pass = SegmentScrub.pass(directory: directory) { bytes in
            bytesSoFar += bytes
            scrubProgress.withLock { $0.bytesVerified += bytes }
            return afterEach(bytes)
        }
        let found = pass.damage.map { error in
            LogDamage(path: error.path ?? directory, offset: error.offset ?? 0, sequence: nil, reason: error.message)
        }
        scrubDamage.withLock { known in
            for damage in found where !known.contains(damage) { known.append(damage) }
        }
        if pass.completed {
            let now = sequencer.clock()
            scrubProgress.withLock { status in
                status.passes += 1
                status.lastPassSegments = pass.segments
                status.lastPassBytes = pass.bytes
                status.lastPassEndedAt = now
            }
        }
        return pass
    }

    /// What the scrub has done so far.
    public var scrubStatus: ScrubStatus { scrubProgress.withLock { $0 } }

    /// Starts scrubbing on a thread of its own: a pass at once, then one every
    /// `configuration.intervalSeconds`, each paced to `maximumBytesPerSecond`, until the ledger
    /// closes. `report` is called after every pass (to log what it found).
    public func startScrub(
        _ configuration: ScrubConfiguration, report: @escaping @Sendable (SegmentScrub.Pass) -> Void
    ) {
        precondition(configuration.maximumBytesPerSecond > 0 && configuration.intervalSeconds > 0)
        BackgroundThread.start(name: "khata-scrub") { [self] in
            let stop = scrubStop
            while true {
                let started = DispatchTime.now()
                let pass = scrubSealedSegments { bytes in
                    let pauseNanoseconds = UInt64(bytes) * 1_000_000_000 / UInt64(configuration.maximumBytesPerSecond)
                    return stop.wait(timeout: .now() + .nanoseconds(Int(pauseNanoseconds))) == .timedOut
                }
                guard pass.completed else { break }
                report(pass)
                let next = started + .seconds(Int(configuration.intervalSeconds))
                guard stop.wait(timeout: next) == .timedOut else { break }
            }
            // Leave the signal for close's other waiters (none today) and any later start.
            stop.signal()
        }
    }
}
