import Benchmark
import Foundation
import LedgerStorage
import StorageBench

/// Durable append of 128-byte records in groups of 8,192 against the physical limit (the same
/// bytes, one pwrite and one fdatasync per group, over a zero-filled file), measured in the same
/// process. Run: `swift package --allow-writing-to-package-directory benchmark --target StorageBenchmarks`.
/// Each iteration writes 2,000,000 records; setup (zero-filling, segment preallocation) is
/// excluded from the custom `records_per_s` metric, which is what docs/PERFORMANCE.md quotes.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .custom("records_per_s", polarity: .prefersLarger, useScalingFactor: false)],
        warmupIterations: 1,
        maxDuration: .seconds(30),
        maxIterations: 7
    )
    let scratch = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/khata-benchmarks-\(getpid())"
    var options = StorageBench.Options(directory: scratch)
    options.records = 2_000_000
    options.groupRecords = 8192
    let bench = StorageBench(options: options)

    Benchmark("Durable append, groups of 8192") { benchmark in
        try? removeTree(scratch)
        try makeDirectory(scratch)
        let rate = try bench.durableAppend(directory: scratch + "/store")
        benchmark.measurement(.custom("records_per_s", polarity: .prefersLarger, useScalingFactor: false), Int(rate))
        try? removeTree(scratch)
    }

    Benchmark("Physical limit, pwrite + fdatasync per group") { benchmark in
        try? removeTree(scratch)
        try makeDirectory(scratch)
        let rate = try bench.physicalLimit(path: scratch + "/limit.dat")
        benchmark.measurement(.custom("records_per_s", polarity: .prefersLarger, useScalingFactor: false), Int(rate))
        try? removeTree(scratch)
    }

    Benchmark("Verify a 2,000,000-record store") { benchmark in
        try? removeTree(scratch)
        try makeDirectory(scratch)
        _ = try bench.durableAppend(directory: scratch + "/store")
        benchmark.startMeasurement()
        let report = try StoreVerifier.verify(directory: scratch + "/store")
        benchmark.stopMeasurement()
        blackHole(report.records)
        try? removeTree(scratch)
    }
}
