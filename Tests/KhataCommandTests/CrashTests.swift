import Foundation
import LedgerStorage
import TestSupport
import Testing

/// A writer process killed with SIGKILL at seeded random points, 60 times over one store: after
/// each kill, reopening finds every acknowledged record intact, nothing partial is visible, and
/// the next writer carries on from there.
@Suite("Crash recovery with real processes")
struct CrashTests {
    @Test("no acknowledged record is lost and no partial record is visible after SIGKILL")
    func killedWriters() throws {
        let directory = ScratchDirectory("khata-crash")
        defer { directory.remove() }
        let ledger = directory.path + "/ledger"
        var random = SplitMix(seed: 20_261_125)
        var acknowledged: UInt64 = 0
        var kills = 0
        var checkpointsSeen = 0
        for round in 0..<60 {
            let groupRecords = Int.random(in: 1...300, using: &random)
            let checkpointEvery = [0, 0, 3, 7].randomElement(using: &random)!
            let killAfterAcks = Int.random(in: 0...40, using: &random)
            let writer = try LineReader([
                "debug-append", "--data-dir", directory.path, "--groups", "1000000",
                "--group-records", "\(groupRecords)", "--segment-size-bytes", "65536",
                "--checkpoint-every", "\(checkpointEvery)", "--log-level", "error",
            ])
            let opened = try #require(writer.nextLine(), "round \(round): writer printed nothing")
            let recovered = try #require(
                opened.split(separator: " ").last.flatMap { UInt64($0) }, "round \(round): \(opened)")
            #expect(
                recovered >= acknowledged,
                "round \(round): reopened at \(recovered) after \(acknowledged) were acknowledged")
            var acks = 0
            while acks < killAfterAcks, let line = writer.nextLine() {
                let parts = line.split(separator: " ")
                if parts.first == "ack", let sequence = UInt64(parts[1]) {
                    #expect(sequence > acknowledged, "round \(round): acknowledgements out of order")
                    acknowledged = sequence
                    acks += 1
                } else if parts.first == "checkpoint" {
                    checkpointsSeen += 1
                } else {
                    Issue.record("round \(round): unexpected line \(line)")
                    break
                }
            }
            writer.kill()
            kills += 1
            try checkStore(ledger, acknowledged: acknowledged, round: round)
        }
        #expect(kills >= 50)
        #expect(checkpointsSeen > 0)
        #expect(acknowledged > 10_000)
    }

    /// Opens the store like the next process would (recovery included), then reads the whole
    /// log and checks every record's content.
    private func checkStore(_ ledger: String, acknowledged: UInt64, round: Int) throws {
        let store = try SegmentStore.open(directory: ledger)
        let committed = store.committedSequence
        if let checkpoint = store.checkpoint {
            #expect(checkpoint.payload == Array("through \(checkpoint.sequence)".utf8), "round \(round)")
        }
        store.close()
        #expect(committed >= acknowledged, "round \(round): lost acknowledged records (\(committed) < \(acknowledged))")
        var expected: UInt64 = 1
        let last = try StoreReader.forEachRecord(directory: ledger) { kind, sequence, body in
            #expect(kind.rawValue == 200)
            #expect(sequence == expected)
            if Array(body) != expectedDebugBody(sequence) {
                Issue.record("round \(round): record \(sequence) has the wrong content")
            }
            expected += 1
        }
        #expect(last == committed)
        let report = try StoreVerifier.verify(directory: ledger)
        #expect(report.tornTail == nil, "round \(round): a partial group is still visible after recovery")
        #expect(report.lastSequence == committed)
    }
}
