import Dispatch
import Ledger
import LedgerCore
import LedgerStorage
import StorageBench
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The ledger benchmark behind `khata bench`: creates accounts, then posts transfers between
/// uniformly random accounts (10% holds, later captured or voided), durably, in batches, from
/// several concurrent submitters, and measures throughput and per-batch latency from
/// submission to durable acknowledgement.
public struct LedgerBench: Sendable {
    public struct Options: Sendable {
        public var accounts = 100_000
        public var transfers = 1_000_000
        public var batchEvents = 8190
        public var submitters = 4
        public var seed: UInt64 = 1
        /// Offered load in transfers per second across all submitters; 0 submits as fast as
        /// acknowledgements come back.
        public var rateTransfersPerSecond = 0
        /// Scratch data directory, removed afterwards.
        public var directory: String
        public var storage = StoreConfiguration()
        public init(directory: String) { self.directory = directory }
    }

    public struct Result: Sendable {
        public var accounts: Int
        public var transfers: Int
        public var seconds: Double
        public var transfersPerSecond: Double
        public var p50Milliseconds: Double
        public var p99Milliseconds: Double
        public var okTransfers: Int
        public var refusedTransfers: Int
        public var rssBytes: Int
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    public func run() async throws -> Result {
        try? removeTree(options.directory)
        try makeDirectory(options.directory)
        defer { try? removeTree(options.directory) }
        var configuration = LedgerConfiguration()
        configuration.storage = options.storage
        configuration.expectedAccounts = options.accounts
        configuration.expectedTransfers = options.transfers
        let ledger = try Ledger.open(directory: options.directory + "/ledger", configuration: configuration)
        defer { ledger.close() }
        var index = 1
        while index <= options.accounts {
            let upper = min(index + options.batchEvents - 1, options.accounts)
            _ = try await ledger.submit(
                (index...upper).map { .createAccount(NewAccount(id: UInt128($0), key: "bench:\($0)", currency: .bdt)) })
            index = upper + 1
        }
        let perSubmitter = (options.transfers + options.submitters - 1) / options.submitters
        let started = Clock.now()
        let outcomes = try await withThrowingTaskGroup(of: (latencies: [Double], ok: Int, refused: Int).self) { group in
            for submitter in 0..<options.submitters {
                let count = min(perSubmitter, options.transfers - submitter * perSubmitter)
                guard count > 0 else { continue }
                group.addTask { try await self.submit(ledger, submitter: submitter, count: count) }
            }
            var all: [(latencies: [Double], ok: Int, refused: Int)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let seconds = Clock.seconds(since: started)
        let latencies = outcomes.flatMap(\.latencies).sorted()
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Result(
            accounts: options.accounts, transfers: options.transfers, seconds: seconds,
            transfersPerSecond: Double(options.transfers) / seconds,
            p50Milliseconds: percentile(latencies, 0.50), p99Milliseconds: percentile(latencies, 0.99),
            okTransfers: outcomes.map(\.ok).reduce(0, +), refusedTransfers: outcomes.map(\.refused).reduce(0, +),
            rssBytes: Int(usage.ru_maxrss) * 1024)
    }

    private func submit(_ ledger: Ledger, submitter: Int, count: Int) async throws -> (
        latencies: [Double], ok: Int, refused: Int
    ) {
        var random = BenchRandom(seed: options.seed &+ UInt64(submitter) &* 0x9E37_79B9)
        var latencies: [Double] = []
        var ok = 0
        var refused = 0
        var holds: [UInt128] = []
        var nextId = UInt128(submitter + 1) << 64
        var sent = 0
        // At a fixed offered load each batch has a scheduled start, and latency counts from it,
        // so a slow acknowledgement that delays the next submission is not hidden.
        let paced = options.rateTransfersPerSecond > 0
        let perSubmitterRate = Double(max(1, options.rateTransfersPerSecond)) / Double(options.submitters)
        let started = Clock.now()
        var batchNumber = 0
        while sent < count {
            let size = min(options.batchEvents, count - sent)
            var scheduled = Clock.now()
            if paced {
                scheduled = started + UInt64(Double(batchNumber) * Double(options.batchEvents) / perSubmitterRate * 1e9)
                let now = Clock.now()
                if scheduled > now { try await Task.sleep(nanoseconds: scheduled - now) }
            }
            batchNumber += 1
            var events: [Event] = []
            events.reserveCapacity(size)
            for _ in 0..<size {
                nextId += 1
                let roll = random.next() % 100
                if roll < 10 || holds.isEmpty {
                    holds.append(nextId)
                    events.append(
                        .createTransfer(
                            NewTransfer(
                                id: nextId, debitAccountId: account(&random), creditAccountId: account(&random),
                                amountMinor: random.next() % 100_000 + 1, timeoutSeconds: 1800, flags: .pending)))
                } else if roll < 15 || roll < 20 {
                    let hold = holds.removeFirst()
                    events.append(
                        .createTransfer(
                            NewTransfer(
                                id: nextId, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: hold,
                                flags: roll < 15 ? .postPending : .voidPending)))
                } else {
                    events.append(
                        .createTransfer(
                            NewTransfer(
                                id: nextId, debitAccountId: account(&random), creditAccountId: account(&random),
                                amountMinor: random.next() % 100_000 + 1)))
                }
            }
            if !paced { scheduled = Clock.now() }
            let results = try await ledger.submit(events)
            latencies.append(Clock.seconds(since: scheduled) * 1000)
            for result in results { if result.code == .ok { ok += 1 } else { refused += 1 } }
            sent += size
        }
        return (latencies, ok, refused)
    }

    @inline(__always)
    private func account(_ random: inout BenchRandom) -> UInt128 {
        UInt128(random.next() % UInt64(options.accounts) + 1)
    }
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((Double(sorted.count - 1) * fraction).rounded())
    return sorted[rank]
}

/// SplitMix64: a small seeded generator, so that the same seed gives the same workload (and the
/// same demo day) on every machine.
public struct BenchRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
