import Foundation
import KhataCrypto
import LedgerStorage

#if canImport(Glibc)
    import Glibc
#endif

/// One segment a repair replaced.
public struct RepairedSegment: Sendable, Equatable {
    public var fileName: String
    public var firstSequence: UInt64
    public var lastSequence: UInt64
    /// Where the damaged file was kept.
    public var keptAt: String
    /// What the scrub found wrong with it.
    public var damage: String
}

/// What a repair did.
public struct RepairOutcome: Sendable {
    public var repaired: [RepairedSegment] = []
    /// The chain head of the whole ledger after the repair, as `khata check` computes it.
    public var chain = ""
    public var lastSequence: UInt64 = 0
}

/// Replaces damaged sealed segments of a stopped ledger with the same records rebuilt from a
/// verified archive, byte for byte.
public enum ArchiveRepairer {
    /// Finds the sealed segments of `ledgerDirectory` that fail their checks (the scrub's pass),
    /// rebuilds each from the archive's pieces of it, keeps the damaged file in `asideDirectory`,
    /// and verifies the whole ledger with the new files in place. Refused, with nothing changed,
    /// when the ledger is open, when the archive does not hold all of a damaged segment, or when
    /// the rebuilt segment does not continue the ledger's chain; the whole repair is undone when
    /// the final verification fails.
    public static func repair(
        ledgerDirectory: String, archiveDirectory: String, asideDirectory: String, trustedKey: Ed25519.PublicKey?
    ) throws(ArchiveError) -> RepairOutcome {
        let lock = try LedgerLock(ledgerDirectory)
        defer { lock.release() }
        let pass = SegmentScrub.pass(directory: ledgerDirectory) { _ in true }
        var damaged: [(path: String, reason: String)] = []
        for damage in pass.damage {
            guard let path = damage.path, (path as NSString).lastPathComponent.hasPrefix("segment-") else {
                throw ArchiveError(
                    .refused, "the ledger's segments cannot be listed or read: \(damage)", path: ledgerDirectory)
            }
            if !damaged.contains(where: { $0.path == path }) { damaged.append((path, damage.description)) }
        }
        var outcome = RepairOutcome()
        if damaged.isEmpty {
            let report = try verifyLedger(ledgerDirectory)
            outcome.chain = report.chain.hex
            outcome.lastSequence = report.lastSequence
            return outcome
        }
        let exports = try ArchiveVerifier.exports(directory: archiveDirectory, trustedKey: trustedKey)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: ledgerDirectory) } catch {
            throw ArchiveError(.io, "cannot list the ledger: \(error)", path: ledgerDirectory)
        }
        let segmentStarts = names.compactMap(Self.firstSequence).sorted()
        var plans: [(rebuild: SegmentRebuild, path: String, lastSequence: UInt64, reason: String)] = []
        for (path, reason) in damaged {
            // Safe: the scrub names segment files only.
            let first = Self.firstSequence((path as NSString).lastPathComponent)!
            guard let next = segmentStarts.first(where: { $0 > first }) else {
                throw ArchiveError(.refused, "the newest segment is the writer's, not a sealed one", path: path)
            }
            let rebuild = try Self.pieces(of: first, in: exports, path: path)
            let covered = rebuild.pieces.last?.piece.lastSequence ?? 0
            guard covered == next - 1 else {
                throw ArchiveError(
                    .refused,
                    "the archive holds sequences \(first)...\(covered) of this segment, which holds \(first)..."
                        + "\(next - 1): export them (from a replica or an older archive) before repairing",
                    path: path)
            }
            let nextPath = ledgerDirectory + "/" + Format.segmentFileName(firstSequence: next)
            if let nextHeader = try? LogSegments.header(path: nextPath),
                nextHeader.startChain.hex != rebuild.pieces.last?.piece.endChain
            {
                throw ArchiveError(
                    .refused,
                    "the archive's chain after sequence \(next - 1) is \(rebuild.pieces.last?.piece.endChain ?? "?"), "
                        + "but the ledger's next segment starts from \(nextHeader.startChain.hex): the archive is of "
                        + "another ledger, or of another history", path: path)
            }
            plans.append((rebuild, path, next - 1, reason))
        }
        try ArchiveFolder.create(asideDirectory)
        let stamp = String(UInt64(Date().timeIntervalSince1970))
        var swapped: [(path: String, aside: String)] = []
        func undo() {
            for (path, aside) in swapped.reversed() {
                unlink(path)
                rename(aside, path)
            }
            _ = try? ArchiveFolder.sync(ledgerDirectory)
        }
        for plan in plans {
            let name = plan.rebuild.fileName
            let temporary = ledgerDirectory + "/" + ".repair-" + name
            do throws(ArchiveError) {
                try plan.rebuild.write(to: temporary)
                let aside = asideDirectory + "/" + name + ".damaged-" + stamp
                try ArchiveFolder.rename(plan.path, to: aside)
                swapped.append((plan.path, aside))
                try ArchiveFolder.rename(temporary, to: plan.path)
            } catch {
                unlink(temporary)
                undo()
                throw error
            }
            outcome.repaired.append(
                RepairedSegment(
                    fileName: name, firstSequence: plan.rebuild.firstSequence, lastSequence: plan.lastSequence,
                    keptAt: swapped[swapped.count - 1].aside, damage: plan.reason))
        }
        do throws(ArchiveError) {
            try ArchiveFolder.sync(ledgerDirectory)
            try ArchiveFolder.sync(asideDirectory)
            let report = try verifyLedger(ledgerDirectory)
            outcome.chain = report.chain.hex
            outcome.lastSequence = report.lastSequence
        } catch {
            undo()
            throw ArchiveError(
                .refused, "the repaired ledger does not pass its checks, so the repair was undone: \(error.message)",
                path: error.path)
        }
        return outcome
    }

    /// `khata check`'s verification of the whole store.
    static func verifyLedger(_ directory: String) throws(ArchiveError) -> VerificationReport {
        do { return try StoreVerifier.verify(directory: directory) } catch {
            throw ArchiveError(.damaged, "the ledger fails its checks: \(error.message)", path: error.path)
        }
    }

    static func firstSequence(_ name: String) -> UInt64? {
        guard name.hasPrefix("segment-"), name.hasSuffix(".khata") else { return nil }
        return UInt64(name.dropFirst("segment-".count).dropLast(".khata".count))
    }

    /// The archive's pieces of the segment that starts at `first`, across exports, checked to
    /// follow each other from the segment's first record.
    static func pieces(of first: UInt64, in exports: [ArchiveExport], path: String) throws(ArchiveError)
        -> SegmentRebuild
    {
        var rebuild: SegmentRebuild?
        for export in exports {
            for file in export.manifest.logFiles {
                // Safe: logFiles holds only files with a log piece.
                let piece = file.log!
                guard piece.segmentFirstSequence == first else { continue }
                let replay = PieceReplay(path: export.folder + "/" + file.name, file: file, piece: piece)
                guard var current = rebuild else {
                    guard piece.offsetBytes == Format.segmentHeaderSizeBytes else {
                        throw ArchiveError(
                            .refused,
                            "the archive holds this segment from sequence \(piece.firstSequence) only, not from its "
                                + "first record", path: path)
                    }
                    rebuild = SegmentRebuild(
                        firstSequence: first, index: piece.segmentIndex, sizeBytes: piece.segmentSizeBytes,
                        startChain: piece.segmentStartChain, pieces: [replay])
                    continue
                }
                // Safe: a rebuild starts with a piece.
                let previous = current.pieces.last!.piece
                guard piece.offsetBytes == previous.endOffsetBytes, piece.segmentIndex == current.index,
                    piece.segmentSizeBytes == current.sizeBytes, piece.segmentStartChain == current.startChain
                else {
                    throw ArchiveError(
                        .damaged, "the file does not continue segment \(first) where the previous export left it",
                        path: replay.path)
                }
                current.pieces.append(replay)
                rebuild = current
            }
        }
        guard let rebuild else {
            throw ArchiveError(.refused, "the archive holds no record of this segment", path: path)
        }
        return rebuild
    }
}

/// The ledger's own lock, taken exclusively, so that no ledger opens the store while segments
/// are swapped.
struct LedgerLock {
    let fd: Int32

    init(_ directory: String) throws(ArchiveError) {
        let path = directory + "/LOCK"
        guard FileManager.default.fileExists(atPath: directory) else {
            throw ArchiveError(.refused, "no ledger here", path: directory)
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError.system("cannot open the ledger's lock", path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw ArchiveError(
                .refused, "the ledger is open in another process (khata serve?): stop it before repairing", path: path)
        }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
