import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Ledger
import LedgerAccess
import LedgerCore
import Reconciliation
import Scheduler
import SettlementImport
import TestSupport
import Testing

/// The finance review over HTTP: runs and their mismatches page by page, one mismatch with its
/// line, ledger transfer and history, and the changes a reviewer makes, checked against the state
/// they saw, with the money a resolution moves posted to (and reversed from) the ledger.
@Suite("Mismatch review routes")
struct MismatchReviewTests {
    /// A small bKash day played, imported and reconciled: answers the run.
    static func reconciledDay(_ server: TestServer, seed: UInt64, extraLines: [String] = []) async throws
        -> ReconciliationReport
    {
        var day = SettlementDay(server: server, seed: seed)
        try await day.play(perProvider: 40)
        day.makeFiles()
        let folder = TemporaryDirectory()
        defer { folder.remove() }
        let importer = SettlementImporter(store: SettlementLines(database: server.database), clock: server.clock.read)
        // Safe: makeFiles writes two files for every provider.
        for (number, lines) in day.files["bkash"]!.enumerated() {
            let path = folder.path + "/bkash-\(number).csv"
            try Data(day.text(provider: "bkash", lines: lines).utf8).write(to: URL(fileURLWithPath: path))
            _ = try await importer.importFile(
                path: path, fileName: "bkash-\(number).csv", dialect: .bkash, importedBy: "test")
        }
        if !extraLines.isEmpty {
            // Lines a hostile or careless provider could send, in a file of their own.
            let text = day.text(provider: "bkash", lines: []) + extraLines.joined(separator: "\r\n") + "\r\n"
            let path = folder.path + "/bkash-extra.csv"
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let summary = try await importer.importFile(
                path: path, fileName: "bkash-extra.csv", dialect: .bkash, importedBy: "test")
            #expect(summary.rejectedLines.isEmpty && summary.imported == extraLines.count)
        }
        let job = ReconciliationJob(
            database: server.database, ledger: LocalLedger(ledger: server.ledger),
            settings: ReconciliationSettings(fees: SettlementDay.fees))
        return try await job.run(provider: "bkash", date: day.date, runBy: "test", now: server.clock.now)
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    static func get(_ server: TestServer, _ uri: String) async throws -> [String: Any] {
        try await server.client.execute(uri: uri, method: .get) { response in
            #expect(response.status == .ok, "\(uri): \(String(buffer: response.body))")
            return try json(response)
        }
    }

    /// A POST with `key` (a finance key unless given), answering the status and body.
    static func post(
        _ server: TestServer, _ uri: String, _ body: String, key: String
    ) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await server.client.execute(
            uri: uri, method: .post, headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
            body: ByteBuffer(string: body)
        ) { response in (response.status, try json(response)) }
    }

    static func owed(_ server: TestServer, _ key: String) -> Int64 {
        guard let account = server.ledger.account(key: key) else { return 0 }
        return Int64(account.debitsPosted) - Int64(account.creditsPosted)
    }

