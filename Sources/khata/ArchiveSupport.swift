import Archive
import ArgumentParser
import Configuration
import Foundation
import JobStore
import KhataCrypto
import KhataServer
import Ledger
import LedgerStorage
import Logging
import Scheduler

/// The archive's settings (`archive.*`).
struct ArchiveSettings {
    /// Where `khata export` and the nightly export-archive job write (`archive.folder`).
    var folder: String?
    /// The Ed25519 private key (PEM) that signs manifests (`archive.signingKeyFile`).
    var signingKeyFile: String
    /// The public key verify trusts (`archive.publicKey`: 64 hex digits or a PEM file).
    var publicKey: String?

    static func read(_ reader: ConfigReader, dataDir: String) -> ArchiveSettings {
        ArchiveSettings(
            folder: reader.string(forKey: "folder").flatMap { $0.isEmpty ? nil : $0 },
            signingKeyFile: reader.string(forKey: "signingKeyFile") ?? dataDir + "/archive-signing.pem",
            publicKey: reader.string(forKey: "publicKey"))
    }

    /// The signing key, read and checked; a missing key says how to make one.
    func signingKey() throws -> Ed25519.PrivateKey {
        guard let text = try? String(contentsOfFile: signingKeyFile, encoding: .utf8) else {
            throw CommandFailure(
                "no archive signing key at \(signingKeyFile): make one with `khata archive keygen` "
                    + "(or set archive.signingKeyFile to an Ed25519 PEM key)")
        }
        do {
            return try Ed25519.PrivateKey(pem: text)
        } catch {
            throw CommandFailure("archive signing key \(signingKeyFile): \(error)")
        }
    }
}

extension Settings {
    /// An export of this data directory's ledger into `folder`, signed with the configured key,
    /// with the finance record from `database` when given.
    func exportRequest(folder: String, database: JobDatabase?) throws -> ExportRequest {
        try ArchivePaths.checkOutside(folder, of: dataDir)
        var request = ExportRequest(
            ledgerDirectory: ledgerDirectory, archiveDirectory: folder, signingKey: try archive.signingKey(),
            khataVersion: KhataServer.version)
        request.jobDatabase = database
        return request
    }
}

/// Paths and keys the archive commands check before they start.
enum ArchivePaths {
    /// An archive inside the data directory would be lost with it, and a restore could never
    /// be told apart from the ledger it came from.
    static func checkOutside(_ archive: String, of dataDir: String) throws {
        let folder = URL(fileURLWithPath: archive).standardizedFileURL.path
        let data = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        guard folder != data, !folder.hasPrefix(data + "/") else {
            throw ValidationError(
                "the archive folder \(archive) is inside the data directory \(dataDir); put it beside")
        }
    }

    /// A trusted public key from 64 hex digits or a PEM file; nil when none is given.
    static func trustedKey(_ text: String?) throws -> Ed25519.PublicKey? {
        guard let text, !text.isEmpty else { return nil }
        if let key = try? Ed25519.PublicKey(text: text) { return key }
        guard let contents = try? String(contentsOfFile: text, encoding: .utf8) else {
            throw ValidationError("--public-key: \(text) is neither 64 hex digits nor a readable PEM file")
        }
        do { return try Ed25519.PublicKey(text: contents) } catch {
            throw ValidationError("--public-key: \(text): \(error)")
        }
    }

    /// Bytes of the ledger's segment files, for the progress bar.
    static func ledgerBytes(_ directory: String) -> Int { folderBytes(directory, depth: 0) }

    /// Bytes of an archive folder's files, for the progress bar.
    static func archiveBytes(_ directory: String) -> Int { folderBytes(directory, depth: 1) }

    private static func folderBytes(_ directory: String, depth: Int) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var total = 0
        for name in names {
            let path = directory + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { continue }
            if attributes[.type] as? FileAttributeType == .typeDirectory {
                if depth > 0 { total += folderBytes(path, depth: depth - 1) }
            } else {
                total += (attributes[.size] as? Int) ?? 0
            }
        }
        return total
    }

    /// `khata check` on a restored ledger; answers its chain head.
    static func check(_ ledger: String) throws -> String {
        do {
            return try StoreVerifier.verify(directory: ledger).chain.hex
        } catch {
            throw CommandFailure("the restored ledger does not pass khata check: \(error)")
        }
    }
}

