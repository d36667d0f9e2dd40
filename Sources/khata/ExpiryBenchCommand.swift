import ArgumentParser
import Dispatch
import Expiry
import Foundation
import Ledger
import LedgerAccess
import LedgerCore
import Synchronization

/// `khata bench expiry`: holds voided per second by the expire-reservations job.
struct ExpiryBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expiry",
        abstract: "Holds voided per second by the expiry job.",
        discussion: """
            Creates --holds holds (1.00 each, windows of 1 to 60 s) between a clearing account and \
            --accounts merchants, moves the ledger's clock past every window, then times one run of \
            the expiry job in batches of --batch-size. Scratch data goes to --dir and is removed.
            """)

    @OptionGroup var config: BenchConfigOptions

    @Option(help: "Holds to create and expire.")
    var holds = 1_000_000

    @Option(help: "Merchant accounts the holds credit.")
    var accounts = 1_000

    @Option(help: "Holds per ledger submission in the expiry run (1...\(LedgerSession.largestBatch)).")
    var batchSize = 1_000

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard (1...100_000_000).contains(holds) else { throw ValidationError("--holds must be 1...100,000,000") }
        guard (1...1_000_000).contains(accounts) else { throw ValidationError("--accounts must be 1...1,000,000") }
        try LedgerSession.checkBatchSize(batchSize, option: "--batch-size")
    }

    func run() async throws {
        let directory = try output.scratchDirectory()
        let storage = try await config.storage()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The ledger's clock is the wall clock plus a skew the benchmark moves forward, so that
        // the windows pass without waiting for them.
        let skew = ClockSkew()
        var configuration = LedgerConfiguration()
        configuration.storage = storage
        configuration.expectedAccounts = accounts + 1
        configuration.expectedTransfers = holds * 2
        let ledger = try Ledger.open(directory: directory + "/ledger", configuration: configuration, clock: skew.read)
        defer { ledger.close() }
        let clearing: UInt128 = 1
        var events: [Event] = [.createAccount(NewAccount(id: clearing, key: "provider:bkash:clearing", currency: .bdt))]
        for index in 0..<accounts {
            events.append(.createAccount(NewAccount(id: 2 + UInt128(index), key: "merchant:M\(index)", currency: .bdt)))
        }
        var random = SystemRandomNumberGenerator()
        for start in stride(from: 0, to: events.count, by: LedgerSession.largestBatch) {
            _ = try await ledger.submit(Array(events[start..<min(start + LedgerSession.largestBatch, events.count)]))
        }
        for start in stride(from: 0, to: holds, by: LedgerSession.largestBatch) {
            let batch = (start..<min(start + LedgerSession.largestBatch, holds)).map { index in
                Event.createTransfer(
                    NewTransfer(
                        id: 1_000_000 + UInt128(index), debitAccountId: clearing,
                        creditAccountId: 2 + UInt128(Int.random(in: 0..<accounts, using: &random)), amountMinor: 100,
                        timeoutSeconds: UInt32.random(in: 1...60, using: &random), flags: .pending))
            }
            let results = try await ledger.submit(batch)
            guard results.allSatisfy({ $0.code == .ok }) else { throw CommandFailure("a hold was refused") }
        }
        skew.advance(seconds: 61)
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = try await ExpiryJob(ledger: LocalLedger(ledger: ledger), batchSize: batchSize).run(
            now: skew.read())
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard outcome.expired == holds else { throw CommandFailure("expected \(holds) expired, got \(outcome)") }
        let rate = Double(outcome.expired) / seconds
        if output.json {
            print(
                LedgerSession.jsonLine([
                    "holds": holds, "expired": outcome.expired, "batches": outcome.batches, "seconds": seconds,
                    "holds_per_s": rate.rounded(),
                ]))
        } else {
            print("expiry bench: \(outcome.expired) holds voided in \(outcome.batches) batches")
            print("  holds voided: \(Units.rate(rate)) per second (\(Units.seconds(seconds)))")
        }
    }
}

/// Wall-clock time plus a skew that only moves forward.
final class ClockSkew: Sendable {
    private let skewNanoseconds = Atomic<UInt64>(0)

    func advance(seconds: UInt64) { skewNanoseconds.add(seconds * 1_000_000_000, ordering: .sequentiallyConsistent) }

    var read: @Sendable () -> UInt64 {
        { [self] in Ledger.wallClockNanoseconds() + skewNanoseconds.load(ordering: .sequentiallyConsistent) }
    }
}
