import ArgumentParser
import Foundation
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
            the store open for writing, the group it is writing is skipped, not judged.
            """
    )

    @OptionGroup var global: DataDirectoryOptions

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

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
        emit(report)
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
