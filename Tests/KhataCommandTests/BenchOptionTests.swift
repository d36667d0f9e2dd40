import Foundation
import TestSupport
import Testing

/// The `bench` commands offer only the options they use: they work in a scratch directory of
/// their own and must never touch a data directory.
@Suite("khata bench options")
struct BenchOptionTests {
    static let benches: [[String]] =
        [["bench"], ["bench", "ledger"], ["bench", "storage"], ["bench", "expiry"]]
        + [["bench", "store"], ["bench", "import"], ["bench", "reconcile"], ["bench", "review"]]

    @Test(
        "an option a benchmark would ignore is an unknown option, and the directory it names is left alone",
        arguments: benches.map { ($0, "--data-dir") } + [
            (["bench", "store"], "--config"), (["bench", "store"], "--log-level"),
            (["bench", "expiry"], "--log-level"), (["bench", "expiry"], "--database-url"),
            (["bench", "ledger"], "--database-url"), (["bench", "review"], "--config"),
        ])
    func unknownOption(command: [String], option: String) throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let named = directory.path + "/data"
        let outcome = try KhataProcess.run(command + [option, named])
        #expect(outcome.status == 64, "\(outcome.stdout) \(outcome.stderr)")
        #expect(outcome.stderr.contains("Unknown option '\(option)'"), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: named))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("--help offers each benchmark what it uses and no data directory", arguments: benches.dropFirst())
    func help(command: [String]) throws {
        let outcome = try KhataProcess.run(command + ["--help"])
        #expect(outcome.status == 0)
        #expect(!outcome.stdout.contains("--data-dir <"), "\(outcome.stdout)")
        #expect(outcome.stdout.contains("--dir <dir>"))
        // The store and review benchmarks measure a job store of their own: SQLite, or PostgreSQL.
        let isStore = command.last == "store" || command.last == "review"
        // The import and reconcile benchmarks read no storage settings and no job store.
        let readsStorage = !isStore && command.last != "import" && command.last != "reconcile"
        #expect(outcome.stdout.contains("--database-url <url>") == isStore, "\(outcome.stdout)")
        #expect(outcome.stdout.contains("--config <file>") == readsStorage, "\(outcome.stdout)")
        let logs = ["ledger", "storage"].contains(command.last)
        #expect(outcome.stdout.contains("--log-level <log-level>") == logs, "\(outcome.stdout)")
    }

    @Test("--config gives the storage settings; a data directory's khata.json and KHATA_DATA_DIR are not read")
    func configuration() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let bad = directory.path + "/khata.json"
        try Data(#"{"storage": {"segmentSizeBytes": 1000}}"#.utf8).write(to: URL(fileURLWithPath: bad))
        let run = ["bench", "storage", "--records", "2000", "--group-records", "1000", "--runs", "1", "--json"]
        let configured = try KhataProcess.run(run + ["--config", bad, "--dir", directory.path + "/one"])
        #expect(configured.status != 0)
        #expect(configured.stderr.contains("segmentSizeBytes must be a multiple of 4096"), "\(configured.stderr)")

        let besideData = try KhataProcess.run(
            run + ["--dir", directory.path + "/two"], environment: ["KHATA_DATA_DIR": directory.path])
        #expect(besideData.status == 0, "\(besideData.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["khata.json"])
    }

    @Test(
        "a --dir that holds anything is refused, and what it holds stays",
        arguments: [["bench", "ledger"], ["bench", "storage"], ["bench", "expiry"], ["bench", "store"]])
    func occupiedDirectory(command: [String]) throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let kept = directory.path + "/khata.json"
        try Data("{}".utf8).write(to: URL(fileURLWithPath: kept))
        let outcome = try KhataProcess.run(command + ["--dir", directory.path])
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.contains("--dir \(directory.path) is not empty (it holds khata.json)"), "\(outcome.stderr)")
        #expect(FileManager.default.fileExists(atPath: kept))

        let file = try KhataProcess.run(command + ["--dir", kept])
        #expect(file.status == 1 && file.stderr.contains("is a file"), "\(file.stderr)")
        #expect(FileManager.default.fileExists(atPath: kept))
    }
}
