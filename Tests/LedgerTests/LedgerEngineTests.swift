import Dispatch
import Foundation
import LedgerCore
import LedgerStorage
import Synchronization
import TestSupport
import Testing

@testable import Ledger

/// A clock that advances one second per reading, so tests repeat exactly.
final class SteppingClock: Sendable {
    private let seconds = Atomic<UInt64>(1_764_000_000)
    func now() -> UInt64 { seconds.add(1, ordering: .relaxed).newValue * 1_000_000_000 }
}

struct ScratchLedger {
    let path: String

    init() {
        var bytes = Array((NSTemporaryDirectory() + "khata-ledger-XXXXXX").utf8CString)
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } + "/ledger"
    }

    func remove() { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }

    static var configuration: LedgerConfiguration {
        var configuration = LedgerConfiguration()
        configuration.storage.segmentSizeBytes = 4 << 20
        configuration.storage.spareSegmentCount = 0
        return configuration
    }
}

@Suite("Ledger engine")
struct LedgerEngineTests {
    static func accounts(_ count: Int) -> [Event] {
        (1...count).map { index in
            .createAccount(
                NewAccount(
                    id: UInt128(index), key: "acct:\(index)", currency: .bdt,
                    flags: index % 2 == 0 ? .debitsMustNotExceedCredits : []))
        }
    }