    @Test(
        "runs, totals and pages of mismatches; a mismatch with its line, transfer and history",
        arguments: Backend.available)
    func reading(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        try await TestServer.with(maximumBodyBytes: 1 << 20, jobDatabase: database) { server in
            let report = try await Self.reconciledDay(server, seed: 15)
            let runs = try await Self.get(server, "/v1/reconciliation/runs?provider=bkash&limit=5")
            let listed = try #require(runs["runs"] as? [[String: Any]])
            #expect(listed.count == 1 && listed[0]["id"] as? Int == Int(report.run.id) && runs["next"] == nil)
            let date = report.run.settlementDate
            let dated = try await Self.get(server, "/v1/reconciliation/runs?from=\(date)&to=\(date)")
            #expect((dated["runs"] as? [Any])?.count == 1)
            let other = try await Self.get(server, "/v1/reconciliation/runs?provider=nagad")
            #expect((other["runs"] as? [Any])?.count == 0)
            let run = try await Self.get(server, "/v1/reconciliation/runs/\(report.run.id)")
            let totals = try #require(run["totals"] as? [[String: Any]])
            #expect(totals.contains { $0["category"] as? String == "matched" && ($0["count"] as? Int ?? 0) > 0 })

            // Every mismatch, two at a time.
            var ids: [Int] = []
            var after = ""
            while true {
                let page = try await Self.get(
                    server, "/v1/reconciliation/runs/\(report.run.id)/mismatches?limit=2" + after)
                ids += (page["mismatches"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                guard let next = page["next"] as? String else { break }
                after = "&after=\(next)"
            }
            #expect(ids == report.mismatchIds.values.map { Int($0) }.sorted())
            let amounts = try await Self.get(
                server, "/v1/reconciliation/runs/\(report.run.id)/mismatches?category=amount_mismatch")
            let amount = try #require((amounts["mismatches"] as? [[String: Any]])?.first)
            #expect((amounts["mismatches"] as? [Any])?.count == 1 && amount["state"] as? String == "open")

            let detail = try await Self.get(server, "/v1/mismatches/\(amount["id"] as? Int ?? 0)")
            let line = try #require(detail["settlementLine"] as? [String: Any])
            let transfer = try #require(detail["ledgerTransfer"] as? [String: Any])
            #expect(line["providerTxnId"] as? String == amount["providerTxnId"] as? String)
            #expect(transfer["id"] as? String == amount["ledgerTransferId"] as? String)
            let fields = try #require((detail["mismatch"] as? [String: Any])?["fields"] as? [[String: Any]])
            #expect(fields.first?["name"] as? String == "amount")
            let found = try await Self.get(
                server, "/v1/mismatches?search=\(amount["paymentReference"] as? String ?? "")")
            #expect((found["mismatches"] as? [[String: Any]])?.first?["id"] as? Int == amount["id"] as? Int)

            for (uri, status) in [
                ("/v1/reconciliation/runs/999999", HTTPResponse.Status.notFound),
                ("/v1/reconciliation/runs/0", .badRequest), ("/v1/reconciliation/runs/01", .badRequest),
                ("/v1/reconciliation/runs?from=2026-02-30", .badRequest),
                ("/v1/reconciliation/runs/\(report.run.id)/mismatches?category=lost", .badRequest),
                ("/v1/reconciliation/runs/\(report.run.id)/mismatches?state=closed", .badRequest),
                ("/v1/reconciliation/runs/\(report.run.id)/mismatches?limit=1001", .badRequest),
                ("/v1/reconciliation/runs/\(report.run.id)/mismatches?after=-1", .badRequest),
                ("/v1/mismatches/999999", .notFound), ("/v1/mismatches?search=", .badRequest),
            ] {
                try await server.client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == status, "\(uri)")
                }
            }
        }
    }

    @Test("resolving posts the money and reopening reverses it; a stale state is 409 and changes nothing")
    func workflow() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let report = try await Self.reconciledDay(server, seed: 16)
            let (finance, _) = try await server.keys.create(name: "rina", scopes: [.finance])
            let (reader, _) = try await server.keys.create(name: "karim", scopes: [.read])
            let amountItem = try #require(report.items.first { $0.category == .amountMismatch })
            let id = try #require(report.mismatchIds["bkash:txn:\(amountItem.providerTxnId ?? "")"])
            let clearing = ClearingAccounts.clearingKey(provider: "bkash")
            let writeOffs = ClearingAccounts.defaultWriteOffKey
            let clearingBefore = Self.owed(server, clearing)
            let base = "/v1/mismatches/\(id)"

