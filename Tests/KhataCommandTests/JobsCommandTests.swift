import Foundation
import JobStore
import TestSupport
import Testing

/// `khata jobs` and `khata worker` as child processes.
@Suite("khata jobs and worker")
struct JobsCommandTests {
    @Test("jobs list shows the schedule; jobs run records a run; history shows it; a bad schedule is refused")
    func listRunHistory() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let data = ["--data-dir", directory.path]
        let list = try KhataProcess.run(["jobs", "list", "--json"] + data)
        #expect(list.status == 0, "\(list.stderr)")
        let jobs = try list.stdout.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(
            jobs.map { $0?["job"] as? String } == [
                "dispatch-notifications", "expire-reservations", "import-settlements", "reconcile-settlements",
            ])
        let job = jobs.count > 1 ? jobs[1] : nil
        #expect(job?["job"] as? String == "expire-reservations" && job?["schedule"] as? String == "* * * * *")
        #expect(job?["timeZone"] as? String == "Asia/Dhaka" && job?["nextRun"] is String)
        let run = try KhataProcess.run(["jobs", "run", "expire-reservations", "--json"] + data)
        #expect(run.status == 0, "\(run.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(record?["outcome"] as? String == "succeeded" && record?["trigger"] as? String == "manual")
        let history = try KhataProcess.run(["jobs", "history", "expire-reservations", "--json"] + data)
        #expect(history.stdout.split(separator: "\n").count == 1)
        let badLimit = try KhataProcess.run(["jobs", "history", "--limit", "0"] + data)
        #expect(badLimit.status != 0 && badLimit.stderr.contains("--limit must be 1...1000, got 0"))
        let unknown = try KhataProcess.run(["jobs", "run", "reconcile-everything"] + data)
        #expect(unknown.status != 0 && unknown.stderr.contains("no job named"))
        let badSchedule = try KhataProcess.run(
            ["jobs", "list"] + data, environment: ["KHATA_JOBS_EXPIRE_RESERVATIONS_SCHEDULE": "61 * * * *"])
        #expect(badSchedule.status != 0 && badSchedule.stderr.contains("expireReservations"))
        for (value, reason) in [("0", "must be 1 to"), ("many", "must be an integer")] {
            let badBatch = try KhataProcess.run(
                ["jobs", "list"] + data, environment: ["KHATA_JOBS_EXPIRE_RESERVATIONS_BATCH_SIZE": value])
            #expect(badBatch.status != 0 && badBatch.stderr.contains("jobs.expireReservations.batchSize \(reason)"))
        }
        let zone = try KhataProcess.run(["jobs", "list"] + data, environment: ["KHATA_SCHEDULER_TIME_ZONE": "UTC"])
        #expect(zone.status == 0 && zone.stdout.contains("(UTC)"), "\(zone.stderr)")
    }

    @Test("khata worker starts the scheduler and stops with exit status 0 on SIGTERM")
    func workerStops() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let worker = try LineReader(
            ["worker", "--data-dir", directory.path, "--log-format", "json"], standardError: true)
        var started = false
        while !started, let line = worker.nextLine() { started = line.contains("scheduler started") }
        #expect(started)
        kill(worker.process.processIdentifier, SIGTERM)
        worker.process.waitUntilExit()
        #expect(worker.process.terminationStatus == 0)
    }
}

@Suite("khata db migrate")
struct DbCommandTests {
    @Test("migrates the embedded store, and PostgreSQL when the test command started one; the password is not shown")
    func migrate() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let newest = Migrations.all.last!.version
        let sqlite = try KhataProcess.run(["db", "migrate", "--json", "--data-dir", directory.path])
        #expect(sqlite.status == 0, "\(sqlite.stderr)")
        #expect(
            sqlite.stdout.contains(#""backend":"sqlite""#) && sqlite.stdout.contains(#""schemaVersion":\#(newest)"#))
        guard let url = ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] else { return }
        let postgres = try KhataProcess.run(
            ["db", "migrate", "--json", "--data-dir", directory.path], environment: ["KHATA_DATABASE_URL": url])
        #expect(postgres.status == 0, "\(postgres.stderr)")
        #expect(
            postgres.stdout.contains(#""backend":"postgresql""#)
                && postgres.stdout.contains(#""schemaVersion":\#(newest)"#))
        let refused = try KhataProcess.run(
            [
                "db", "migrate", "--data-dir", directory.path,
                "--database-url", "postgresql://khata:hunter2@127.0.0.1:1/none",
            ])
        #expect(refused.status != 0 && !refused.stderr.contains("hunter2"), "\(refused.stderr)")
    }

    @Test("import-settlements takes what waits in an intake folder, and moves each file to done/ or rejected/")
    func intake() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let folder = directory.path + "/intake/bkash"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let header =
            "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
            + "paymentExecuteTime,transactionStatus,originalTrxID\n"
        try Data((header + "T1,P1,PAY-1,payment,100.00,1.85,98.15,BDT,,2026-11-30 10:00:00,Completed,\n").utf8)
            .write(to: URL(fileURLWithPath: folder + "/day.csv"))
        try Data("not,a,settlement\n".utf8).write(to: URL(fileURLWithPath: folder + "/junk.csv"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: folder + "/next.csv.part"))
        let environment = [
            "KHATA_SETTLEMENTS_INTAKE_BKASH": folder, "KHATA_SETTLEMENTS_INTAKE_SETTLE_SECONDS": "0",
        ]
        let run = try KhataProcess.run(
            ["jobs", "run", "import-settlements", "--json", "--data-dir", directory.path], environment: environment)
        #expect(run.status == 0, "\(run.stderr)")
        let record = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(record?["read"] as? Int == 2 && record?["written"] as? Int == 1 && record?["failed"] as? Int == 1)
        let files = FileManager.default
        #expect(try files.contentsOfDirectory(atPath: folder).sorted() == ["done", "next.csv.part", "rejected"])
        #expect(try files.contentsOfDirectory(atPath: folder + "/done").sorted() == ["day.csv", "day.csv.report.json"])
        let report = try String(contentsOfFile: folder + "/rejected/junk.csv.report.json", encoding: .utf8)
        #expect(report.contains("\"code\":\"noHeader\""))
        let summary = try String(contentsOfFile: folder + "/done/day.csv.report.json", encoding: .utf8)
        #expect(summary.contains("\"imported\":1"))
        let list = try KhataProcess.run(["settlements", "list", "--json", "--data-dir", directory.path])
        #expect(list.stdout.contains("\"importedBy\":\"intake\""))
    }
}
