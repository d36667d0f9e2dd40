import Ledger
import Prometheus
import Synchronization

/// The server's Prometheus metrics, in a registry of its own (no process-wide bootstrap, so that
/// several servers in one test process do not mix): requests by route, method and status with
/// their latencies, requests in flight, the ledger's committed sequence and queue depth, and the
/// sizes of the commit groups and submissions the ledger made durable (hand it to `Ledger.open` as
/// the group observer for those).
public final class ServerMetrics: DurableGroupObserver {
    private let registry = PrometheusCollectorRegistry()
    private let inFlight: Gauge
    private let committedSequence: Gauge
    private let queueDepth: Gauge
    private let damagedRecords: Gauge
    private let scrubPasses: Gauge
    private let scrubBytes: Gauge
    private let groupRecords: ValueHistogram
    private let groupSubmissions: ValueHistogram
    /// Counter and histogram per (route, method, status): looked up once, then reused.
    private let perRoute = Mutex<[RouteKey: (counter: Counter, latency: DurationHistogram)]>([:])

    struct RouteKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]
    static let sizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 2_048, 4_096, 8_192]

    public init() {
        inFlight = registry.makeGauge(
            descriptor: .init(
                namespace: "khata", subsystem: "http", metricName: "requests_in_flight", unitName: "",
                helpText: "HTTP requests being handled"))
        committedSequence = registry.makeGauge(
            descriptor: .init(
                namespace: "khata", subsystem: "ledger", metricName: "committed_sequence", unitName: "",
                helpText: "The last log sequence number made durable"))
        queueDepth = registry.makeGauge(
            descriptor: .init(
                namespace: "khata", subsystem: "ledger", metricName: "queue_depth", unitName: "",
                helpText: "Submissions waiting for the sequencer"))
        damagedRecords = registry.makeGauge(
            descriptor: .init(
                namespace: "khata", subsystem: "ledger", metricName: "damaged_records", unitName: "",
                helpText: "Log records found damaged (failed checksums) by reads and by the scrub"))
        scrubPasses = registry.makeGauge(
            descriptor: .init(
                namespace: "khata", subsystem: "ledger", metricName: "scrub_passes", unitName: "",
                helpText: "Passes over every sealed segment the scrub finished"))
        scrubBytes = registry.makeGauge(
            descriptor: .init(
                namespace: "khata", subsystem: "ledger", metricName: "scrub_verified", unitName: "bytes",
                helpText: "Bytes of sealed segments the scrub verified since start"))
        groupRecords = registry.makeValueHistogram(
            descriptor: .init(
                namespace: "khata", subsystem: "ledger", metricName: "group", unitName: "records",
                helpText: "Log records per commit group made durable"),
            labels: [], buckets: Self.sizeBuckets)
        groupSubmissions = registry.makeValueHistogram(
            descriptor: .init(
                namespace: "khata", subsystem: "ledger", metricName: "group", unitName: "submissions",
                helpText: "Submissions (batches) per commit group made durable"),
            labels: [], buckets: Self.sizeBuckets)
    }

    public func groupIsDurable(_ group: DurableGroup) {
        groupRecords.record(Double(group.records))
        groupSubmissions.record(Double(group.submissions))
    }

    func requestStarted() { inFlight.increment() }

    func requestFinished(route: String, method: String, status: Int, nanoseconds: UInt64) {
        inFlight.decrement()
        let key = RouteKey(route: route, method: method, status: status)
        let metrics = perRoute.withLock { cache in
            if let metrics = cache[key] { return metrics }
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let metrics = (
                counter: registry.makeCounter(
                    descriptor: .init(
                        namespace: "khata", subsystem: "http", metricName: "requests", unitName: "total",
                        helpText: "HTTP requests answered"), labels: labels),
                latency: registry.makeDurationHistogram(
                    descriptor: .init(
                        namespace: "khata", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                        helpText: "Time from a request's arrival to its answer"), labels: labels,
                    buckets: Self.latencyBuckets)
            )
            cache[key] = metrics
            return metrics
        }
        metrics.counter.increment()
        metrics.latency.recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// The exposition text, with the ledger's gauges read now.
    func render(ledger: Ledger) -> [UInt8] {
        committedSequence.set(Int64(clamping: ledger.committedSequence))
        queueDepth.set(Int64(ledger.queueDepth))
        damagedRecords.set(Int64(ledger.damage.count))
        let scrub = ledger.scrubStatus
        scrubPasses.set(Int64(scrub.passes))
        scrubBytes.set(Int64(scrub.bytesVerified))
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16_384)
        registry.emit(into: &buffer)
        return buffer
    }
}
