import Foundation
import LedgerStorage
import TestSupport
import Testing

@Suite("khata command")
struct CommandTests {
    /// A store of `groups` groups of 64 records written by the real binary.
    static func makeStore(_ directory: ScratchDirectory, groups: Int = 20) throws {
        let outcome = try KhataProcess.run([
            "debug-append", "--data-dir", directory.path, "--groups", "\(groups)", "--group-records", "64",
        ])
        try #require(outcome.status == 0, "debug-append failed: \(outcome.stderr)")
    }

    @Test("--help of a command that works on a data directory offers --data-dir", arguments: [["check"], ["transfer"]])
    func help(command: [String]) throws {
        let outcome = try KhataProcess.run(command + ["--help"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("USAGE: khata"))
        #expect(outcome.stdout.contains("--data-dir"))
    }

    @Test("check reports a healthy store as JSON and exits 0")
    func checkHealthy() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let outcome = try KhataProcess.run(["check", "--json"], environment: ["KHATA_DATA_DIR": directory.path])
        #expect(outcome.status == 0, "\(outcome.stdout) \(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["ok"] as? Bool == true)
        #expect(object["records"] as? Int == 20 * 64)
        #expect(object["last_sequence"] as? Int == 20 * 64)
        #expect((object["chain"] as? String)?.count == 64)
    }

    @Test("check names the file and offset of damage and exits 1")
    func checkDamaged() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory)
        let segment = directory.path + "/ledger/segment-00000000000000000001.khata"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: segment)))
        let offset = Format.segmentHeaderSizeBytes + 3 * Format.recordSizeBytes
        bytes[offset + 50] ^= 0x04
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let outcome = try KhataProcess.run(["check", "--data-dir", directory.path])
        #expect(outcome.status == 1)
        #expect(outcome.stdout.contains("DAMAGED"))
        #expect(
            outcome.stdout.contains("\(segment) at offset \(offset): record checksum mismatch"), "\(outcome.stdout)")
    }

    @Test("check of a directory with no store exits 2 with the reason")
    func checkMissing() throws {
        let outcome = try KhataProcess.run(["check", "--data-dir", "/nonexistent/khata", "--json"])
        #expect(outcome.status == 2)
        #expect(outcome.stdout.contains("does not exist"))
    }

    @Test("bench storage --json prints the figures and their ratio")
    func benchJSON() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try KhataProcess.run([
            "bench", "storage", "--records", "20000", "--group-records", "1000", "--runs", "1", "--dir",
            directory.path + "/bench", "--json",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        let rate = try #require(object["records_per_s"] as? Double)
        let limit = try #require(object["limit_records_per_s"] as? Double)
        let ratio = try #require(object["ratio"] as? Double)
        #expect(rate > 0 && limit > 0 && ratio > 0)
        #expect(object["records"] as? Int == 20000)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/bench"), "scratch files were left behind")
    }

    @Test("bench (the ledger) --json prints throughput, latency, sizes and memory")
    func ledgerBenchJSON() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try KhataProcess.run([
            "bench", "--accounts", "1000", "--transfers", "20000", "--batch-events", "1000", "--dir",
            directory.path + "/bench",
            "--json",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        for key in ["transfers_per_s", "p50_ms", "p99_ms", "rss_bytes"] {
            #expect((object[key] as? Double ?? 0) > 0, "\(key) in \(outcome.stdout)")
        }
        #expect(object["accounts"] as? Int == 1000)
        #expect(object["transfers"] as? Int == 20000)
        #expect(object["ok_transfers"] as? Int ?? 0 > 19_000)

        // At an offered load, latency counts from each batch's scheduled start.
        let paced = try KhataProcess.run([
            "bench", "--accounts", "1000", "--transfers", "20000", "--batch-events", "250", "--submitters", "8",
            "--rate", "200000", "--dir", directory.path + "/paced", "--json",
        ])
        #expect(paced.status == 0, "\(paced.stderr)")
        let pacedObject = try #require(
            try JSONSerialization.jsonObject(with: Data(paced.stdout.utf8)) as? [String: Any])
        #expect((pacedObject["p99_ms"] as? Double ?? 0) > 0)
        #expect((pacedObject["seconds"] as? Double ?? 0) >= 0.08, "20,000 transfers at 200,000/s take at least 0.1 s")
    }

    @Test("logs are JSON lines when standard error is not a terminal")
    func jsonLogs() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try KhataProcess.run([
            "bench", "storage", "--records", "10000", "--group-records", "1000", "--runs", "1", "--dir",
            directory.path + "/bench",
        ])
        #expect(outcome.status == 0)
        let lines = outcome.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            #expect(object["level"] as? String == "info")
            #expect(object["message"] is String)
            #expect((object["time"] as? String)?.hasSuffix("Z") == true)
        }
    }

    @Test("settings come from the file and the environment, and bad values are named")
    func configuration() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let file = directory.path + "/khata.json"
        try Data(#"{"storage": {"segmentSizeBytes": 1000}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let fromFile = try KhataProcess.run(["check", "--config", file, "--data-dir", directory.path])
        #expect(fromFile.status != 0)
        #expect(fromFile.stderr.contains("segmentSizeBytes must be a multiple of 4096"), "\(fromFile.stderr)")

        let fromEnvironment = try KhataProcess.run(
            ["check", "--data-dir", directory.path], environment: ["KHATA_STORAGE_GROUP_CAPACITY_RECORDS": "lots"])
        #expect(fromEnvironment.status != 0)
        #expect(
            fromEnvironment.stderr.contains("storage.groupCapacityRecords must be an integer"),
            "\(fromEnvironment.stderr)")

        // The environment wins over the file: a valid size from the environment overrides it.
        let overridden = try KhataProcess.run(
            ["debug-append", "--config", file, "--data-dir", directory.path, "--groups", "1"],
            environment: ["KHATA_STORAGE_SEGMENT_SIZE_BYTES": "4194304"])
        #expect(overridden.status == 0, "\(overridden.stderr)")

        let missing = try KhataProcess.run(["check", "--config", directory.path + "/absent.json"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("absent.json cannot be read"))

        try Data("{not json".utf8).write(to: URL(fileURLWithPath: file))
        let malformed = try KhataProcess.run(["check", "--config", file, "--data-dir", directory.path])
        #expect(malformed.status != 0)
        #expect(malformed.stderr.contains("is not valid JSON"), "\(malformed.stderr)")
    }

    @Test("a store the process may not write is refused with a clear error and stays openable")
    func permissionDenied() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        try Self.makeStore(directory, groups: 5)
        let ledger = directory.path + "/ledger"
        let manager = FileManager.default
        // Root ignores file modes, so the writer runs as nobody when the tests run as root.
        let prefix = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : []
        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try manager.setAttributes([.posixPermissions: 0o555], ofItemAtPath: ledger)
        for name in try manager.contentsOfDirectory(atPath: ledger) {
            try manager.setAttributes([.posixPermissions: 0o444], ofItemAtPath: ledger + "/" + name)
        }
        let outcome = try KhataProcess.run(
            ["debug-append", "--data-dir", directory.path, "--groups", "1"], prefix: prefix)
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("Permission denied"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains(ledger), "\(outcome.stderr)")

        try manager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: ledger)
        for name in try manager.contentsOfDirectory(atPath: ledger) {
            try manager.setAttributes([.posixPermissions: 0o644], ofItemAtPath: ledger + "/" + name)
        }
        let store = try SegmentStore.open(directory: ledger)
        #expect(store.committedSequence == 5 * 64)
        store.close()
        #expect(try StoreVerifier.verify(directory: ledger).lastSequence == 5 * 64)
    }
}
