import ArgumentParser
import Dispatch
import Expiry
import Foundation
import Ledger
import LedgerAccess

/// `khata expire`: runs the expire-reservations job once, by hand.
struct ExpireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "expire",
        abstract: "Void every hold whose payment window has passed (the expire-reservations job, by hand).",
        discussion: """
            Finds due holds through the ledger's expiry index (earliest first, no scan) and voids \
            them in batches; their reservations then read EXPIRED. Running it again, or on two \
            workers at once, expires each hold exactly once. --now picks which holds count as due \
            (for tests and replays); the ledger still judges each hold by its own clock, and \
            reports holds it does not yet see as due.
            """)

    @OptionGroup var global: DataDirectoryOptions

    @Option(help: "The instant to expire at: ISO 8601 (2026-11-29T10:00:00Z, or with an offset) or Unix seconds.")
    var now: String?

    @Option(help: "Holds per ledger submission (1...\(LedgerSession.largestBatch)).")
    var batchSize = 1_000

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        try LedgerSession.checkBatchSize(batchSize, option: "--batch-size")
    }

    func run() async throws {
        let instant = try now.map(Self.parseInstant) ?? Ledger.wallClockNanoseconds()
        let ledger = try await LedgerSession.open(global)
        defer { ledger.close() }
        let start = DispatchTime.now().uptimeNanoseconds
        let outcome = try await ExpiryJob(ledger: LocalLedger(ledger: ledger), batchSize: batchSize).run(now: instant)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if json {
            print(
                LedgerSession.jsonLine([
                    "due": outcome.due, "expired": outcome.expired, "alreadyResolved": outcome.alreadyResolved,
                    "notYetDue": outcome.notYetDue, "batches": outcome.batches, "seconds": seconds,
                ]))
        } else {
            print("\(outcome) in \(String(format: "%.3f", seconds)) s")
        }
    }

    /// Nanoseconds since the Unix epoch of an ISO 8601 instant or a count of Unix seconds.
    static func parseInstant(_ text: String) throws -> UInt64 {
        if let seconds = UInt64(text) { return seconds * 1_000_000_000 }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text), date.timeIntervalSince1970 >= 0 {
                return UInt64(date.timeIntervalSince1970 * 1_000) * 1_000_000
            }
        }
        throw ValidationError("--now \"\(text)\" is not an ISO 8601 instant (2026-11-29T10:00:00Z) or Unix seconds")
    }
}