    @Test("submitted batches come back with the state machine's results and are readable once durable")
    func submitAndRead() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let clock = SteppingClock()
        let ledger = try Ledger.open(
            directory: scratch.path, configuration: ScratchLedger.configuration, clock: clock.now)
        let created = try await ledger.submit(Self.accounts(4))
        #expect(created.allSatisfy { $0.code == .ok })
        let results = try await ledger.submit([
            .createTransfer(
                NewTransfer(
                    id: 100, debitAccountId: 1, creditAccountId: 2, amountMinor: 5_000, timeoutSeconds: 1800,
                    reference: "PAY-100", flags: .pending)),
            .createTransfer(NewTransfer(id: 101, debitAccountId: 2, creditAccountId: 3, amountMinor: 1)),
        ])
        #expect(results.map(\.code) == [.ok, .insufficientFunds])
        #expect(ledger.account(id: 2)?.creditsPending == 5_000)
        #expect(ledger.account(key: "acct:1")?.debitsPending == 5_000)
        #expect(try ledger.transfer(id: 100)?.state == .pending)
        #expect(try ledger.transfer(id: 100)?.fields.reference == "PAY-100")
        #expect(try ledger.transfer(id: 101) == nil)
        ledger.close()
    }

    @Test("bad submissions are refused whole and change nothing")
    func refusedSubmissions() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let ledger = try Ledger.open(directory: scratch.path, configuration: ScratchLedger.configuration)
        defer { ledger.close() }
        await #expect(throws: LedgerError.batchSize(count: 0, maximum: 8190)) { try await ledger.submit([]) }
        let tooMany = Array(repeating: Event.expirePending(pendingId: 1), count: 8191)
        await #expect(throws: LedgerError.batchSize(count: 8191, maximum: 8190)) { try await ledger.submit(tooMany) }
        let badKey = Event.createAccount(NewAccount(id: 1, key: String(repeating: "k", count: 65), currency: .bdt))
        await #expect(throws: LedgerError.invalidEvent(index: 1, code: .accountKeyTooLong)) {
            try await ledger.submit([Self.accounts(1)[0], badKey])
        }
        #expect(ledger.account(id: 1) == nil)
        #expect(ledger.committedSequence == 0)
    }

    @Test("a configuration where a submission could not fit a commit group is refused at open")
    func impossibleConfiguration() throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        var configuration = ScratchLedger.configuration
        configuration.storage.groupCapacityRecords = 100
        #expect(throws: LedgerError.self) { try Ledger.open(directory: scratch.path, configuration: configuration) }
        configuration.maximumBatchEvents = 99
        let ledger = try Ledger.open(directory: scratch.path, configuration: configuration)
        ledger.close()
    }

    @Test("reopening replays the log into exactly the state before")
    func reopenRebuildsState() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let clock = SteppingClock()
        var ids: [UInt128] = []
        do {
            let ledger = try Ledger.open(
                directory: scratch.path, configuration: ScratchLedger.configuration, clock: clock.now)
            _ = try await ledger.submit(Self.accounts(20))
            var random = SplitMix(seed: 9)
            for batch in 0..<200 {
                var events: [Event] = []
                for index in 0..<50 {
                    let id = UInt128(batch * 1000 + index + 1000)
                    ids.append(id)
                    let debit = UInt128(Int.random(in: 0..<10, using: &random) * 2 + 1)
                    let credit = UInt128(Int.random(in: 1...20, using: &random))
                    let hold = Int.random(in: 0..<4, using: &random) == 0
                    events.append(
                        .createTransfer(
                            NewTransfer(
                                id: id, debitAccountId: debit, creditAccountId: credit,
                                amountMinor: UInt64.random(in: 1...10_000, using: &random),
                                timeoutSeconds: hold ? 60 : 0, flags: hold ? .pending : [])))
                }
                _ = try await ledger.submit(events)
            }
            let before = Self.snapshot(ledger, ids: ids)
            ledger.close()
            let reopened = try Ledger.open(
                directory: scratch.path, configuration: ScratchLedger.configuration, clock: clock.now)
            defer { reopened.close() }
            #expect(Self.snapshot(reopened, ids: ids) == before)
            // Closing wrote a checkpoint, so nothing is replayed.
            #expect(reopened.recovery.checkpointSequence == UInt64(200 * 51 + 21))
            #expect(reopened.recovery.replayedRecords == 0)
        }
    }

    @Test("checkpoints bound replay, and checkpoint plus replay equals the state before")
    func checkpointsAndReplay() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let clock = SteppingClock()
        var configuration = ScratchLedger.configuration
        configuration.checkpointIntervalRecords = 3_000
        var ids: [UInt128] = []
        let ledger = try Ledger.open(directory: scratch.path, configuration: configuration, clock: clock.now)
        _ = try await ledger.submit(Self.accounts(10))
        for batch in 0..<100 {
            let events: [Event] = (0..<60).map { index in
                let id = UInt128(batch * 100 + index + 1)
                ids.append(id)
                return .createTransfer(
                    NewTransfer(
                        id: id, debitAccountId: UInt128(index % 5 * 2 + 1), creditAccountId: UInt128(index % 10 + 1),
                        amountMinor: UInt64(index + 1), timeoutSeconds: index % 3 == 0 ? 600 : 0,
                        flags: index % 3 == 0 ? .pending : []))
            }
            _ = try await ledger.submit(events)
        }
        let before = Self.snapshot(ledger, ids: ids)
        let committed = ledger.committedSequence
        ledger.waitForCheckpointWrite()
        // Copy the log as a crash would leave it (no checkpoint at close), then close the original.
        let copy = scratch.path + "-copy"
        try FileManager.default.copyItem(atPath: scratch.path, toPath: copy)
        ledger.close()
        let recovered = try Ledger.open(directory: copy, configuration: configuration, clock: clock.now)
        defer { recovered.close() }
        let checkpoint = try #require(recovered.recovery.checkpointSequence)
        #expect(checkpoint > 0 && checkpoint < committed)
        #expect(recovered.recovery.replayedRecords == Int(committed - checkpoint))
        #expect(Self.snapshot(recovered, ids: ids) == before)
    }

    /// Every account and every listed transfer, in a fixed order: a digest of the state.
    static func snapshot(_ ledger: Ledger, ids: [UInt128]) -> [String] {
        let accounts = ledger.accounts.sorted { $0.id < $1.id }
        let histories = accounts.map { account in
            "history \(account.id): "
                + (try! ledger.history(accountId: account.id, limit: 10_000)).map { "\($0.fields.id)" }.joined(
                    separator: ",")
        }
        return accounts.map { "\($0)" } + ids.map { "\((try! ledger.transfer(id: $0)).map { "\($0)" } ?? "none")" }
            + histories
    }

    @Test("8 concurrent submitters: every acknowledged transfer is readable and the books balance")
    func concurrentSubmitters() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        let ledger = try Ledger.open(directory: scratch.path, configuration: ScratchLedger.configuration)
        _ = try await ledger.submit(Self.accounts(100))
        let acknowledged = try await withThrowingTaskGroup(of: [UInt128].self) { group in
            for submitter in 0..<8 {
                group.addTask {
                    var random = SplitMix(seed: UInt64(submitter))
                    var ok: [UInt128] = []
                    for batch in 0..<100 {
                        let events: [Event] = (0..<1_000).map { index in
                            let id = UInt128(submitter) << 64 | UInt128(batch * 1_000 + index + 1)
                            return .createTransfer(
                                NewTransfer(
                                    id: id, debitAccountId: UInt128(Int.random(in: 1...100, using: &random)),
                                    creditAccountId: UInt128(Int.random(in: 1...100, using: &random)),
                                    amountMinor: UInt64.random(in: 1...1_000, using: &random)))
                        }
                        let results = try await ledger.submit(events)
                        for (event, result) in zip(events, results) where result.code == .ok {
                            if case .createTransfer(let t) = event { ok.append(t.id) }
                        }
                    }
                    return ok
                }
            }
            var all: [UInt128] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(acknowledged.count > 100_000)
        for id in acknowledged where (try! ledger.transfer(id: id)) == nil {
            Issue.record("acknowledged transfer \(id) is not readable")
            break
        }
        var debits: UInt128 = 0
        var credits: UInt128 = 0
        for account in ledger.accounts {
            debits += UInt128(account.debitsPosted)
            credits += UInt128(account.creditsPosted)
            if account.flags.contains(.debitsMustNotExceedCredits) {
                #expect(account.debitsPosted <= account.creditsPosted, "\(account.key) overdrawn")
            }
        }
        #expect(debits == credits)
        ledger.close()
    }
}

