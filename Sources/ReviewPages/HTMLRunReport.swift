import JobStore
import Reconciliation

/// A run's report as one standalone HTML page: the run, its totals (table and chart) and every
/// mismatch, with its stylesheet inlined (print rules included) and nothing loaded from anywhere
/// else, so that a saved or mailed copy prints the same. Written a page of mismatches at a time.
public struct HTMLRunReport: Sendable {
    public let database: JobDatabase
    let pages: ReviewPages
    /// Mismatches read from the store per page.
    public var pageSize = 2_000

    public init(database: JobDatabase, pages: ReviewPages = ReviewPages()) {
        self.database = database
        self.pages = pages
    }

    /// Writes run `id`'s report to `sink` in pieces; `writtenAt` is the stored UTC time it is
    /// written at. Answers false, having written nothing, when there is no such run.
    public func write(runId id: Int64, writtenAt: String, to sink: ([UInt8]) async throws -> Void) async throws
        -> Bool
    {
        let store = Mismatches(database: database)
        guard let run = try await store.run(id: id) else { return false }
        let totals = try await store.totals(runId: id)
        try await sink(Array(pages.reportTop(run, totals: totals, writtenAt: Display.dhaka(writtenAt)).utf8))
        let size = pageSize
        var page = try await store.page(runId: id, after: 0, limit: size)
        while true {
            // The next page is read while this one is rendered, in a child task that keeps the
            // caller's executor and is cancelled with it.
            let after = page.next
            async let following: MismatchPage? = Self.page(store, runId: id, after: after, limit: size)
            try await sink(Array(pages.reportRows(page.mismatches).utf8))
            guard let next = try await following else { break }
            page = next
        }
        try await sink(Array(pages.reportBottom().utf8))
        return true
    }

    private static func page(_ store: Mismatches, runId: Int64, after: Int64?, limit: Int) async throws
        -> MismatchPage?
    {
        guard let after else { return nil }
        return try await store.page(runId: runId, after: after, limit: limit)
    }
}
