import ArgumentParser
import Foundation
import JobStore
import Reconciliation
import ReviewPages

/// `khata report RUN`: a reconciliation run's report for the finance team, as a file.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a reconciliation run's report: its mismatches as they stand now and its totals.",
        discussion: """
            CSV (the default) opens cleanly in Excel and LibreOffice: UTF-8 with a byte-order mark, \
            CRLF line ends, a header row, one row per mismatch the run found (category, state, \
            resolution, the transaction and reference, amounts as plain decimals in major units, \
            what differs with both values, times in Asia/Dhaka), then the totals per category and \
            currency. A text cell that begins with =, +, -, @, a tab or a carriage return is \
            written with a leading apostrophe so that no spreadsheet takes it for a formula. JSON \
            has the same content. HTML is one printable web page (its stylesheet inline, print \
            rules included, nothing loaded from elsewhere) with the run, its totals as a table and \
            a bar chart, and every mismatch, amounts as ৳1,500.00. The same documents are served \
            at GET /v1/reconciliation/runs/{id}/report.csv, report.json and report.html.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The run's number (khata reconcile prints it).", valueName: "run"))
    var run: Int64

    @Option(help: "csv, json or html.")
    var format = "csv"

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var out: String?

    func validate() throws {
        guard run > 0 else { throw ValidationError("the run must be a positive number, not \(run)") }
        guard format == "html" || RunReport.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be csv, json or html, not \(format)")
        }
    }

    func run() async throws {
        let (settings, _) = try await global.load(label: "khata.report")
        let database = try await settings.openJobDatabase()
        let temporary = out.map { $0 + ".partial-\(getpid())" }
        let handle: FileHandle
        if let temporary {
            guard FileManager.default.createFile(atPath: temporary, contents: nil),
                let file = FileHandle(forWritingAtPath: temporary)
            else { throw CommandFailure("cannot write \(temporary)") }
            handle = file
        } else {
            handle = FileHandle.standardOutput
        }
        let found: Bool
        do {
            let sink: ([UInt8]) async throws -> Void = { bytes in try handle.write(contentsOf: bytes) }
            if let kind = RunReport.Format(rawValue: format) {
                found = try await RunReport(database: database).write(runId: run, format: kind, to: sink)
            } else {
                found = try await HTMLRunReport(database: database).write(
                    runId: run, writtenAt: UTCTime.now(), to: sink)
            }
            if found, let temporary, let out {
                try handle.synchronize()
                try handle.close()
                // The report appears whole or not at all.
                guard rename(temporary, out) == 0 else {
                    throw CommandFailure("cannot move the report to \(out): \(String(cString: strerror(errno)))")
                }
            }
        } catch {
            if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
            throw error
        }
        guard found else {
            if let temporary {
                try? handle.close()
                try? FileManager.default.removeItem(atPath: temporary)
            }
            throw CommandFailure("no reconciliation run \(run)")
        }
    }
}
