import Foundation
import Testing

/// The module rules docs/ARCHITECTURE.md states, checked on the sources: what `LedgerCore` may use,
/// and which of the project's modules each module may import (imports run one way).
@Suite("Module rules")
struct ModuleRulesTests {
    /// The project's modules and the project modules each may import. A module missing here, or
    /// an import outside its list, fails the test: add it here and to docs/ARCHITECTURE.md.
    static let allowedImports: [String: Set<String>] = [
        "LedgerCore": ["CMemoryHints"],
        "LedgerStorage": ["CKhataSupport", "COpenSSL"],
        "Ledger": ["LedgerCore", "LedgerStorage", "CKhataSupport"],
        "JSONInput": ["LedgerCore"],
        "KhataCrypto": ["COpenSSL"],
        "JobStore": ["CJobStoreSupport", "CPostgres", "CSQLite", "KhataCrypto"],
        "Scheduler": ["JobStore"],
        "LedgerAccess": ["Bookings", "JSONInput", "JobStore", "Ledger", "LedgerCore"],
        "Expiry": ["LedgerAccess", "LedgerCore"],
        "SettlementImport": ["CCSV", "JSONInput", "JobStore", "KhataCrypto", "LedgerCore", "Scheduler"],
        "Reconciliation": [
            "Bookings", "CMemoryHints", "JSONInput", "JobStore", "KhataCrypto", "LedgerAccess", "LedgerCore",
            "Scheduler", "SettlementImport",
        ],
        "StorageBench": ["LedgerStorage"],
        "LedgerBench": ["Bookings", "Ledger", "LedgerCore", "LedgerStorage", "StorageBench"],
        "Archive": ["CZstd", "JSONInput", "JobStore", "KhataCrypto", "Ledger", "LedgerCore", "LedgerStorage"],
        "Bookings": ["JobStore", "KhataCrypto", "Ledger", "LedgerCore"],
        "Demo": ["LedgerBench", "Reconciliation", "Scheduler"],
        "ReviewPages": ["JobStore", "LedgerCore", "Reconciliation"],
        "Notifications": ["Bookings", "JobStore", "LedgerAccess", "LedgerCore", "Scheduler"],
        "KhataServer": [
            "Bookings", "JSONInput", "JobStore", "KhataCrypto", "Ledger", "LedgerAccess", "LedgerCore", "LedgerStorage",
            "Reconciliation", "ReviewPages", "Scheduler", "SettlementImport",
        ],
        "khata": [
            "Archive", "Bookings", "Demo", "Expiry", "JSONInput", "JobStore", "KhataCrypto", "KhataServer",
            "LedgerAccess",
            "Ledger", "LedgerBench",
            "SettlementImport", "Reconciliation", "ReviewPages", "Notifications",
            "LedgerCore", "LedgerStorage",
            "Scheduler", "StorageBench",
        ],
    ]

    /// Modules from outside the project (the standard library's companions, the C library, and
    /// package dependencies): not subject to the table.
    static let projectModules: Set<String> = Set(allowedImports.keys).union([
        "CCSV", "CJobStoreSupport", "CKhataSupport", "CMemoryHints", "COpenSSL", "CPostgres", "CSQLite", "CZstd",
    ])

    static func swiftFiles(in folder: String) -> [String] {
        let base = TidyTests.root.appendingPathComponent(folder).path
        guard let walker = FileManager.default.enumerator(atPath: base) else { return [] }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            if relative.hasSuffix(".swift") { files.append(base + "/" + relative) }
        }
        return files.sorted()
    }

    /// The modules a file imports (`import X`, `@testable import X`, `import struct X.Y`).
    static func imports(of path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n").compactMap { line in
            let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
            guard let position = words.firstIndex(of: "import"), position + 1 < words.count,
                words[..<position].allSatisfy({ $0.hasPrefix("@") || $0 == "public" || $0 == "package" })
            else { return nil }
            let target = words.count > position + 2 ? words[position + 2] : words[position + 1]
            return String(target.split(separator: ".").first ?? target)
        }
    }

    static func folder(of module: String) -> String {
        let jobs: Set<String> = [
            "Archive", "Expiry", "Scheduler", "SettlementImport", "Reconciliation", "Notifications",
        ]
        return jobs.contains(module) ? "Jobs/\(module)" : "Sources/\(module)"
    }

    @Test("each module imports only the project modules below it")
    func importDirection() throws {
        for (module, allowed) in Self.allowedImports {
            let files = Self.swiftFiles(in: Self.folder(of: module))
            #expect(!files.isEmpty, "no sources for \(module)")
            for file in files {
                for imported in try Self.imports(of: file) where Self.projectModules.contains(imported) {
                    #expect(
                        allowed.contains(imported),
                        "\(file.replacingOccurrences(of: TidyTests.root.path + "/", with: "")) imports \(imported)")
                }
            }
        }
        // Every folder of Swift sources is a module of the table.
        for parent in ["Sources", "Jobs"] {
            let base = TidyTests.root.appendingPathComponent(parent).path
            for name in try FileManager.default.contentsOfDirectory(atPath: base).sorted()
            where !Self.swiftFiles(in: "\(parent)/\(name)").isEmpty {
                #expect(Self.allowedImports[name] != nil, "\(parent)/\(name) is missing from the module table")
            }
        }
    }

    @Test("LedgerCore is single-threaded and deterministic: no threads, files, clocks, locks or atomics")
    func ledgerCoreIsPure() throws {
        // Glibc is the C library: allowed for anonymous memory (mmap, madvise) and memcmp only,
        // which the forbidden names below keep to.
        let allowedModules: Set<String> = ["CMemoryHints", "Glibc"]
        let forbidden = [
            // Threads and tasks
            "Thread", "pthread_", "Dispatch", "Task {", "Task.detached", " async ", "await ",
            // Locks and atomics
            "Mutex", "NSLock", "Atomic", "_atomic", "Synchronization",
            // Clocks
            "clock_gettime", "gettimeofday", "Date(", "ContinuousClock", "SuspendingClock",
            // Files
            "fopen", "fread", "fwrite", "fsync", "openat", "O_RDONLY", "O_WRONLY", "O_RDWR", "O_CREAT", "FileHandle",
            "FileManager", "Foundation",
        ]
        let files = Self.swiftFiles(in: "Sources/LedgerCore")
        #expect(files.count > 10)
        for file in files {
            let name = file.replacingOccurrences(of: TidyTests.root.path + "/", with: "")
            for imported in try Self.imports(of: file) {
                #expect(allowedModules.contains(imported), "\(name) imports \(imported)")
            }
            let code = try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\n")
                .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
            for (index, line) in code.enumerated() {
                for word in forbidden where line.contains(word) {
                    Issue.record("\(name): \"\(word)\" in code line \(index + 1): \(line)")
                }
            }
        }
        let hints = try String(
            contentsOf: TidyTests.root.appendingPathComponent("Sources/CMemoryHints/include/CMemoryHints.h"),
            encoding: .utf8)
        #expect(!hints.contains("__atomic") && !hints.contains("#include"), "CMemoryHints holds only cache hints")
    }
}