            // A read key may look, not change.
            let (forbidden, _) = try await Self.post(
                server, base + "/acknowledge", #"{"expectedState": "open"}"#, key: reader)
            #expect(forbidden == .forbidden)
            for (body, status) in [
                (#"{"expectedState": "open"}"#, HTTPResponse.Status.badRequest),
                (#"{"expectedState": "open", "note": "x", "resolution": "forgiven"}"#, .badRequest),
                (#"{"expectedState": "shut", "note": "x", "resolution": "written_off"}"#, .badRequest),
                (#"{"expectedState": "open", "note": "  ", "resolution": "written_off"}"#, .badRequest),
                (#"{"expectedState": "open", "note": "x", "resolution": "written_off", "extra": 1}"#, .badRequest),
                (#"{"expectedState": "open", "note": "x\u0007", "resolution": "written_off"}"#, .badRequest),
                (#"{"expectedState": "resolved", "note": "x", "resolution": "written_off"}"#, .conflict),
            ] {
                let (answer, problem) = try await Self.post(server, base + "/resolve", body, key: finance)
                #expect(answer == status, "\(body): \(problem)")
            }
            #expect(Self.owed(server, clearing) == clearingBefore)

            // Acknowledged without a note, then written off: cleared at the provider's figures,
            // the difference to write-off expense.
            var (status, answer) = try await Self.post(
                server, base + "/acknowledge", #"{"expectedState": "open"}"#, key: finance)
            #expect(status == .ok && (answer["mismatch"] as? [String: Any])?["state"] as? String == "acknowledged")
            (status, answer) = try await Self.post(
                server, base + "/resolve",
                #"{"expectedState": "acknowledged", "resolution": "written_off", "note": "bKash paid a poisha more"}"#,
                key: finance)
            #expect(status == .ok)
            let history = try #require(answer["history"] as? [[String: Any]])
            let resolved = try #require(history.last)
            #expect(resolved["actor"] as? String == "rina" && resolved["resolution"] as? String == "written_off")
            #expect(resolved["posted"] as? Bool == true && (resolved["postings"] as? [Any])?.count == 3)
            let ledgerMinor = try #require(amountItem.ledgerAmountMinor)
            let providerMinor = try #require(amountItem.providerAmountMinor)
            // The whole ledger amount left clearing: the provider's gross as net and fee, the rest written off.
            #expect(Self.owed(server, clearing) == clearingBefore - ledgerMinor)
            #expect(Self.owed(server, writeOffs) == ledgerMinor - providerMinor)

            // Resolving again from the state the reviewer saw before: 409, nothing posted.
            (status, answer) = try await Self.post(
                server, base + "/resolve",
                #"{"expectedState": "acknowledged", "resolution": "written_off", "note": "again"}"#, key: finance)
            #expect(status == .conflict && answer["type"] as? String == "/problems/mismatch-changed")
            #expect(Self.owed(server, clearing) == clearingBefore - ledgerMinor)

            // Reopened: the postings reversed, clearing back where it was.
            (status, answer) = try await Self.post(
                server, base + "/reopen", #"{"expectedState": "resolved", "note": "wrong call"}"#, key: finance)
            #expect(status == .ok)
            let reopened = try #require((answer["history"] as? [[String: Any]])?.last)
            #expect((reopened["postings"] as? [Any])?.count == 3 && reopened["posted"] as? Bool == true)
            #expect(Self.owed(server, clearing) == clearingBefore && Self.owed(server, writeOffs) == 0)

            // A duplicate line moves no money: writing it off is refused, not_an_error records it.
            let duplicate = try #require(report.items.first { $0.category == .duplicateSettlement })
            let repeated = try #require(duplicate.line)
            let duplicateId = try #require(report.mismatchIds["bkash:line:\(repeated.fileId):\(repeated.line)"])
            (status, answer) = try await Self.post(
                server, "/v1/mismatches/\(duplicateId)/resolve",
                #"{"expectedState": "open", "resolution": "written_off", "note": "x"}"#, key: finance)
            #expect(
                status == .unprocessableContent && answer["type"] as? String == "/problems/resolution-not-applicable")
            (status, answer) = try await Self.post(
                server, "/v1/mismatches/\(duplicateId)/resolve",
                #"{"expectedState": "open", "resolution": "not_an_error", "note": "sent twice"}"#, key: finance)
            #expect(status == .ok)
            #expect(((answer["history"] as? [[String: Any]])?.last?["postings"] as? [Any])?.isEmpty == true)

            // A payment the provider never settled, written off whole.
            let missing = try #require(report.items.first { $0.category == .missingAtProvider })
            let missingId = try #require(report.mismatchIds["bkash:payment:\(missing.paymentReference ?? "")"])
            (status, _) = try await Self.post(
                server, "/v1/mismatches/\(missingId)/resolve",
                #"{"expectedState": "open", "resolution": "written_off", "note": "never paid"}"#, key: finance)
            #expect(status == .ok)
            #expect(Self.owed(server, writeOffs) == (missing.ledgerAmountMinor ?? 0))

            // A fee accepted as charged clears the line; a later run that finds the line matched
            // (a tolerance now covers the fee) does not clear it again.
            let feeItem = try #require(report.items.first { $0.category == .feeMismatch })
            let feeId = try #require(report.mismatchIds["bkash:txn:\(feeItem.providerTxnId ?? "")"])
            (status, answer) = try await Self.post(
                server, "/v1/mismatches/\(feeId)/resolve",
                #"{"expectedState": "open", "resolution": "not_an_error", "note": "fee agreed by phone"}"#,
                key: finance)
            #expect(status == .ok)
            #expect(((answer["history"] as? [[String: Any]])?.last?["postings"] as? [Any])?.count == 2)
            let clearingAfterFee = Self.owed(server, clearing)
            let lenient = FeeSchedule(
                rules: SettlementDay.fees.rules.mapValues { rules in
                    rules.map { rule in
                        var wider = rule
                        wider.toleranceMinor = 1_000
                        return wider
                    }
                })
            let job = ReconciliationJob(
                database: server.database, ledger: LocalLedger(ledger: server.ledger),
                settings: ReconciliationSettings(fees: lenient))
            let date = try #require(CivilDate.parse(report.run.settlementDate))
            let rerun = try await job.run(provider: "bkash", date: date, runBy: "test", now: server.clock.now)
            #expect(!rerun.items.contains { $0.providerTxnId == feeItem.providerTxnId })
            #expect(Self.owed(server, clearing) == clearingAfterFee)
        }
    }

    @Test("two reviewers resolving one mismatch at once: one wins, the other gets 409, money moves once")
    func race() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let report = try await Self.reconciledDay(server, seed: 17)
            let (finance, _) = try await server.keys.create(name: "rina", scopes: [.finance])
            let missing = try #require(report.items.first { $0.category == .missingAtProvider })
            let id = try #require(report.mismatchIds["bkash:payment:\(missing.paymentReference ?? "")"])
            let writeOffs = ClearingAccounts.defaultWriteOffKey
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for reviewer in 0..<4 {
                    group.addTask {
                        try await Self.post(
                            server, "/v1/mismatches/\(id)/resolve",
                            #"{"expectedState": "open", "resolution": "written_off", "note": "reviewer \#(reviewer)"}"#,
                            key: finance
                        ).0
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count { $0 == .ok } == 1 && statuses.count { $0 == .conflict } == 3)
            #expect(Self.owed(server, writeOffs) == (missing.ledgerAmountMinor ?? 0))
            let history = try await Mismatches(database: server.database).reviewHistory(id: id)
            #expect(history.filter { $0.event.to == .resolved }.count == 1)
        }
    }

    @Test("the report as CSV for spreadsheets and as JSON: every mismatch, formulas neutralised, totals, streamed")
    func reports() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let date = SettlementDay(server: server, seed: 18).date
            let hostile = [
                #"=HYPERLINK(""http://x"")"#, "+SUM(A1)", "-2+3", "@cmd", "<script>alert(1)</script>",
            ].enumerated().map { index, text in
                "\"\(text)\",P\(index),KH-HOSTILE-\(index),payment,\(100 + index).00,1.85,\(98 + index).15,BDT,"
                    + "01711XXX000,\(date) 10:00:00,Completed,,\(date)"
            }
            let report = try await Self.reconciledDay(server, seed: 18, extraLines: hostile)
            let mismatches = report.mismatchIds.count
            let csv = try await server.client.execute(
                uri: "/v1/reconciliation/runs/\(report.run.id)/report.csv", method: .get
            ) { response in
                #expect(response.status == .ok && response.headers[.contentType] == "text/csv; charset=utf-8")
                return Array(response.body.readableBytesView)
            }
            #expect(csv.starts(with: [0xEF, 0xBB, 0xBF]))
            let text = String(decoding: csv.dropFirst(3), as: UTF8.self)
            #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "every line ends in CRLF")
            let rows = text.components(separatedBy: "\r\n")
            #expect(rows[0].hasPrefix("mismatch,category,state,resolution,provider,provider transaction"))
            let mismatchRows = rows.dropFirst().prefix { !$0.isEmpty }
            #expect(mismatchRows.count == mismatches)
            // No cell of a provider's text begins a formula: each is behind an apostrophe.
            for row in mismatchRows {
                for cell in Self.cells(row) where cell.first.map({ "=+-@".contains($0) }) == true {
                    #expect(cell.first == "-" && Double(cell) != nil, "a formula cell: \(cell) in \(row)")
                }
            }
            #expect(text.contains(#"'=HYPERLINK(""http://x"")"#) && text.contains("'+SUM(A1)"))
            #expect(text.contains("'-2+3") && text.contains("'@cmd") && text.contains("<script>alert(1)</script>"))
            let totals = rows.drop { !$0.hasPrefix("totals,") }
            #expect(totals.first == "totals,category,currency,count,amount")
            #expect(totals.contains { $0.hasPrefix("total,matched,BDT,") })
            // Amounts are plain decimals, negative ones numbers too; times in Asia/Dhaka.
            #expect(mismatchRows.allSatisfy { $0.contains("+06:00") })

            try Self.checkInLibreOffice(csv: csv, rows: Array(rows.dropLast()))

            let json = try await Self.get(server, "/v1/reconciliation/runs/\(report.run.id)/report.json")
            let listed = try #require(json["mismatches"] as? [[String: Any]])
            #expect(listed.count == mismatches && (json["totals"] as? [Any])?.isEmpty == false)
            #expect(listed.contains { $0["providerTxnId"] as? String == #"=HYPERLINK("http://x")"# })
            try await server.client.execute(uri: "/v1/reconciliation/runs/999/report.csv", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    /// The cells of one CSV row (RFC 4180 quoting).
    static func cells(_ row: String) -> [String] {
        var cells: [String] = []
        var cell = ""
        var quoted = false
        var characters = Array(row)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" {
                        cell.append("\"")
                        characters.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    cell.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                cells.append(cell)
                cell = ""
            } else {
                cell.append(character)
            }
        }
        cells.append(cell)
        return cells
    }

    /// Opens the CSV in LibreOffice (headless, as a finance team's spreadsheet would) and checks
    /// that it reads exactly the cells the CSV holds, numbers as numbers, and no formula at all.
    static func checkInLibreOffice(csv: [UInt8], rows: [String]) throws {
        let folder = TemporaryDirectory("khata-libreoffice")
        defer { folder.remove() }
        let path = folder.file("report.csv")
        try Data(csv).write(to: URL(fileURLWithPath: path))
        let office = Process()
        office.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        office.arguments = [
            "soffice", "-env:UserInstallation=file://\(folder.path)/profile", "--headless",
            "--infilter=CSV:44,34,76,1", "--convert-to", "fods", "--outdir", folder.path, path,
        ]
        office.standardOutput = FileHandle.nullDevice
        office.standardError = FileHandle.nullDevice
        try office.run()
        office.waitUntilExit()
        #expect(office.terminationStatus == 0, "soffice (libreoffice-calc-nogui, scripts/setup-debian.sh) failed")
        let document = try String(contentsOfFile: folder.file("report.fods"), encoding: .utf8)
        #expect(!document.contains("table:formula"), "LibreOffice read a formula")
        let sheet = spreadsheetRows(document)
        #expect(sheet.count >= rows.count)
        for (row, cells) in zip(rows, sheet) {
            let written = Self.cells(row)
            for (index, text) in written.enumerated() {
                let read = index < cells.count ? cells[index] : ("", nil)
                if let value = read.1 {
                    #expect(Double(text) == value, "\(text) read as \(value) in \(row)")
                } else {
                    #expect(read.0 == text, "\(text) read as \(read.0) in \(row)")
                }
            }
        }
    }

    /// The cells of a flat OpenDocument spreadsheet, row by row: each cell's text, and its
    /// number when LibreOffice read one.
    static func spreadsheetRows(_ document: String) -> [[(String, Double?)]] {
        var rows: [[(String, Double?)]] = []
        for rowText in document.components(separatedBy: "<table:table-row").dropFirst() {
            var cells: [(String, Double?)] = []
            for cellText in rowText.components(separatedBy: "<table:table-cell").dropFirst() {
                let tagEnd = cellText.firstIndex(of: ">") ?? cellText.endIndex
                let tag = String(cellText[..<tagEnd])
                func attribute(_ name: String) -> String? {
                    guard let start = tag.range(of: name + "=\"") else { return nil }
                    return String(tag[start.upperBound...].prefix { $0 != "\"" })
                }
                let repeated = Int(attribute("table:number-columns-repeated") ?? "1") ?? 1
                var text = ""
                if !tag.hasSuffix("/"), let close = cellText.range(of: "</table:table-cell>") {
                    var inner = String(cellText[cellText.index(after: tagEnd)..<close.lowerBound])
                    inner = inner.replacingOccurrences(of: "<text:tab/>", with: "\t")
                        .replacingOccurrences(of: "<text:line-break/>", with: "\n")
                    // Runs of spaces are written as <text:s text:c="n"/>.
                    while let space = inner.range(of: "<text:s") {
                        let end = inner[space.upperBound...].firstIndex(of: ">") ?? inner.endIndex
                        let count = Int(inner[space.upperBound..<end].filter(\.isNumber)) ?? 1
                        inner.replaceSubrange(space.lowerBound...end, with: String(repeating: " ", count: count))
                    }
                    let paragraphs = inner.components(separatedBy: "<text:p>").dropFirst().map {
                        String($0.prefix { $0 != "<" })
                    }
                    text = paragraphs.joined(separator: "\n").replacingOccurrences(of: "&apos;", with: "'")
                        .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
                        .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
                }
                let number =
                    attribute("office:value-type") == "float" ? attribute("office:value").flatMap(Double.init) : nil
                cells += Array(repeating: (text, number), count: min(repeated, 64))
            }
            rows.append(cells)
        }
        return rows
    }
}
