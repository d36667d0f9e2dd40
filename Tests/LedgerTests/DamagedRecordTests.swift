import Foundation
import LedgerCore
import LedgerStorage
import TestSupport
import Testing

@testable import Ledger

/// A bit that rots in an old record (one before the newest checkpoint, so opening never reads it)
/// must never be used as if it were sound: every read back from the log verifies the record's
/// checksum first, and the scrub finds the damage without waiting for a read.
@Suite("Damaged records")
struct DamagedRecordTests {
    /// Segments of 32 slots, so that a few batches fill one and it is sealed.
    static var small: LedgerConfiguration {
        var configuration = ScratchLedger.configuration
        configuration.storage.segmentSizeBytes = 8_192
        configuration.storage.groupCapacityRecords = 16
        configuration.maximumBatchEvents = 8
        return configuration
    }

    static func transfer(_ id: UInt128, amountMinor: UInt64 = 28_894) -> Event {
        .createTransfer(NewTransfer(id: id, debitAccountId: 1, creditAccountId: 3, amountMinor: amountMinor))
    }

    /// A closed ledger holding accounts 1...4 and transfers 100...119 (100 is the one to damage,
    /// in the first, sealed segment), with its checkpoint at close.
    static func prepare(_ scratch: ScratchLedger, configuration: LedgerConfiguration = small) async throws {
        let ledger = try Ledger.open(directory: scratch.path, configuration: configuration)
        _ = try await ledger.submit(LedgerEngineTests.accounts(4))
        for id in 100..<120 { _ = try await ledger.submit([transfer(UInt128(id))]) }
        ledger.close()
    }

    static func damage(_ error: LedgerError) -> LogDamage? {
        if error.code == .damagedRecord, let damage = error.damage { return damage }
        return nil
    }

    @Test("a damaged old record answers damagedRecord with its file and offset, and nothing is decided on it")
    func readsVerify() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        try await Self.prepare(scratch)
        let (path, slot) = try LogBitRot.flip(transfer: 100, in: scratch.path)
        let ledger = try Ledger.open(directory: scratch.path, configuration: Self.small)
        defer { ledger.close() }
        let before = ledger.accounts.sorted { $0.id < $1.id }
        do {
            let read = try ledger.transfer(id: 100)
            Issue.record("a damaged record was read as \(String(describing: read))")
        } catch {
            let damage = try #require(Self.damage(error))
            #expect(damage.path == path && damage.offset == slot && damage.reason.contains("checksum"))
        }
        #expect(throws: LedgerError.self) { try ledger.history(accountId: 3, limit: 100) }
        // A refund of it and a retry of it decide nothing; a new posting is unaffected.
        let refund = NewTransfer(
            id: 500, debitAccountId: 0, creditAccountId: 0, amountMinor: 100, pendingId: 100, flags: .refund)
        let results = try await ledger.submit([.createTransfer(refund), Self.transfer(100), Self.transfer(501)])
        #expect(results.map(\.code) == [.recordDamaged, .recordDamaged, .ok])
        #expect(try ledger.transfer(id: 500) == nil)
        let after = ledger.accounts.sorted { $0.id < $1.id }
        #expect(after[0].debitsPosted == before[0].debitsPosted + 28_894)
        #expect(after[2].debitsPosted == before[2].debitsPosted)
        #expect(after[2].creditsPosted == before[2].creditsPosted + 28_894)
        #expect(ledger.damage.count == 1 && ledger.damage.first?.offset == slot)
        // Its neighbours are sound.
        #expect(try ledger.transfer(id: 101)?.fields.amountMinor == 28_894)
    }

    @Test("the scrub finds damage in a sealed segment and reports its file and offset; a sound log passes")
    func scrub() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        try await Self.prepare(scratch)
        do {
            let ledger = try Ledger.open(directory: scratch.path, configuration: Self.small)
            defer { ledger.close() }
            let pass = ledger.scrubSealedSegments()
            #expect(pass.completed && pass.damage.isEmpty && pass.segments >= 2 && pass.records > 20)
            #expect(ledger.damage.isEmpty && ledger.scrubStatus.passes == 1)
        }
        let (path, slot) = try LogBitRot.flip(transfer: 100, in: scratch.path)
        let ledger = try Ledger.open(directory: scratch.path, configuration: Self.small)
        defer { ledger.close() }
        let pass = ledger.scrubSealedSegments()
        #expect(pass.damage.count == 1)
        #expect(pass.damage.first?.path == path && pass.damage.first?.offset == slot)
        #expect(ledger.damage.map(\.offset) == [slot])
        // A second pass finds the same damage and does not count it twice.
        ledger.scrubSealedSegments()
        #expect(ledger.damage.count == 1 && ledger.scrubStatus.passes == 2)
    }

    @Test("the background scrub paces itself, reports each pass, and stops at close")
    func backgroundScrub() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        try await Self.prepare(scratch)
        try LogBitRot.flip(transfer: 100, in: scratch.path)
        let ledger = try Ledger.open(directory: scratch.path, configuration: Self.small)
        let reported = DispatchSemaphore(value: 0)
        var scrub = ScrubConfiguration()
        scrub.maximumBytesPerSecond = 1 << 30
        ledger.startScrub(scrub) { pass in
            if !pass.damage.isEmpty { reported.signal() }
        }
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                reported.wait()
                continuation.resume()
            }
        }
        #expect(ledger.damage.count == 1 && ledger.scrubStatus.passes >= 1)
        ledger.close()
    }

    @Test("a replay that needs a damaged record refuses to open, naming it, instead of rebuilding other balances")
    func replayRefuses() async throws {
        let scratch = ScratchLedger()
        defer { scratch.remove() }
        var configuration = Self.small
        configuration.checkpointIntervalRecords = 12
        configuration.storage.checkpointsKept = 4
        try await Self.prepare(scratch, configuration: configuration)
        do {
            // A refund of transfer 100 after the last checkpoint but one: reopening replays it.
            let ledger = try Ledger.open(directory: scratch.path, configuration: configuration)
            let refund = NewTransfer(
                id: 600, debitAccountId: 0, creditAccountId: 0, amountMinor: 5, pendingId: 100, flags: .refund)
            #expect(try await ledger.submit([.createTransfer(refund)]).map(\.code) == [.ok])
            ledger.close()
        }
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: scratch.path)
            .filter { $0.hasPrefix("checkpoint-") }.sorted()
        try FileManager.default.removeItem(atPath: scratch.path + "/" + checkpoints.last!)
        try LogBitRot.flip(transfer: 100, in: scratch.path)
        do {
            let ledger = try Ledger.open(directory: scratch.path, configuration: configuration)
            ledger.close()
            Issue.record("the ledger opened over a damaged record its replay needed")
        } catch {
            #expect("\(error)".contains("damaged") && "\(error)".contains("checksum"), "\(error)")
        }
    }
}
