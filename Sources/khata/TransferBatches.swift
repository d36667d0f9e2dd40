import ArgumentParser
import Ledger
import LedgerCore

/// The lines of `khata transfer --file` cut into ledger submissions: in order, each at most
/// `largestBatch` events, and never through a linked chain, since a chain cut in two would leave
/// its first part open (refused) and its second part unchained.
struct TransferBatches {
    static let maximumEvents = LedgerSession.largestBatch
    static let maximumEventsText = LedgerSession.grouped(maximumEvents)

    let lines: [TransferLine]
    let path: String
    let json: Bool
    /// Index ranges into `lines`, one a submission.
    let ranges: [Range<Int>]

    /// Plans the batches; a chain longer than a submission is refused here, before anything is
    /// submitted, with the line it starts on.
    init(lines: [TransferLine], path: String, json: Bool) throws {
        self.lines = lines
        self.path = path
        self.json = json
        var ranges: [Range<Int>] = []
        var batchStart = 0
        var chainStart = 0
        let maximumEvents = Self.maximumEvents
        // A chain ends at its first line without `linked`, or at the end of the file (where the
        // ledger refuses a chain still open, as it would in one batch).
        for index in lines.indices where !lines[index].transfer.flags.contains(.linked) || index == lines.count - 1 {
            let chainEnd = index + 1
            if chainEnd - chainStart > maximumEvents {
                throw CommandFailure(
                    "\(path):\(lines[chainStart].number): the linked chain starting on this line runs to line "
                        + "\(lines[index].number), \(LedgerSession.grouped(chainEnd - chainStart)) transfers; a chain "
                        + "must fit in one ledger submission of at most \(LedgerSession.grouped(maximumEvents)) "
                        + "events, so nothing was submitted")
            }
            if chainEnd - batchStart > maximumEvents {
                ranges.append(batchStart..<chainStart)
                batchStart = chainStart
            }
            chainStart = chainEnd
        }
        if batchStart < lines.count { ranges.append(batchStart..<lines.count) }
        self.ranges = ranges
    }

    /// Submits the batches in order, printing each transfer's result as its batch is answered,
    /// then a summary. Refused events exit 1 once every batch is in; a batch the ledger refuses
    /// whole stops the run, saying which lines went in and which did not.
    func submit(to ledger: Ledger) async throws {
        var refusedEvents = false
        for (batchIndex, range) in ranges.enumerated() {
            let results: [EventResult]
            do {
                results = try await ledger.submit(range.map { .createTransfer(lines[$0].transfer) })
            } catch {
                throw stopped(at: batchIndex, because: error)
            }
            for (index, result) in zip(range, results) {
                refusedEvents = refusedEvents || !result.code.succeeded
                printResult(index: index, batch: batchIndex + 1, result: result)
            }
        }
        printSummary(batches: ranges.count)
        if refusedEvents { throw ExitCode(1) }
    }

    private func printResult(index: Int, batch: Int, result: EventResult) {
        let line = lines[index]
        if json {
            print(
                LedgerSession.jsonLine([
                    "line": line.number, "index": index, "batch": batch, "id": "\(line.transfer.id)",
                    "result": "\(result.code)", "timestamp": result.timestamp,
                ]))
        } else {
            print("line \(line.number): transfer \(line.transfer.id): \(result.code)")
        }
    }

    private func transfersSubmitted(batches: Int) -> Int {
        batches == 0 ? 0 : ranges[batches - 1].upperBound
    }

    private func printSummary(batches: Int, extra: [String: Any] = [:]) {
        let submitted = transfersSubmitted(batches: batches)
        if json {
            let summary: [String: Any] = [
                "submitted": submitted, "batches": batches, "maximumBatchEvents": Self.maximumEvents,
            ]
            print(LedgerSession.jsonLine(summary.merging(extra) { _, new in new }))
            return
        }
        // A run stopped by its first batch has submitted nothing to sum up; its error says so.
        guard batches > 0 else { return }
        print(
            "submitted \(LedgerSession.counted(submitted, "transfer")) in \(LedgerSession.counted(batches, "batch")) "
                + "(a batch holds at most \(Self.maximumEventsText) events; linked chains are never split)")
    }

    /// The failure of batch `batchIndex` as a whole, after the summary of the batches before it.
    private func stopped(at batchIndex: Int, because error: any Error) -> CommandFailure {
        let range = ranges[batchIndex]
        let firstUnsubmitted = lines[range.lowerBound].number
        let lastSubmitted = range.lowerBound == 0 ? 0 : lines[range.lowerBound - 1].number
        printSummary(
            batches: batchIndex,
            extra: [
                "error": "\(error)", "submittedThroughLine": lastSubmitted, "unsubmittedFromLine": firstUnsubmitted,
            ])
        let failed =
            "\(path): batch \(batchIndex + 1) of \(ranges.count) (lines \(firstUnsubmitted)-"
            + "\(lines[range.upperBound - 1].number)) failed as a whole: \(error)"
        guard lastSubmitted > 0 else { return CommandFailure(failed + "; nothing was submitted") }
        return CommandFailure(
            failed + "; lines 1-\(lastSubmitted) were submitted (their results are above), lines \(firstUnsubmitted)-"
                + "\(lines[lines.count - 1].number) were not; transfers already posted answer exists when submitted "
                + "again")
    }
}
