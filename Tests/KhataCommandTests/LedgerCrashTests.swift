import Foundation
import Ledger
import LedgerBench
import LedgerCore
import LedgerStorage
import TestSupport
import Testing

/// The ledger writer killed with SIGKILL at seeded random points, 35 times over one data
/// directory: after each kill, every acknowledged transfer is there as sent, the books balance,
/// and replaying the log twice gives the same state.
@Suite("Ledger crash recovery with real processes")
struct LedgerCrashTests {
    @Test("no acknowledged transfer is lost and recovery equals a replay after SIGKILL")
    func killedLedgerWriters() throws {
        let directory = ScratchDirectory("khata-ledger-crash")
        defer { directory.remove() }
        let ledgerPath = directory.path + "/ledger"
        var random = SplitMix(seed: 30_030)
        var acknowledged: [(round: Int, submitter: Int, batch: Int)] = []
        for round in 0..<35 {
            let killAfter = Int.random(in: 0...12, using: &random)
            let writer = try LineReader([
                "debug-ledger", "--data-dir", directory.path, "--round", "\(round)", "--batches", "100000",
                "--submitters", "3", "--checkpoint-interval-records", "2000", "--log-level", "error",
            ])
            let opened = try #require(writer.nextLine(), "round \(round): the writer printed nothing")
            #expect(opened.hasPrefix("open "), "round \(round): \(opened)")
            var acks = 0
            while acks < killAfter, let line = writer.nextLine() {
                let parts = line.split(separator: " ")
                guard parts.first == "ack", parts.count == 5 else {
                    Issue.record("round \(round): unexpected line \(line)")
                    break
                }
                #expect(parts[4] == "refused=0", "round \(round): \(line)")
                acknowledged.append((Int(parts[1])!, Int(parts[2])!, Int(parts[3])!))
                acks += 1
            }
            writer.kill()
            try check(ledgerPath, acknowledged: acknowledged, round: round)
        }
        #expect(acknowledged.count > 100)
    }

    private func check(_ path: String, acknowledged: [(round: Int, submitter: Int, batch: Int)], round: Int) throws {
        let first = try Ledger.open(directory: path)
        #expect(first.recovery.skippedCheckpoints.isEmpty, "round \(round): \(first.recovery.skippedCheckpoints)")
        let firstSnapshot = first.accounts.sorted { $0.id < $1.id }.map { "\($0)" }
        for (ackRound, submitter, batch) in acknowledged {
            for event in CrashWorkload.batch(round: ackRound, submitter: submitter, batch: batch) {
                guard case .createTransfer(let sent) = event else { continue }
                guard let stored = try first.transfer(id: sent.id) else {
                    Issue.record("round \(round): acknowledged transfer \(sent.id) is missing")
                    first.close()
                    return
                }
                #expect(stored.fields.amountMinor == sent.amountMinor || sent.flags.contains(.postPending))
            }
        }
        var debits: UInt128 = 0
        var credits: UInt128 = 0
        var pendingDebits: UInt128 = 0
        var pendingCredits: UInt128 = 0
        for account in first.accounts {
            debits += UInt128(account.debitsPosted)
            credits += UInt128(account.creditsPosted)
            pendingDebits += UInt128(account.debitsPending)
            pendingCredits += UInt128(account.creditsPending)
        }
        #expect(debits == credits && pendingDebits == pendingCredits, "round \(round): the books do not balance")
        first.close()
        let second = try Ledger.open(directory: path)
        #expect(
            second.accounts.sorted { $0.id < $1.id }.map { "\($0)" } == firstSnapshot, "round \(round): replay differs")
        second.close()
    }
}
