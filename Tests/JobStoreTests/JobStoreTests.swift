import JobStore
import TestSupport
import Testing

/// The SQLite store: migrations, parameters, typed errors, reservations and API keys, on real
/// files in a scratch directory.
@Suite("Job store")
struct JobStoreTests {
    @Test("opening applies every migration once, and reopening keeps the data")
    func migrations() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try JobDatabase.open(dataDir: directory.path + "/data")
        #expect(try database.schemaVersion == Migrations.all.last!.version)
        let keys = APIKeys(database: database)
        _ = try keys.create(name: "booking service", scopes: [.post])
        let reopened = try JobDatabase.open(dataDir: directory.path + "/data")
        #expect(try reopened.schemaVersion == Migrations.all.last!.version)
        #expect(try APIKeys(database: reopened).list().map(\.name) == ["booking service"])
    }

    @Test("values are bound as parameters, and a constraint failure is a typed error naming its SQL")
    func parametersAndErrors() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let connection = try SQLiteConnection(path: directory.path + "/t.sqlite")
        try connection.execute("CREATE TABLE t (name TEXT PRIMARY KEY, amount_minor INTEGER, data BLOB)")
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

    @Test("a reservation is inserted once per booking; the first row wins")
    func reservations() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let records = ReservationRecords(database: try JobDatabase.open(dataDir: directory.path))
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

    @Test("API keys: shown once, stored as a digest, verified, scoped and revoked")
    func apiKeys() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let database = try JobDatabase.open(dataDir: directory.path)
        let keys = APIKeys(database: database)
        let (key, info) = try keys.create(name: "finance", scopes: [.read, .finance])
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
        #expect(try keys.revoke(id: info.id))
        #expect(try !keys.revoke(id: info.id))
        #expect(try await keys.verify(key) == nil)
        #expect(try keys.list().first?.revokedAt != nil)
        let admin = APIKeyInfo(id: "k", name: "", scopes: [.admin], createdAt: "", revokedAt: nil)
        #expect(Scope.allCases.allSatisfy(admin.allows))
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2, and comparison is exact")
    func hmac() {
        let digest = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Crypto.hex(digest) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Crypto.bytes(hex: Crypto.hex(digest)) == digest)
        #expect(Crypto.bytes(hex: "zz") == nil)
        #expect(Crypto.constantTimeEqual(digest, digest))
        #expect(!Crypto.constantTimeEqual(digest, Array(digest.dropLast())))
        #expect(!Crypto.constantTimeEqual(digest, digest.map { $0 ^ 1 }))
    }
}
