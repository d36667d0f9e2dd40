import HTTPTypes
import Hummingbird
import JobStore
import NIOCore
import Reconciliation
import ReviewPages

/// A run's report as a streamed answer, for the API and the review pages alike: the HTML page
/// (standalone, its stylesheet inline), the CSV for spreadsheets, or the JSON.
enum RunReportResponse {
    static let formats = ["html", "csv", "json"]

    /// 404 `run-not-found` when there is no run `runId`; `format` is one of `formats`.
    static func make(
        database: JobDatabase, pages: ReviewPages, runId id: Int64, format: String,
        now: @escaping @Sendable () -> UInt64
    ) async throws -> Response {
        precondition(formats.contains(format), "a report format: \(format)")
        guard try await storeCall({ try await Mismatches(database: database).run(id: id) }) != nil else {
            throw Problem.notFound("run", "no reconciliation run \(id)")
        }
        var headers = HTTPFields()
        headers[.cacheControl] = "no-store"
        headers[.xContentTypeOptions] = "nosniff"
        let writer: @Sendable (_ sink: ([UInt8]) async throws -> Void) async throws -> Void
        switch format {
        case "html":
            headers[.contentType] = "text/html; charset=utf-8"
            // The report carries its stylesheet inline and nothing else: no script, no fetch.
            headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
            writer = { sink in
                _ = try await HTMLRunReport(database: database, pages: pages).write(
                    runId: id, writtenAt: UTCTime.text(nanoseconds: now()), to: sink)
            }
        default:
            let kind: RunReport.Format = format == "csv" ? .csv : .json
            headers[.contentType] = kind == .csv ? "text/csv; charset=utf-8" : "application/json"
            headers[.contentDisposition] = "attachment; filename=\"reconciliation-run-\(id).\(format)\""
            writer = { sink in _ = try await RunReport(database: database).write(runId: id, format: kind, to: sink) }
        }
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { body in
                try await writer { bytes in try await body.write(ByteBuffer(bytes: bytes)) }
                try await body.finish(nil)
            })
    }
}