/// The archive folder a reading command works on, and the public key it trusts.
struct ArchiveFolderOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The archive folder.", valueName: "archive-dir"))
    var archiveDirectory: String

    @Option(help: ArgumentHelp("The trusted Ed25519 public key: 64 hex digits or a PEM file.", valueName: "key"))
    var publicKey: String?
}

/// `khata archive …`: keys, listing, retention and statements.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Manage ledger archives: signing keys, listings, retention, statements.",
        subcommands: [
            ArchiveKeygenCommand.self, ArchiveListCommand.self, ArchivePruneCommand.self, ArchiveStatementCommand.self,
        ])
}

/// `khata archive keygen`.
struct ArchiveKeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make the Ed25519 key that signs archive manifests.",
        discussion: """
            Writes a new private key (PEM, readable by the owner only) to --out, or to the setting \
            archive.signingKeyFile (default <data-dir>/archive-signing.pem), and never overwrites \
            one. Prints the public key: give it to whoever verifies archives (--public-key, or the \
            setting archive.publicKey), and keep it somewhere the archive is not.
            """)

    @OptionGroup var global: DataDirectoryOptions

    @Option(help: ArgumentHelp("Where to write the private key.", valueName: "file"))
    var out: String?

    func run() async throws {
        let (settings, _) = try await global.load(label: "khata.archive")
        let path = out ?? settings.archive.signingKeyFile
        guard !FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("\(path) exists; a signing key is never overwritten")
        }
        let key = Ed25519.PrivateKey.generate()
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(key.pem.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CommandFailure("cannot write \(path)") }
        print("wrote the archive signing key to \(path)")
        print("public key (for verify --public-key): \(key.publicKey.hex)")
        print(key.publicKey.pem, terminator: "")
    }
}

/// `khata archive list ARCHIVE_DIR`.
struct ArchiveListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show what an archive folder holds: ranges, dates, sizes, ratio, last verified.",
        discussion: """
            Reads the manifests only (signatures checked, files not read; `khata verify` reads \
            them). Dates are the ledger's times of each export's first and last batch, in \
            Asia/Dhaka.
            """)

    @OptionGroup var folder: ArchiveFolderOptions

    @Flag(help: "Print JSON lines instead of a table.")
    var json = false

    func run() async throws {
        let exports: [ArchiveExport]
        let trusted = try ArchivePaths.trustedKey(folder.publicKey)
        do {
            exports = try ArchiveVerifier.exports(directory: folder.archiveDirectory, trustedKey: trusted)
        } catch {
            throw ArchiveFailure.report(error)
        }
        let verified = VerificationLog.lastVerified(folder.archiveDirectory)
        if !json {
            print(
                "export                                          sequences            first batch (Dhaka)  "
                    + "last batch (Dhaka)   transfers  log        archive    ratio   last verified")
        }
        for export in exports {
            let manifest = export.manifest
            let compressed = manifest.files.reduce(0) { $0 + $1.compressed.bytes }
            let ratio = Double(manifest.logBytes) / Double(max(compressed, 1))
            let first = manifest.firstTimeNanoseconds.map(Self.dhaka) ?? "-"
            let last = manifest.lastTimeNanoseconds.map(Self.dhaka) ?? "-"
            let seen = verified[manifest.folderName] ?? "never"
            if json {
                print(
                    LedgerSession.jsonLine([
                        "export": manifest.folderName, "first_sequence": manifest.firstSequence,
                        "last_sequence": manifest.lastSequence, "first_batch": first, "last_batch": last,
                        "created_at": manifest.createdAt, "records": manifest.records.records,
                        "transfers": manifest.records.transfers, "log_bytes": manifest.logBytes,
                        "compressed_bytes": compressed, "ratio": (ratio * 100).rounded() / 100,
                        "chain_head": manifest.endChain, "last_verified": seen,
                    ]))
                continue
            }
            let range = "\(manifest.firstSequence)...\(manifest.lastSequence)"
            print(
                [
                    manifest.folderName.padding(toLength: 47, withPad: " ", startingAt: 0),
                    range.padding(toLength: 20, withPad: " ", startingAt: 0),
                    first.padding(toLength: 20, withPad: " ", startingAt: 0),
                    last.padding(toLength: 20, withPad: " ", startingAt: 0),
                    String(manifest.records.transfers).padding(toLength: 10, withPad: " ", startingAt: 0),
                    Units.bytes(manifest.logBytes).padding(toLength: 10, withPad: " ", startingAt: 0),
                    Units.bytes(compressed).padding(toLength: 10, withPad: " ", startingAt: 0),
                    String(format: "%.2f:1", ratio).padding(toLength: 7, withPad: " ", startingAt: 0), seen,
                ].joined(separator: " "))
        }
    }

    /// `yyyy-MM-dd HH:mm:ss` in Asia/Dhaka (UTC+06:00 all year), by arithmetic: a statement
    /// writes one per entry, and a DateFormatter per call cost a hundred microseconds each.
    static func dhaka(_ nanoseconds: UInt64) -> String {
        let seconds = Int(nanoseconds / 1_000_000_000) + 6 * 3_600
        let date = CivilDate(daysSinceEpoch: seconds / 86_400)
        let inDay = seconds % 86_400
        func two(_ value: Int) -> String { value < 10 ? "0" + String(value) : String(value) }
        return "\(date) \(two(inDay / 3_600)):\(two(inDay / 60 % 60)):\(two(inDay % 60))"
    }
}

