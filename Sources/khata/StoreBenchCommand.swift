import ArgumentParser
import Dispatch
import Foundation
import JobStore

/// `khata bench store`: settlement lines inserted per second into the job store.
struct StoreBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract:
            "Settlement lines inserted per second into the job store (SQLite, or PostgreSQL with --database-url).",
        discussion: """
            Inserts --rows rows shaped like settlement lines in batches of --batch-rows, each batch one \
            transaction (COPY on PostgreSQL), and times the inserts alone (making the rows is not \
            counted). References look like Khata's payment references (KH and 16 characters in no \
            order), so that the reference index is filled as a real import fills it. SQLite goes to \
            a scratch directory (--dir); PostgreSQL to a scratch schema, dropped afterwards.
            """)

    @OptionGroup var store: BenchStoreOptions

    @Option(help: "Rows to insert.")
    var rows = 1_000_000

    @Option(help: "Rows per transaction.")
    var batchRows = 100_000

    @OptionGroup var output: BenchOutputOptions

    func validate() throws {
        guard (1...100_000_000).contains(rows) else { throw ValidationError("--rows must be 1...100,000,000") }
        guard (1...10_000_000).contains(batchRows) else { throw ValidationError("--batch-rows must be 1...10,000,000") }
    }

    func run() async throws {
        let directory = try output.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (database, schema) = try await self.store.open(in: directory)
        defer { schema?.drop() }
        let store = SettlementLines(database: database)
        let file = try await store.recordFile(provider: "bkash", fileName: "bench.csv", contentSHA256: "bench", at: 0)
        var insertNanoseconds: UInt64 = 0
        var inserted = 0
        while inserted < rows {
            let count = min(batchRows, rows - inserted)
            let lines = (inserted..<inserted + count).map { number in
                SettlementLine(
                    provider: "bkash", providerTxnId: "8A\(number)", ourReference: Self.reference(number),
                    providerPaymentId: "TR0011\(number)", kind: "payment", statusRaw: "Completed", status: "settled",
                    transactedAt: "2026-11-28T20:04:05.736Z", settlementDate: "2026-11-29",
                    grossMinor: Int64(100 + number % 100_000), feeMinor: Int64(2 + number % 1_000),
                    netMinor: Int64(98 + number % 99_000), currency: "BDT", payerMasked: "01770XXX618",
                    originalProviderTxnId: nil, sourceLine: number + 2)
            }
            let start = DispatchTime.now().uptimeNanoseconds
            inserted += try await store.insert(lines, fileId: file.id)
            insertNanoseconds += DispatchTime.now().uptimeNanoseconds - start
        }
        let seconds = Double(insertNanoseconds) / 1e9
        let rate = Double(inserted) / seconds
        let backend = database.dialect == .postgres ? "postgresql" : "sqlite"
        if output.json {
            print(
                LedgerSession.jsonLine([
                    "backend": backend, "rows": inserted, "batch_rows": batchRows, "seconds": seconds,
                    "rows_per_s": rate.rounded(),
                ]))
        } else {
            print("store bench (\(backend)): \(inserted) settlement lines in batches of \(batchRows)")
            print("  inserted: \(Units.rate(rate)) rows per second (\(Units.seconds(seconds)) inserting)")
        }
    }

    /// A payment reference for line `number`: `KH` and 16 Crockford base-32 characters (80 bits)
    /// of a scrambled number, unordered like the hash-derived references of real reservations.
    static func reference(_ number: Int) -> String {
        func scrambled(_ value: UInt64) -> UInt64 {
            var mixed = value &* 0x9E37_79B9_7F4A_7C15
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            return mixed ^ (mixed >> 31)
        }
        let low = scrambled(UInt64(number))
        let high = scrambled(UInt64(number) ^ 0x5EED)
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        var text: [UInt8] = [0x4B, 0x48]
        for index in 0..<16 {
            // Characters 0-3 from 16 bits of `high`, 4-15 from 60 bits of `low`.
            let bits = index < 4 ? high >> UInt64(5 * index) : low >> UInt64(5 * (index - 4))
            text.append(alphabet[Int(truncatingIfNeeded: bits & 31)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// The job store a bench measures: SQLite in its scratch directory, or a scratch schema of a
/// PostgreSQL server, dropped afterwards.
struct BenchStoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "PostgreSQL to measure instead of SQLite, e.g. postgresql://khata@db/khata (environment: "
                + "KHATA_DATABASE_URL); the run works in a scratch schema and drops it.", valueName: "url"))
    var databaseUrl: String?

    /// The store, and the scratch schema to drop when done (nil on SQLite).
    func open(in directory: String) async throws -> (JobDatabase, PostgresScratchSchema?) {
        let databaseURL = databaseUrl ?? environment("KHATA_DATABASE_URL")
        let schema = try databaseURL.map { try PostgresScratchSchema(baseURL: $0, prefix: "khata_bench") }
        do {
            return (try await JobDatabase.open(dataDir: directory, databaseURL: schema?.url), schema)
        } catch {
            schema?.drop()
            throw error
        }
    }
}