@Suite("Submission queue")
struct SubmissionQueueTests {
    @Test("a full queue refuses at once and elements come out in order")
    func boundedFIFO() {
        let queue = TestQueue(capacity: 4)
        for index in 0..<4 { #expect(queue.tryEnqueue(Box(index))) }
        #expect(!queue.tryEnqueue(Box(99)))
        #expect(queue.tryDequeue()?.value == 0)
        #expect(queue.tryEnqueue(Box(4)))
        #expect((1...4).map { _ in queue.tryDequeue()?.value } == [1, 2, 3, 4])
        #expect(queue.tryDequeue() == nil)
    }

    @Test("8 producers and one consumer: every element arrives exactly once")
    func concurrentProducers() {
        let queue = TestQueue(capacity: 1024)
        let perProducer = 20_000
        // Real threads, not a pool: a pool of two could run two spinning producers and never
        // the consumer.
        for worker in 0..<8 {
            BackgroundThread.start(name: "producer-\(worker)") {
                for index in 0..<perProducer {
                    let box = Box(worker * perProducer + index)
                    while !queue.tryEnqueue(box) { sched_yield() }  // full: let the consumer run
                }
            }
        }
        var seen = [Bool](repeating: false, count: 8 * perProducer)
        var received = 0
        var lastPerProducer = [Int](repeating: -1, count: 8)
        while received < 8 * perProducer {
            guard let box = queue.tryDequeue() else {
                sched_yield()
                continue
            }
            #expect(!seen[box.value])
            seen[box.value] = true
            let producer = box.value / perProducer
            #expect(box.value > lastPerProducer[producer], "one producer's elements out of order")
            lastPerProducer[producer] = box.value
            received += 1
        }
        #expect(queue.tryDequeue() == nil)
    }
}
