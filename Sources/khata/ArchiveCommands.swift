import Archive
import ArgumentParser
import Foundation
import KhataCrypto
import KhataServer
import Logging
import StorageBench

/// `khata export`: the committed log into a signed, compressed archive.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the committed ledger log as a compressed, signed archive.",
        discussion: """
            Adds one export (a folder khata-<first>-<last> holding zstd files, manifest.json and \
            manifest.sig) to the archive folder --out (default: setting archive.folder). Without \
            --from-seq it continues after the newest export in the folder, or starts at the log's \
            first record: run it every night for an incremental chain. It covers whole commit \
            groups up to --to-seq, or up to the last durable group when it starts, and reads the \
            segment files only, so it runs beside a serving ledger. The manifest is signed with the \
            Ed25519 key in archive.signingKeyFile (default <data-dir>/archive-signing.pem; make one \
            with `khata archive keygen`). It carries the finance record of its period from the job \
            store (import files, reconciliation runs, mismatches, review events) as JSON lines, \
            unless --log-only. Record the chain head it prints somewhere else: only \
            that proves the archive was not rewritten whole. An interrupted export leaves nothing \
            that looks complete. Exit status: 0 done (or nothing new), 1 the ledger's log is \
            damaged, 2 refused or failed.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Archive folder (default: setting archive.folder).", valueName: "dir"))
    var out: String?

    @Option(name: .customLong("from-seq"), help: "First sequence to export (default: after the newest export).")
    var fromSequence: UInt64?

    @Option(name: .customLong("to-seq"), help: "Last sequence to export (default: the last durable group).")
    var toSequence: UInt64?

    @Option(help: "zstd compression level, 1...19.")
    var level: Int = 3

    @Flag(help: "Export the log alone, without the finance record from the job store.")
    var logOnly = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (1...19).contains(level) else { throw ValidationError("--level must be 1...19, got \(level)") }
        if let fromSequence, fromSequence == 0 { throw ValidationError("--from-seq starts at 1") }
        if let fromSequence, let toSequence, toSequence < fromSequence {
            throw ValidationError("--to-seq \(toSequence) is before --from-seq \(fromSequence)")
        }
    }

    func run() async throws {
        let (settings, logger) = try await global.load(label: "khata.export")
        guard let folder = out ?? settings.archive.folder else {
            throw ValidationError("name the archive folder with --out DIR or the setting archive.folder")
        }
        var request = try settings.exportRequest(
            folder: folder, database: logOnly ? nil : try await settings.openJobDatabase())
        request.fromSequence = fromSequence
        request.toSequence = toSequence
        request.level = Int32(level)
        let bar = ProgressBar(label: "ledger log", total: Int64(ArchivePaths.ledgerBytes(settings.ledgerDirectory)))
        request.progress = { done, total in bar.update("exporting", Int64(done), total: Int64(total)) }
        let started = Clock.now()
        let outcome: ExportOutcome
        do {
            outcome = try await ArchiveExporter.exportInBackground(request)
        } catch {
            bar.finish()
            throw ArchiveFailure.report(error)
        }
        bar.complete("exporting")
        bar.finish()
        let seconds = Clock.seconds(since: started)
        guard let manifest = outcome.manifest, let path = outcome.folder else {
            let reason = outcome.nothingToExport ?? "nothing to export"
            logger.info("nothing exported", metadata: ["reason": "\(reason)"])
            if json { print(LedgerSession.jsonLine(["exported": false, "reason": reason])) } else { print(reason) }
            return
        }
        let compressed = manifest.files.reduce(0) { $0 + $1.compressed.bytes }
        logger.info(
            "exported",
            metadata: [
                "folder": "\(path)", "first_sequence": "\(manifest.firstSequence)",
                "last_sequence": "\(manifest.lastSequence)", "chain_head": "\(manifest.endChain)",
            ])
        if json {
            print(
                LedgerSession.jsonLine([
                    "exported": true, "folder": path, "first_sequence": manifest.firstSequence,
                    "last_sequence": manifest.lastSequence, "records": manifest.records.records,
                    "transfers": manifest.records.transfers, "log_bytes": manifest.logBytes,
                    "finance_lines": manifest.files.reduce(0) { $0 + ($1.financeLines ?? 0) },
                    "compressed_bytes": compressed, "chain_head": manifest.endChain,
                    "signing_key": manifest.signingKey, "seconds": seconds,
                ]))
            return
        }
        print("exported sequences \(manifest.firstSequence)...\(manifest.lastSequence) to \(path)")
        print(
            "  \(manifest.records.records) records (\(manifest.records.transfers) transfers) in "
                + "\(manifest.records.groups) groups, \(manifest.logFiles.count) log files")
        print(
            "  \(Units.bytes(manifest.logBytes)) of log in \(Units.bytes(compressed)) "
                + String(format: "(%.2f:1)", Double(manifest.logBytes) / Double(max(compressed, 1)))
                + " in \(Units.seconds(seconds))")
        if let finance = manifest.files.first(where: { $0.financeLines != nil }) {
            print("  finance record: \(finance.financeLines ?? 0) lines from the job store")
        }
        print("  chain head after sequence \(manifest.lastSequence): \(manifest.endChain)")
        print("  signed by Ed25519 key \(manifest.signingKey)")
        print("record the chain head somewhere other than the archive: it is what proves the archive unchanged")
    }
}

/// `khata verify ARCHIVE_DIR`.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an archive folder: signatures, every hash, every record and the chain.",
        discussion: """
            Checks each export's manifest signature (against --public-key or the setting \
            archive.publicKey when given; otherwise against the key the manifest names, which \
            proves only that the manifest is whole), the SHA-256 of every file's compressed and \
            decompressed bytes, every record rebuilt with its checksum, and the chain hash through \
            every file and across exports. Changes nothing, except that it notes the result in the \
            folder's verification log (read by `khata archive list` and `archive prune`) when the \
            folder is writable. Exit status: 0 intact, 1 damaged (file and offset printed), 2 \
            refused or unreadable.
            """)

    @OptionGroup var folder: ArchiveFolderOptions

    @Option(help: "Chain head recorded elsewhere: the archive must end with it.")
    var expectChain: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var config: DataDirectoryOptions

    func run() async throws {
        let (settings, logger) = try await config.load(label: "khata.verify")
        let trusted = try ArchivePaths.trustedKey(folder.publicKey ?? settings.archive.publicKey)
        let total = ArchivePaths.archiveBytes(folder.archiveDirectory)
        let bar = ProgressBar(label: "archive", total: Int64(total))
        let started = Clock.now()
        let check: ArchiveCheck
        do {
            check = try ArchiveVerifier.verify(directory: folder.archiveDirectory, trustedKey: trusted) { done, total in
                bar.update("verifying", Int64(done), total: Int64(total))
            }
        } catch {
            bar.finish()
            VerificationLog.record(folder.archiveDirectory, ok: false, detail: error.description)
            throw ArchiveFailure.report(error)
        }
        bar.complete("verifying")
        bar.finish()
        let seconds = Clock.seconds(since: started)
        if let expectChain, expectChain.lowercased() != check.endChain {
            VerificationLog.record(
                folder.archiveDirectory, ok: false, detail: "chain head differs from the one expected")
            throw ArchiveFailure.report(
                ArchiveError(
                    .damaged,
                    "the archive ends with chain \(check.endChain), not the expected \(expectChain.lowercased())",
                    path: folder.archiveDirectory))
        }
        VerificationLog.record(
            folder.archiveDirectory, ok: true, detail: "sequences \(check.firstSequence)...\(check.lastSequence)",
            exports: check.exports.map(\.manifest.folderName))
        let signers = Set(check.exports.map(\.signedBy.hex)).sorted()
        logger.info(
            "archive verified",
            metadata: ["folder": "\(folder.archiveDirectory)", "last_sequence": "\(check.lastSequence)"])
        let rate = Double(check.logBytes) / max(seconds, 1e-9)
        if json {
            print(
                LedgerSession.jsonLine([
                    "ok": true, "exports": check.exports.count, "files": check.files,
                    "first_sequence": check.firstSequence, "last_sequence": check.lastSequence,
                    "records": check.records.records, "transfers": check.records.transfers,
                    "chain_head": check.endChain, "log_bytes": check.logBytes,
                    "compressed_bytes": check.compressedBytes,
                    "decompressed_bytes": check.decompressedBytes, "finance_lines": check.financeLines,
                    "signed_by": signers, "trusted_key_checked": trusted != nil, "seconds": seconds,
                    "log_bytes_per_s": rate.rounded(),
                ]))
            return
        }
        print("OK \(folder.archiveDirectory)")
        print(
            "  exports:      \(check.exports.count) (\(check.files) files), sequences "
                + "\(check.firstSequence)...\(check.lastSequence)"
                + (check.startsAtFirstSequence ? ", the whole history" : ", from a later start (not restorable)"))
        print(
            "  records:      \(check.records.records) (\(check.records.transfers) transfers, "
                + "\(check.records.accounts) accounts) rebuilt, every checksum and the chain recomputed")
        print("  hashes:       SHA-256 of every file's compressed and decompressed bytes match the manifests")
        print("  chain head:   \(check.endChain)")
        print(
            "  signatures:   Ed25519 by \(signers.joined(separator: ", "))"
                + (trusted == nil ? " (no trusted key given: pass --public-key to prove who signed)" : ", trusted"))
        print("  finance:      \(check.financeLines) lines")
        print(
            "  verified:     \(Units.bytes(check.logBytes)) of log from \(Units.bytes(check.compressedBytes)) in "
                + "\(Units.seconds(seconds)) (\(Units.bytes(Int(rate)))/s)")
    }
}

/// `khata restore ARCHIVE_DIR --data-dir NEW`.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Rebuild a data directory's ledger from an archive, byte for byte.",
        discussion: """
            Needs the whole history: exports from sequence 1 on, chained. Writes the segment files \
            into <data-dir>/ledger, each rebuilt and proven against the signed manifests before it \
            gets its name, then checks the result as `khata check` does. The data directory must \
            be new or empty. The job store is not restored; the archive's finance record stays in \
            the archive.
            """)

    @OptionGroup var folder: ArchiveFolderOptions

    @Option(help: ArgumentHelp("The new data directory (must be new or empty).", valueName: "dir"))
    var dataDir: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var log: LogOptions

    func run() async throws {
        let logger = try log.start(label: "khata.restore")
        let trusted = try ArchivePaths.trustedKey(folder.publicKey)
        // The archive's size only decides whether a bar is worth drawing; restore reports the
        // segments' real total as it goes.
        let bar = ProgressBar(label: "segments", total: Int64(ArchivePaths.archiveBytes(folder.archiveDirectory)))
        let started = Clock.now()
        let outcome: RestoreOutcome
        do {
            outcome = try ArchiveRestorer.restore(
                archiveDirectory: folder.archiveDirectory, dataDirectory: dataDir, trustedKey: trusted
            ) { done, total in
                bar.update("restoring", Int64(done), total: Int64(total))
            }
        } catch {
            bar.finish()
            throw ArchiveFailure.report(error)
        }
        bar.complete("restoring")
        bar.finish()
        let ledger = dataDir + "/ledger"
        let verified = try ArchivePaths.check(ledger)
        let seconds = Clock.seconds(since: started)
        logger.info("restored", metadata: ["data_dir": "\(dataDir)", "last_sequence": "\(outcome.lastSequence)"])
        if json {
            print(
                LedgerSession.jsonLine([
                    "ok": true, "data_dir": dataDir, "segments": outcome.segments, "records": outcome.records,
                    "last_sequence": outcome.lastSequence, "chain_head": outcome.endChain,
                    "bytes_written": outcome.bytesWritten, "check_chain": verified, "seconds": seconds,
                ]))
            return
        }
        print("restored sequences 1...\(outcome.lastSequence) into \(ledger)")
        print(
            "  \(outcome.segments) segments, \(outcome.records) records, \(Units.bytes(outcome.bytesWritten)) written")
        print("  chain head:  \(outcome.endChain)")
        print("  khata check: OK (chain \(verified))")
        print("  in \(Units.seconds(seconds))")
    }
}

/// Prints an archive error and gives the exit status the commands' help promises: 1 for damage,
/// 2 for a refusal or a failure to read or write.
enum ArchiveFailure {
    static func report(_ error: ArchiveError) -> ExitCode {
        let word = error.kind == .damaged ? "DAMAGED" : error.kind == .refused ? "REFUSED" : "FAILED"
        FileHandle.standardError.write(Data("\(word): \(error.description)\n".utf8))
        return ExitCode(error.kind == .damaged ? 1 : 2)
    }
}