/// `khata archive prune --keep-days N ARCHIVE_DIR`.
struct ArchivePruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Delete archive exports older than a number of days (archive files only).",
        discussion: """
            Deletes whole exports, oldest first, whose last record is older than --keep-days days, \
            and stops at the first one inside that window. It deletes only exports `khata verify` \
            has found intact, only while the folder's last verification passed, and only the \
            files their manifests name; anything else in an export's folder stops it. It never \
            touches a data directory. Nothing prunes by itself: run it when retention says so. \
            A pruned archive no longer starts at sequence 1, so it verifies but cannot restore.
            """)

    @Argument(help: ArgumentHelp("The archive folder (default: setting archive.folder).", valueName: "archive-dir"))
    var archiveDirectory: String?

    @Option(help: "Keep exports whose last record is at most this many days old.")
    var keepDays: Int

    @Flag(help: "Show what would be deleted, delete nothing.")
    var dryRun = false

    @OptionGroup var global: DataDirectoryOptions

    func validate() throws {
        guard keepDays >= 1 else { throw ValidationError("--keep-days must be at least 1, got \(keepDays)") }
    }

    func run() async throws {
        let (settings, logger) = try await global.load(label: "khata.archive")
        guard let folder = archiveDirectory ?? settings.archive.folder else {
            throw ValidationError("name the archive folder, or set archive.folder")
        }
        try ArchivePaths.checkOutside(folder, of: settings.dataDir)
        let outcome: PruneOutcome
        do {
            outcome = try ArchivePruner.prune(
                directory: folder, keepDays: keepDays, nowNanoseconds: Ledger.wallClockNanoseconds(), dryRun: dryRun)
        } catch {
            throw ArchiveFailure.report(error)
        }
        let verb = dryRun ? "would delete" : "deleted"
        for manifest in outcome.deleted {
            print("\(verb) \(manifest.folderName) (sequences \(manifest.firstSequence)...\(manifest.lastSequence))")
            logger.info(
                "archive export pruned", metadata: ["export": "\(manifest.folderName)", "dry_run": "\(dryRun)"])
        }
        print("\(verb) \(outcome.deleted.count) exports (\(Units.bytes(outcome.bytes))), kept \(outcome.kept)")
    }
}
