import Foundation
import JobStore
import Ledger
import LedgerCore
import TestSupport
import Testing

/// A worker on another machine: `khata worker --ledger-url` with no ledger of its own, reaching a
/// `khata serve` process over HTTPS with an API key, both sharing one PostgreSQL job store.
@Suite("Remote worker")
struct RemoteWorkerTests {
    static let holdCount = 300
    static var postgres: String? { ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] }

    /// A self-signed certificate for 127.0.0.1 and its key, made with the openssl command.
    static func certificate(in directory: String) throws -> (certificate: String, key: String) {
        let certificate = directory + "/server.pem"
        let key = directory + "/server.key"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key,
            "-out", certificate,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "openssl could not make a certificate")
        return (certificate, key)
    }

    @Test(
        "the worker expires every due hold through the owner's HTTPS API, once each, its runs in the shared store",
        .enabled(if: postgres != nil, "needs the test PostgreSQL (scripts/test.sh starts one)"))
    func expiresThroughTheAPI() async throws {
        let owner = ScratchDirectory()
        let workerDirectory = ScratchDirectory()
        defer {
            owner.remove()
            workerDirectory.remove()
        }
        let schema = try PostgresScratchSchema(baseURL: try #require(Self.postgres), prefix: "remote")
        defer { schema.drop() }
        // Not the providers' clearing accounts, which the server creates itself with their own ids.
        try await WorkerCrashTests.makeDueHolds(
            in: owner.path, count: Self.holdCount, clearingKey: "clearing:remote", merchantKey: "merchant:remote")
        let (certificate, key) = try Self.certificate(in: owner.path)
        let shared = ["KHATA_DATABASE_URL": schema.url]

        let created = try KhataProcess.run(
            ["keys", "create", "--scope", "read", "--scope", "post", "--json", "--data-dir", owner.path],
            environment: shared)
        #expect(created.status == 0, "\(created.stderr)")
        let apiKey = try #require(
            (try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])?["key"] as? String)

        let server = try LineReader(
            [
                "serve", "--data-dir", owner.path, "--port", "0", "--no-scheduler", "--log-format", "json",
                "--tls-certificate", certificate, "--tls-key", key,
            ], standardError: true, environment: shared)
        var port: Int?
        while port == nil, let line = server.nextLine() {
            if let range = line.range(of: "listening on 127.0.0.1:") {
                port = Int(line[range.upperBound...].prefix { $0.isNumber })
            }
        }
        let bound = try #require(port, "the server never reported its address")

        let worker = try LineReader(
            [
                "worker", "--data-dir", workerDirectory.path, "--ledger-url", "https://127.0.0.1:\(bound)",
                "--ledger-ca", certificate, "--log-format", "json",
            ], standardError: true,
            environment: shared.merging([
                "KHATA_LEDGER_API_KEY": apiKey, "KHATA_JOBS_EXPIRE_RESERVATIONS_SCHEDULE": "* * * * * *",
                "KHATA_JOBS_EXPIRE_RESERVATIONS_BATCH_SIZE": "50",
            ]) { _, new in new })

        // The worker's runs land in the shared store; wait (bounded) for one that expired them all.
        let database = try await JobDatabase.open(dataDir: workerDirectory.path, databaseURL: schema.url)
        let workerId = worker.process.processIdentifier
        let written: Int64 = try await offThePool {
            for _ in 0..<120_000 {
                let rows = try database.performNow { connection in
                    try connection.query(
                        "SELECT CAST(COALESCE(SUM(written_count), 0) AS BIGINT) FROM job_runs "
                            + "WHERE job = 'expire-reservations' AND worker LIKE '%:\(workerId)'")
                }
                let total = rows.first?[0].integer ?? 0
                if total >= Int64(Self.holdCount) { return total }
                usleep(1_000)
            }
            return -1
        }
        kill(workerId, SIGTERM)
        kill(server.process.processIdentifier, SIGTERM)
        try await offThePool {
            worker.process.waitUntilExit()
            server.process.waitUntilExit()
        }
        if written != Int64(Self.holdCount) {
            var log: [String] = []
            while let line = worker.nextLine() { log.append(line) }
            let tail = log.suffix(20).joined(separator: "\n")
            Issue.record("the worker's runs expired \(written) of \(Self.holdCount); its log:\n\(tail)")
        }
        #expect(worker.process.terminationStatus == 0 && server.process.terminationStatus == 0)

        // Every hold expired (not voided), exactly once, and the books balance.
        let ownerPath = owner.path
        let states = try await offThePool {
            let ledger = try Ledger.open(directory: ownerPath + "/ledger")
            defer { ledger.close() }
            return try (1...Self.holdCount).map { try ledger.transfer(id: UInt128($0))?.state }
        }
        #expect(states.allSatisfy { $0 == .pendingExpired })
    }

    @Test("serve refuses half a TLS configuration and files that are not PEM, naming them, before it opens anything")
    func tlsRefusals() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (certificate, key) = try Self.certificate(in: directory.path)
        let junk = directory.path + "/junk.pem"
        try Data("not a certificate\n".utf8).write(to: URL(fileURLWithPath: junk))
        let data = directory.path + "/data"
        let serve = ["serve", "--data-dir", data, "--port", "0", "--no-scheduler"]
        let half = try KhataProcess.run(serve + ["--tls-certificate", certificate])
        #expect(half.status != 0 && half.stderr.contains("--tls-key"), "\(half.stderr)")
        let badCertificate = try KhataProcess.run(serve + ["--tls-certificate", junk, "--tls-key", key])
        #expect(badCertificate.status != 0 && badCertificate.stderr.contains(junk), "\(badCertificate.stderr)")
        let badKey = try KhataProcess.run(serve + ["--tls-certificate", certificate, "--tls-key", junk])
        #expect(badKey.status != 0 && badKey.stderr.contains(junk), "\(badKey.stderr)")
        // Refused before anything was opened: no data directory was made.
        #expect(!FileManager.default.fileExists(atPath: data))
    }

    @Test("a plain http ledger URL to another machine is refused before anything runs; loopback is allowed")
    func plainHTTPRefused() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let refused = try KhataProcess.run(
            ["worker", "--data-dir", directory.path, "--ledger-url", "http://10.20.30.40:8080"],
            environment: ["KHATA_LEDGER_API_KEY": "khata_test"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("plain http"), "\(refused.stderr)")
        let noKey = try KhataProcess.run(["worker", "--data-dir", directory.path, "--ledger-url", "https://x.test"])
        #expect(noKey.status != 0 && noKey.stderr.contains("ledger.apiKey"), "\(noKey.stderr)")
    }
}
