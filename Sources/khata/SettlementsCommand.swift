import ArgumentParser
import Foundation
import JobStore
import Ledger
import Scheduler
import SettlementImport

/// `khata settlements`: the providers' settlement files in the job store.
struct SettlementsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settlements",
        abstract: "Import providers' settlement files and list what was imported.",
        discussion: """
            The dialects, the generic mapping and every rule of reading are in \
            docs/SETTLEMENT-FORMATS.md.
            """,
        subcommands: [Import.self, List.self])

    /// Which dialect a file is read in.
    enum ProviderChoice: String, ExpressibleByArgument, CaseIterable {
        case bkash, nagad, sslcommerz, generic
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import settlement CSV files of one provider.",
            discussion: """
                Each file is checked whole first: one that is not UTF-8 CSV, is empty, has no header \
                of the provider's dialect in its first 50 lines, or ends inside a quoted field is \
                refused with one error and nothing of it is imported. Otherwise its good lines are \
                stored and each bad line is recorded with its line number, column and reason. A file \
                whose content was imported before changes nothing. A line repeating a provider \
                transaction already stored is kept as duplicate_settlement and never counted as \
                money. Exit status: 0 when every file was read (whatever lines it refused), 1 when a \
                file was refused.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "The file's dialect: bkash, nagad, sslcommerz, or generic (with --mapping).")
        var provider: ProviderChoice

        @Option(help: ArgumentHelp("The generic dialect's mapping (JSON).", valueName: "file"))
        var mapping: String?

        @Option(
            help: ArgumentHelp(
                "The day the files settle, for lines without a date of their own (default: the Asia/Dhaka date "
                    + "of each file's latest transaction).", valueName: "date"))
        var settlementDate: String?

        @Flag(help: "Print one JSON object per file.")
        var json = false

        @Argument(help: ArgumentHelp("Settlement files (CSV).", valueName: "file"))
        var files: [String]

        func validate() throws {
            if provider == .generic && mapping == nil {
                throw ValidationError("--provider generic needs --mapping FILE")
            }
            if provider != .generic && mapping != nil {
                throw ValidationError(
                    "--mapping goes with --provider generic; \(provider.rawValue) has its own dialect")
            }
            if let settlementDate, CivilDate.parse(settlementDate) == nil {
                throw ValidationError("--settlement-date \"\(settlementDate)\" is not a date (YYYY-MM-DD)")
            }
            guard !files.isEmpty else { throw ValidationError("name at least one file") }
        }

        func run() async throws {
            let dialect: SettlementDialect
            if let mapping {
                do {
                    dialect = try SettlementMapping.load(path: mapping)
                } catch {
                    throw CommandFailure(error.description)
                }
            } else {
                // Safe: the three choices other than generic are the provider dialects' names.
                dialect = SettlementDialect.named(provider.rawValue)!
            }
            let (settings, _) = try await global.load(label: "khata.settlements")
            let importer = SettlementImporter(
                store: SettlementLines(database: try await settings.openJobDatabase()),
                clock: Ledger.wallClockNanoseconds)
            let date = settlementDate.flatMap(CivilDate.parse)
            var refused = 0
            for path in files {
                let name = URL(fileURLWithPath: path).lastPathComponent
                let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int64) ?? 0
                let bar = ProgressBar(label: name, total: size)
                do {
                    let summary = try await importer.importFile(
                        path: path, fileName: name, dialect: dialect, settlementDate: date, importedBy: "cli"
                    ) { stage, done in bar.update(stage.rawValue, done) }
                    bar.finish()
                    print(json ? summary.json : summary.text)
                } catch let error as SettlementFileError {
                    bar.finish()
                    refused += 1
                    if json {
                        print(error.json(file: name))
                    } else {
                        FileHandle.standardError.write(
                            Data("Error: \(name): \(error.message); nothing imported\n".utf8))
                    }
                }
            }
            if refused > 0 { throw ExitCode(1) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List imported settlement files, newest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only this provider's files.")
        var provider: String?

        @Option(help: "At most this many files.")
        var limit = 50

        @Flag(help: "Print one JSON object per file.")
        var json = false

        func run() async throws {
            let (settings, _) = try await global.load(label: "khata.settlements")
            let store = SettlementLines(database: try await settings.openJobDatabase())
            for file in try await store.files(provider: provider, limit: limit) {
                if json {
                    var object: [String: Any] = [
                        "fileId": file.id, "file": file.fileName, "provider": file.provider, "dialect": file.dialect,
                        "importedAt": file.importedAt, "importedBy": file.importedBy, "read": file.readCount,
                        "imported": file.importedCount, "duplicates": file.duplicateCount,
                        "rejected": file.rejectedCount, "sha256": file.contentSHA256, "sizeBytes": file.sizeBytes,
                    ]
                    object["settlementDate"] = file.settlementDate
                    print(LedgerSession.jsonLine(object))
                } else {
                    print(
                        "\(file.id)  \(file.provider)  \(file.settlementDate ?? "-")  \(file.fileName)  "
                            + "read \(file.readCount), imported \(file.importedCount), duplicates "
                            + "\(file.duplicateCount), rejected \(file.rejectedCount)  \(file.importedAt)")
                }
            }
        }
    }
}
