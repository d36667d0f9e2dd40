import JobStore
import Scheduler

/// The `reconcile-settlements` job: every night, for every provider, yesterday's settlement
/// date (Asia/Dhaka) and every date that files imported in the last two days brought lines for,
/// so that a late file is reconciled without anyone asking. Each is a `ReconciliationJob` run;
/// rerunning a date changes nothing it already did.
public struct NightlyReconciliation: Sendable {
    public let job: ReconciliationJob

    public init(job: ReconciliationJob) { self.job = job }

    public struct Outcome: Sendable, Equatable {
        public var runs = 0
        public var linesRead = 0
        /// Items that are not matched, over all runs.
        public var mismatches = 0
    }

    /// The dates to reconcile per provider, as of `now` (nanoseconds since the Unix epoch).
    public func dates(now: UInt64) async throws -> [(provider: String, date: CivilDate)] {
        let today = CivilDate.dhaka(nanoseconds: now)
        let yesterday = CivilDate(daysSinceEpoch: today.daysSinceEpoch - 1)
        let since = UTCTime.text(nanoseconds: now - min(now, 2 * 86_400 * 1_000_000_000))
        var work: [(provider: String, date: CivilDate)] = []
        for provider in ReconciliationJob.providers {
            var dates: Set<CivilDate> = [yesterday]
            for text in try await SettlementLines(database: job.database).settlementDates(
                provider: provider, importedSince: since)
            {
                if let date = CivilDate.parse(text), date <= today { dates.insert(date) }
            }
            work += dates.sorted().map { (provider, $0) }
        }
        return work
    }

    /// Runs every date; `runBy` is recorded as who ran them (`scheduler`, an API key's name, `cli`).
    public func run(now: UInt64, runBy: String, shouldStop: @Sendable () -> Bool) async throws -> Outcome {
        var outcome = Outcome()
        for (provider, date) in try await dates(now: now) {
            if shouldStop() { break }
            let report = try await job.run(provider: provider, date: date, runBy: runBy, now: now)
            outcome.runs += 1
            outcome.linesRead += report.run.linesRead
            outcome.mismatches += report.items.count
        }
        return outcome
    }
}
