import Foundation
import JobStore
import KhataCrypto
import TestSupport
import Testing

/// The SQLite store: migrations, parameters, typed errors, reservations and API keys, on real
/// files in a scratch directory.
@Suite("Job store")
struct JobStoreTests {
    @Test("opening applies every migration once, and reopening keeps the data", arguments: Backend.available)
    func migrations(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        #expect(try await database.schemaVersion == Migrations.all.last!.version)
        let keys = APIKeys(database: database)
        _ = try await keys.create(name: "booking service", scopes: [.post])
        let reopened = try scratch.open()
        #expect(try await reopened.schemaVersion == Migrations.all.last!.version)
        #expect(try await APIKeys(database: reopened).list().map(\.name) == ["booking service"])
    }

    @Test(
        "values are bound as parameters, and a constraint failure is a typed error naming its SQL",
        arguments: Backend.available)
    func parametersAndErrors(_ backend: Backend) throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        try scratch.open().performNow { connection in try Self.parametersAndErrors(connection, backend) }
    }

    static func parametersAndErrors(_ connection: any DatabaseConnection, _ backend: Backend) throws {
        let blob = backend == .postgres ? "BYTEA" : "BLOB"
        try connection.execute("CREATE TABLE t (name TEXT PRIMARY KEY, amount_minor BIGINT, data \(blob))")
        let hostile = "x'); DROP TABLE t; --"
        try connection.run(
            "INSERT INTO t VALUES (?, ?, ?)", [.text(hostile), .integer(Int64.max), .blob([0, 1, 255])])
        let rows = try connection.query("SELECT name, amount_minor, data FROM t WHERE name = ?", [.text(hostile)])
        #expect(rows == [[.text(hostile), .integer(Int64.max), .blob([0, 1, 255])]])
        do {
            try connection.run("INSERT INTO t VALUES (?, ?, ?)", [.text(hostile), .null, .null])
            Issue.record("a duplicate key was accepted")
        } catch {
            #expect(error.kind == .uniqueViolation)
            #expect(error.code == (backend == .postgres ? "23505" : "SQLITE 1555"))
            #expect(error.description.contains("INSERT INTO t"))
        }
        #expect(throws: DatabaseError.self) { try connection.query("SELECT nothing FROM nowhere") }
        // A failed transaction leaves nothing behind.
        #expect(throws: DatabaseError.self) {
            try connection.transaction {
                try connection.run("INSERT INTO t VALUES ('kept?', 1, NULL)")
                try connection.run("INSERT INTO t VALUES (?, 1, NULL)", [.text(hostile)])
            }
        }
        #expect(try connection.query("SELECT COUNT(*) FROM t") == [[.integer(1)]])
    }

    @Test("a reservation is inserted once per booking; the first row wins", arguments: Backend.available)
    func reservations(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let records = ReservationRecords(database: try scratch.open())
        let first = ReservationRecord(
            bookingId: "BK-1", holdId: 42, paymentReference: "KH0000000000000001", customerId: "C-1",
            serviceId: "SVC-456", provider: "BKASH", currency: "BDT", amountMinor: 150_000,
            customerPhone: "01770000618", customerEmail: "a@example.com", paymentWindowSeconds: 1_800,
            createdAt: UTCTime.text(nanoseconds: 0))
        #expect(try await records.insertOrFetch(first) == first)
        var second = first
        second.amountMinor = 1
        second.createdAt = UTCTime.text(nanoseconds: 5_000_000_000)
        let stored = try await records.insertOrFetch(second)
        #expect(stored == first)
        #expect(!stored.sameRequest(as: second))
        var retry = first
        retry.createdAt = "later"
        #expect(stored.sameRequest(as: retry))
        #expect(try await records.reservation(holdId: 42) == first)
        #expect(try await records.reservation(paymentReference: "KH0000000000000001") == first)
        #expect(try await records.reservation(holdId: 43) == nil)
        #expect(UTCTime.text(nanoseconds: 1_764_408_600_123_000_000) == "2025-11-29T09:30:00.123Z")
    }

    @Test("API keys: shown once, stored as a digest, verified, scoped and revoked", arguments: Backend.available)
    func apiKeys(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        let keys = APIKeys(database: database)
        let (key, info) = try await keys.create(name: "finance", scopes: [.read, .finance])
        #expect(key.hasPrefix("khata_\(info.id)_"))
        #expect(try await keys.verify(key) == info)
        #expect(info.allows(.finance) && info.allows(.read) && !info.allows(.post) && !info.allows(.admin))
        // Only the digest is stored.
        let stored = try database.performNow { try $0.query("SELECT secret_sha256 FROM api_keys") }
        #expect(stored == [[.blob(Crypto.sha256(key.split(separator: "_")[2].utf8))]])
        var wrong = Array(key.utf8)
        wrong[wrong.count - 1] = wrong.last == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(try await keys.verify(String(decoding: wrong, as: UTF8.self)) == nil)
        #expect(try await keys.verify("khata_nonsense") == nil)
        #expect(try await keys.verify("") == nil)
        #expect(try await keys.revoke(id: info.id))
        #expect(try await !keys.revoke(id: info.id))
        #expect(try await keys.verify(key) == nil)
        #expect(try await keys.list().first?.revokedAt != nil)
        let admin = APIKeyInfo(id: "k", name: "", scopes: [.admin], createdAt: "", revokedAt: nil)
        #expect(Scope.allCases.allSatisfy(admin.allows))
    }

    @Test("UTC times read back as written, to the nanosecond given; malformed ones are refused")
    func utcTimes() {
        for nanoseconds: UInt64 in [0, 1_764_400_000_123_000_000, 4_102_444_799_999_000_000] {
            #expect(UTCTime.nanoseconds(UTCTime.text(nanoseconds: nanoseconds)) == nanoseconds)
        }
        #expect(UTCTime.nanoseconds("2026-11-29T09:30:00Z") == 1_795_944_600_000_000_000)
        #expect(UTCTime.nanoseconds("2026-11-29T09:30:00.123456789Z") == 1_795_944_600_123_456_789)
        for bad in [
            "", "2026-11-29", "2026-11-29T09:30:00", "2026-13-29T09:30:00Z", "2026-11-29T24:00:00Z",
            "2026-11-29T09:30:00.Z", "2026-11-29T09:30:00.1234567890Z", "2026-11-29 09:30:00Z",
            "x026-11-29T09:30:00Z",
        ] {
            #expect(UTCTime.nanoseconds(bad) == nil, "\(bad)")
        }
    }

    @Test("job runs: ids in order, outcomes, counts, abandoned runs, schedule slots", arguments: Backend.available)
    func jobRuns(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let runs = JobRuns(database: try scratch.open())
        let first = try await runs.start(job: "a", trigger: "manual", slotUnix: nil, worker: "h:1", at: 1_000_000_000)
        let second = try await runs.start(job: "a", trigger: "schedule", slotUnix: 60, worker: "h:2", at: 2_000_000_000)
        #expect(second > first)
        try await runs.finish(
            id: second, outcome: .failed, counts: JobCounts(read: 5, written: 4, failed: 1), error: "boom",
            at: 3_000_000_000)
        #expect(try await runs.markAbandoned(job: "a", at: 4_000_000_000) == 1)
        let history = try await runs.history(job: "a")
        #expect(history.map(\.id) == [second, first])
        #expect(history.map(\.outcome) == [.failed, .abandoned])
        #expect(history[0].counts == JobCounts(read: 5, written: 4, failed: 1) && history[0].error == "boom")
        #expect(history[0].slotUnix == 60 && history[1].slotUnix == nil)
        #expect(history[0].startedAt == "1970-01-01T00:00:02.000Z" && history[0].endedAt == "1970-01-01T00:00:03.000Z")
        #expect(try await runs.history(job: "b").isEmpty)
        #expect(try await runs.lastSlot(job: "a") == nil)
        try await runs.setLastSlot(job: "a", unix: 120)
        try await runs.setLastSlot(job: "a", unix: 180)
        #expect(try await runs.lastSlot(job: "a") == 180)
    }

    @Test(
        "settlement lines: a file once by content, lines in bulk with awkward text intact", arguments: Backend.available
    )
    func settlementLines(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = SettlementLines(database: try scratch.open())
        let file = try await store.recordFile(provider: "bkash", fileName: "a.csv", contentSHA256: "ab", at: 0)
        #expect(file.isNew)
        let again = try await store.recordFile(provider: "bkash", fileName: "b.csv", contentSHA256: "ab", at: 1)
        #expect(!again.isNew && again.id == file.id)
        let awkward = "tab\there, new\nline, back\\slash, \\N, ৳ and \"quotes\""
        let lines = (1...500).map { number in
            SettlementLine(
                provider: "bkash", providerTxnId: "TX\(number)", ourReference: number == 7 ? awkward : "KH\(number)",
                providerPaymentId: number % 2 == 0 ? nil : "P\(number)", kind: "payment", statusRaw: "Completed",
                status: "settled", transactedAt: UTCTime.text(nanoseconds: UInt64(number) * 1_000_000_000),
                settlementDate: "2026-11-29", grossMinor: Int64(number) * 100, feeMinor: Int64(number),
                netMinor: Int64(number) * 99, currency: "BDT", payerMasked: "01770XXX618", originalProviderTxnId: nil,
                sourceLine: number + 1)
        }
        #expect(try await store.insert(lines, fileId: file.id) == 500)
        #expect(try await store.lines(fileId: file.id) == lines)
    }

    static func line(_ number: Int) -> SettlementLine {
        SettlementLine(
            provider: "nagad", providerTxnId: "N\(number)", ourReference: "KH\(number)", providerPaymentId: nil,
            kind: "payment", statusRaw: "Success", status: "settled", transactedAt: "2026-11-28T20:04:05.736Z",
            settlementDate: "2026-11-29", grossMinor: 1_000, feeMinor: 15, netMinor: 985, currency: "BDT",
            payerMasked: nil, originalProviderTxnId: nil, sourceLine: number)
    }

    @Test(
        "a file's lines go in whole or not at all: a repeated line number or an unknown kind refuses the batch",
        arguments: Backend.available)
    func bulkInsertIsAtomic(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let store = SettlementLines(database: try scratch.open())
        let file = try await store.recordFile(provider: "nagad", fileName: "n.csv", contentSHA256: "cd", at: 0)
        let first = (2...101).map(Self.line)
        #expect(try await store.insert(first, fileId: file.id) == 100)
        let overlapping = (102...200).map(Self.line) + [Self.line(50)]
        await #expect {
            try await store.insert(overlapping, fileId: file.id)
        } throws: { ($0 as? DatabaseError)?.kind == .uniqueViolation }
        #expect(try await store.lines(fileId: file.id) == first)
        var gift = Self.line(300)
        gift.kind = "gift"
        await #expect {
            try await store.insert((201...210).map(Self.line) + [gift], fileId: file.id)
        } throws: { error in
            // SQLite's CHECK constraint code, or PostgreSQL's check_violation.
            let code = (error as? DatabaseError)?.code ?? ""
            return code == "SQLITE 275" || code == "23514"
        }
        #expect(try await store.lines(fileId: file.id) == first)
    }

    @Test(
        "upgrading a version 3 database keeps its settlement lines through migration 5's rebuild",
        arguments: Backend.available)
    func upgradeFromVersion3(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let old = try scratch.connection()
        try Migrations.apply(to: old, upTo: 3)
        #expect(try Migrations.currentVersion(of: old) == 3)
        try old.run(
            """
            INSERT INTO import_files (provider, file_name, content_sha256, imported_at)
            VALUES ('nagad', 'n.csv', 'ef', 'x')
            """)
        let lines = (2...41).map(Self.line)
        let rows: [[SQLValue]] = lines.map { line in
            [
                .integer(1), .text(line.provider), .text(line.providerTxnId), .text(line.ourReference), .null,
                .text(line.kind), .text(line.statusRaw), .text(line.status), .text(line.transactedAt),
                .text(line.settlementDate), .integer(line.grossMinor), .integer(line.feeMinor), .integer(line.netMinor),
                .text(line.currency), .null, .null, .integer(Int64(line.sourceLine)),
            ]
        }
        let oldColumns = [
            "import_file_id", "provider", "provider_txn_id", "our_reference", "provider_payment_id", "kind",
            "status_raw", "status", "transacted_at", "settlement_date", "gross_minor", "fee_minor", "net_minor",
            "currency", "payer_masked", "original_provider_txn_id", "source_line",
        ]
        #expect(try old.bulkInsert(table: "settlement_lines", columns: oldColumns, rows: rows) == 40)
        let database = try scratch.open()
        #expect(try await database.schemaVersion == Migrations.all.last!.version)
        #expect(try await SettlementLines(database: database).lines(fileId: 1) == lines)
    }

    @Test(
        "bulk insert keeps extreme integers, NULLs, blobs and text with every escaped byte",
        arguments: Backend.available)
    func bulkInsertValues(_ backend: Backend) throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let connection = try scratch.connection()
        let blob = backend == .postgres ? "BYTEA" : "BLOB"
        try connection.execute("CREATE TABLE copy_values (n BIGINT, t TEXT, b \(blob))")
        let rows: [[SQLValue]] = [
            [.integer(.min), .text("\\N"), .blob([0, 0x5C, 0xFF])],
            [.integer(.max), .text("a\tb\nc\rd\\e"), .null],
            [.integer(0), .null, .blob([])],
            [.integer(-7), .text("৳ ১২৩ \"quoted\" 'single'"), .blob(Array("\t".utf8))],
            [.null, .text(""), .null],
        ]
        #expect(try connection.bulkInsert(table: "copy_values", columns: ["n", "t", "b"], rows: rows) == rows.count)
        let stored = try connection.query("SELECT n, t, b FROM copy_values")
        #expect(Set(stored) == Set(rows))
    }
}
