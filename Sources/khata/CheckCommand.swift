import ArgumentParser
import Foundation
import KhataCrypto
import Ledger
import LedgerCore
import LedgerStorage
import StorageBench

/// `khata check`: verifies every byte of the ledger store without changing it.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Verify the whole ledger store: every checksum, the hash chain and sequence continuity.",
        discussion: """
            Reads every segment file under <data-dir>/ledger (in parallel) and every checkpoint, \
            changing nothing. Exit status: 0 when the store is intact, 1 when damage is found \
            (the file, the byte offset and what is wrong are printed), 2 when the store cannot be \
            read at all. An unfinished group at the end of the last segment, left by a crash, is \
            reported but is not damage: opening the store truncates it. While another process has \
            the store open for writing, the group it is writing is skipped, not judged. With \
            --balances it then opens the ledger (which must be stopped) and prints a SHA-256 digest \
            of every account's key, currency, flags and four balances, in id order: two ledgers with \
            the same digest hold exactly the same balances (a restore and its original, say).
            """
    )

    @OptionGroup var global: DataDirectoryOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Also open the ledger (stopped) and print a digest of every account's balances.")
    var balances = false

    struct Report: Codable {
        var ok: Bool
        var directory: String
        var segments: Int?
        var records: Int?
        var groups: Int?
        var lastSequence: UInt64?
        var chain: String?
        var checkpoints: [UInt64]?
        var bytesVerified: Int?
        var seconds: Double?
        var bytesPerSecond: Double?
        var tornTail: String?
        var writerActive: Bool?
        var accounts: Int?
        var balancesDigest: String?
        /// ok, damaged (exit 1), no-store or unreadable (exit 2).
        var status: String
        var error: String?
        var errorPath: String?
        var errorOffset: Int?
    }

    func run() async throws {
        let (settings, _) = try await global.load(label: "khata.check")
        let directory = settings.ledgerDirectory
        let started = Clock.now()
        var report = Report(ok: true, directory: directory, status: "ok")
        do {
            let result = try StoreVerifier.verify(directory: directory)
            let seconds = Clock.seconds(since: started)
            report.segments = result.segmentCount
            report.records = result.records
            report.groups = result.groups
            report.lastSequence = result.lastSequence
            report.chain = result.chain.hex
            report.checkpoints = result.checkpointSequences
            report.bytesVerified = result.bytesVerified
            report.seconds = seconds
            report.bytesPerSecond = Double(result.bytesVerified) / max(seconds, 1e-9)
            report.writerActive = result.writerActive
            if let torn = result.tornTail {
                report.tornTail =
                    "\(torn.path) at offset \(torn.offset): \(torn.sizeBytes) bytes of an unfinished group"
            }
        } catch {
            let damaged = error.code == .corrupted || error.code == .unsupportedVersion
            report.ok = false
            report.status = damaged ? "damaged" : error.code == .invalidArgument ? "no-store" : "unreadable"
            report.error = error.description
            report.errorPath = error.path
            report.errorOffset = error.offset
            emit(report)
            throw ExitCode(damaged ? 1 : 2)
        }
        if balances {
            guard report.writerActive != true else {
                throw CommandFailure("--balances opens the ledger: stop the process that has it open first")
            }
            let ledger = try LedgerSession.open(settings)
            let accounts = ledger.accounts
            ledger.close()
            report.accounts = accounts.count
            report.balancesDigest = Self.balancesDigest(accounts)
        }
        emit(report)
    }

    /// SHA-256 over every account in id order: id (16 bytes), currency, flags and code (2 each),
    /// key length (1) and key, then the four balances (8 each), little-endian.
    static func balancesDigest(_ accounts: [Account]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(accounts.count * 128)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        for account in accounts.sorted(by: { $0.id < $1.id }) {
            append(account.id)
            append(account.currency.numericCode)
            append(account.flags.rawValue)
            append(account.code)
            append(UInt8(account.key.utf8.count))
            bytes += account.key.utf8
            for balance in [account.debitsPending, account.debitsPosted, account.creditsPending, account.creditsPosted]
            {
                append(balance)
            }
        }
        return Crypto.hex(Crypto.sha256(bytes))
    }

    private func emit(_ report: Report) {
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.sortedKeys]
            // Safe: the report holds only strings and numbers, which always encode.
            print(String(decoding: try! encoder.encode(report), as: UTF8.self))
            return
        }
        if let error = report.error {
            // Only damage is DAMAGED: a directory without a store, or one that cannot be read, is not.
            let word = ["damaged": "DAMAGED", "no-store": "NO STORE"][report.status] ?? "UNREADABLE"
            print("\(word) \(report.directory)")
            print("  \(error)")
            return
        }
        print("OK \(report.directory)")
        print("  segments:     \(report.segments ?? 0)")
        print("  records:      \(report.records ?? 0) in \(report.groups ?? 0) commit groups")
        print("  last sequence \(report.lastSequence ?? 0)")
        print("  chain:        \(report.chain ?? "")")
        print("  checkpoints:  \(report.checkpoints?.map(String.init).joined(separator: ", ") ?? "none")")
        print(
            "  verified:     \(Units.bytes(report.bytesVerified ?? 0)) in "
                + "\(Units.seconds(report.seconds ?? 0)) (\(Units.bytes(Int(report.bytesPerSecond ?? 0)))/s)"
        )
        if let torn = report.tornTail { print("  torn tail:    \(torn) (truncated on next open)") }
        if let digest = report.balancesDigest {
            print("  balances:     \(report.accounts ?? 0) accounts, digest \(digest)")
        }
        if report.writerActive == true {
            print("  note:         a writer has the store open; the group being written was not judged")
        }
    }
}

/// Human-readable numbers for terminal output.
enum Units {
    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.2f %@", value, units[unit])
    }

    static func seconds(_ value: Double) -> String {
        value < 1 ? String(format: "%.1f ms", value * 1000) : String(format: "%.2f s", value)
    }

    static func rate(_ value: Double) -> String {
        value >= 1_000_000 ? String(format: "%.2f million", value / 1_000_000) : String(format: "%.0f", value)
    }
}
