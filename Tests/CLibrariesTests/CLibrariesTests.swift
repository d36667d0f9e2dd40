import CCSV
import COpenSSL
import CPostgres
import CSQLite
import CZstd
import Foundation
import Testing

/// One real call into each system library, so that a missing package or a broken module map
/// fails here, by name, rather than deep inside a feature.
@Suite("C libraries")
struct CLibrariesTests {
    @Test("libpq connects to the test PostgreSQL and runs a query")
    func libpq() throws {
        #expect(PQlibVersion() >= 150_000)
        // The README's test command starts a throwaway server and exports its address; run
        // through `swift test` alone, point KHATA_TEST_DATABASE_URL at any server.
        let url = try #require(
            ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"],
            "KHATA_TEST_DATABASE_URL is not set: run the tests with scripts/test.sh")
        let connection = PQconnectdb(url)
        defer { PQfinish(connection) }
        try #require(
            PQstatus(connection) == CONNECTION_OK, "connection failed: \(String(cString: PQerrorMessage(connection)))")
        let result = PQexec(connection, "SELECT 6 * 7")
        defer { PQclear(result) }
        #expect(PQresultStatus(result) == PGRES_TUPLES_OK)
        #expect(String(cString: PQgetvalue(result, 0, 0)) == "42")
    }

    @Test("zstd compresses and restores bytes exactly")
    func zstd() {
        let input = Array(repeating: Array("khata ledger segment ".utf8), count: 200).flatMap { $0 }
        var compressed = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let compressedSize = compressed.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { ZSTD_compress(out.baseAddress, out.count, $0.baseAddress, $0.count, 3) }
        }
        #expect(ZSTD_isError(compressedSize) == 0)
        #expect(compressedSize < input.count / 10)
        var restored = [UInt8](repeating: 0, count: input.count)
        let restoredSize = restored.withUnsafeMutableBytes { out in
            compressed.withUnsafeBytes { ZSTD_decompress(out.baseAddress, out.count, $0.baseAddress, compressedSize) }
        }
        #expect(restoredSize == input.count)
        #expect(restored == input)
    }

    @Test("OpenSSL's SHA-256 gives the standard digest of abc")
    func openssl() {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let status = Array("abc".utf8).withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        #expect(status == 1)
        #expect(length == 32)
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        #expect(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    final class Fields {
        var rows: [[String]] = [[]]
    }

    @Test("libcsv parses quoted fields with commas and line breaks")
    func libcsv() throws {
        var parser = csv_parser()
        try #require(csv_init(&parser, UInt8(CSV_APPEND_NULL)) == 0)
        defer { csv_free(&parser) }
        let fields = Fields()
        let context = Unmanaged.passUnretained(fields).toOpaque()
        let text = Array("trxID,amount\r\n\"8A44,HB\",\"1,250.00\"\r\nX1,\"two\nlines\"\r\n".utf8)
        let onField: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Void = {
            data, length, context in
            let fields = Unmanaged<Fields>.fromOpaque(context!).takeUnretainedValue()
            let bytes = UnsafeRawBufferPointer(start: data, count: length)
            fields.rows[fields.rows.count - 1].append(String(decoding: bytes, as: UTF8.self))
        }
        let onRow: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Void = { _, context in
            Unmanaged<Fields>.fromOpaque(context!).takeUnretainedValue().rows.append([])
        }
        let consumed = text.withUnsafeBytes { csv_parse(&parser, $0.baseAddress, $0.count, onField, onRow, context) }
        #expect(consumed == text.count)
        csv_fini(&parser, onField, onRow, context)
        #expect(
            Array(fields.rows.dropLast()) == [["trxID", "amount"], ["8A44,HB", "1,250.00"], ["X1", "two\nlines"]])
    }

    @Test("SQLite stores and reads back integer minor units")
    func sqlite() throws {
        var database: OpaquePointer?
        try #require(sqlite3_open(":memory:", &database) == SQLITE_OK)
        defer { sqlite3_close(database) }
        #expect(
            sqlite3_exec(
                database, "CREATE TABLE t(amount_minor INTEGER); INSERT INTO t VALUES (123450), (50);", nil, nil, nil)
                == SQLITE_OK)
        var statement: OpaquePointer?
        try #require(sqlite3_prepare_v2(database, "SELECT sum(amount_minor) FROM t", -1, &statement, nil) == SQLITE_OK)
        defer { sqlite3_finalize(statement) }
        #expect(sqlite3_step(statement) == SQLITE_ROW)
        #expect(sqlite3_column_int64(statement, 0) == 123_500)
    }
}
