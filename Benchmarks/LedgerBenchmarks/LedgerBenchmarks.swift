import Benchmark
import LedgerCore

/// The state machine alone, in memory, no log: how fast `LedgerState.apply` runs batches of 8,190
/// transfers between 100,000 accounts (10% holds). This is the ceiling the durable engine works
/// under. Run: `swift package --allow-writing-to-package-directory benchmark --target LedgerBenchmarks`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .custom("transfers_per_s", polarity: .prefersLarger, useScalingFactor: false)],
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 5
    )

    Benchmark("Apply 2,000,000 transfers in memory, 100,000 accounts") { benchmark in
        let accounts = 100_000
        let transfers = 2_000_000
        // As under the engine, requests are not kept in memory. This workload never reads one
        // back (no retries, posts or refunds), so there is no log to point at.
        let state = LedgerState<Unshared>(
            expectedAccounts: accounts, expectedTransfers: transfers, requests: UnloggedRequests())
        var next: UInt128 = 1
        let batchSize = 8_190
        for start in stride(from: 1, through: accounts, by: batchSize) {
            let events = (start..<min(start + batchSize, accounts + 1)).map { index in
                Event.createAccount(NewAccount(id: UInt128(index), key: "a\(index)", currency: .bdt))
            }
            _ = state.apply(events, now: 1)
        }
        var random = UInt64(0x5EED)
        func draw() -> UInt64 {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return random >> 17
        }
        var batches: [[Event]] = []
        for _ in 0..<(transfers / batchSize) {
            batches.append(
                (0..<batchSize).map { _ in
                    next += 1
                    let hold = draw() % 10 == 0
                    return .createTransfer(
                        NewTransfer(
                            id: next, debitAccountId: UInt128(draw() % UInt64(accounts) + 1),
                            creditAccountId: UInt128(draw() % UInt64(accounts) + 1), amountMinor: draw() % 100_000 + 1,
                            timeoutSeconds: hold ? 1800 : 0, flags: hold ? .pending : []))
                })
        }
        let count = batches.count * batchSize
        benchmark.startMeasurement()
        let clock = ContinuousClock()
        let started = clock.now
        for (index, batch) in batches.enumerated() {
            blackHole(state.apply(batch, now: UInt64(index + 2) * 1_000_000_000))
        }
        let elapsed = clock.now - started
        benchmark.stopMeasurement()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        benchmark.measurement(
            .custom("transfers_per_s", polarity: .prefersLarger, useScalingFactor: false), Int(Double(count) / seconds))
    }
}

/// A request source that keeps nothing and finds nothing: for a workload that never reads a
/// request back.
final class UnloggedRequests: RequestSource {
    func applied(_ request: NewTransfer, sequence: UInt64) {}
    func request(sequence: UInt64) -> RequestRead { .missing }
    var unlogged: [NewTransfer] { [] }
    func restoreUnlogged(_ requests: [NewTransfer]) {}
}
