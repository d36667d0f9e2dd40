import Archive
import KhataCrypto
import TestSupport

/// The archive's calls block (files, and both cores through `concurrentPerform`); tests make
/// them on a thread of their own so that the cooperative pool stays free for other suites' live
/// servers.
enum Blocking {
    static func export(_ request: ExportRequest) async throws -> ExportOutcome {
        try await offThePool { try ArchiveExporter.export(request) }
    }

    static func verify(directory: String, trustedKey: Ed25519.PublicKey?) async throws -> ArchiveCheck {
        try await offThePool { try ArchiveVerifier.verify(directory: directory, trustedKey: trustedKey) }
    }

    static func exports(directory: String, trustedKey: Ed25519.PublicKey?) async throws -> [ArchiveExport] {
        try await offThePool { try ArchiveVerifier.exports(directory: directory, trustedKey: trustedKey) }
    }

    static func restore(archiveDirectory: String, dataDirectory: String, trustedKey: Ed25519.PublicKey?)
        async throws -> RestoreOutcome
    {
        try await offThePool {
            try ArchiveRestorer.restore(
                archiveDirectory: archiveDirectory, dataDirectory: dataDirectory, trustedKey: trustedKey)
        }
    }

    static func prune(directory: String, keepDays: Int, nowNanoseconds: UInt64, dryRun: Bool) async throws
        -> PruneOutcome
    {
        try await offThePool {
            try ArchivePruner.prune(
                directory: directory, keepDays: keepDays, nowNanoseconds: nowNanoseconds, dryRun: dryRun)
        }
    }
}
