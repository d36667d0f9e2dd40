import Archive
import ArgumentParser
import Foundation
import Logging

/// `khata repair --from-archive ARCHIVE_DIR`.
struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Replace damaged sealed segments of a stopped ledger from an archive, byte for byte.",
        discussion: """
            For the damage `khata check` or the running scrub reports in a sealed segment (not the \
            newest, which the writer and recovery own). Stop the ledger first: repair takes its \
            lock. It finds every sealed segment that fails its checks, rebuilds each from the \
            archive's records of it (every file verified, every record's checksum and the chain \
            recomputed), checks that the result continues the ledger's chain into the next \
            segment, moves the damaged file to <data-dir>/damaged-segments/ (never deleted) and \
            puts the rebuilt one in its place, then verifies the whole ledger as `khata check` \
            does; if that fails, every file is put back. Refused, changing nothing, when the \
            archive does not hold the whole segment or holds another history. Exit status: 0 \
            repaired or nothing to repair, 1 the archive or the ledger is damaged beyond this, 2 \
            refused.
            """)

    @OptionGroup var global: DataDirectoryOptions

    @Option(
        name: .customLong("from-archive"),
        help: ArgumentHelp("The archive folder to rebuild from.", valueName: "archive-dir"))
    var archiveDirectory: String

    @Option(help: ArgumentHelp("The trusted Ed25519 public key: 64 hex digits or a PEM file.", valueName: "key"))
    var publicKey: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() async throws {
        let (settings, logger) = try await global.load(label: "khata.repair")
        let trusted = try ArchivePaths.trustedKey(publicKey ?? settings.archive.publicKey)
        let ledger = settings.ledgerDirectory
        let aside = settings.dataDir + "/damaged-segments"
        let archive = archiveDirectory
        let outcome: RepairOutcome
        do {
            outcome = try await offThePool { () throws(ArchiveError) in
                try ArchiveRepairer.repair(
                    ledgerDirectory: ledger, archiveDirectory: archive, asideDirectory: aside, trustedKey: trusted)
            }
        } catch {
            throw ArchiveFailure.report(error)
        }
        for segment in outcome.repaired {
            logger.notice(
                "segment repaired from the archive",
                metadata: [
                    "segment": "\(segment.fileName)", "first_sequence": "\(segment.firstSequence)",
                    "last_sequence": "\(segment.lastSequence)", "kept_at": "\(segment.keptAt)",
                ])
        }
        if json {
            print(
                LedgerSession.jsonLine([
                    "ok": true, "chain": outcome.chain, "last_sequence": outcome.lastSequence,
                    "repaired": outcome.repaired.map { segment -> [String: Any] in
                        [
                            "segment": segment.fileName, "first_sequence": segment.firstSequence,
                            "last_sequence": segment.lastSequence, "kept_at": segment.keptAt,
                            "damage": segment.damage,
                        ]
                    },
                ]))
            return
        }
        if outcome.repaired.isEmpty {
            print("nothing to repair: every sealed segment passes its checks")
        }
        for segment in outcome.repaired {
            print(
                "repaired \(segment.fileName) (sequences \(segment.firstSequence)...\(segment.lastSequence)) "
                    + "from the archive")
            print("  it was: \(segment.damage)")
            print("  the damaged file is kept at \(segment.keptAt)")
        }
        print("khata check: OK (sequences 1...\(outcome.lastSequence), chain \(outcome.chain))")
    }
}
