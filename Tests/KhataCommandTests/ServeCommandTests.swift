import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `khata serve` as a real child process: it answers on the port it reports, and on SIGTERM it
/// stops, exits 0 and leaves every acknowledged transfer in the ledger.
@Suite("khata serve")
struct ServeCommandTests {
    static func post(_ url: URL, _ json: String, key: String) async throws -> Int {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(json.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        if !key.isEmpty { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode ?? 0
    }

    /// Creates an admin key, starts `khata serve --port 0` on `directory`, waits for the address
    /// it logs, and creates accounts a and b.
    static func start(_ directory: ScratchDirectory) async throws -> (server: LineReader, base: URL, key: String) {
        let created = try KhataProcess.run([
            "keys", "create", "--scope", "admin", "--json", "--data-dir", directory.path,
        ])
        #expect(created.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any]
        let key = try #require(object?["key"] as? String)
        let server = try LineReader(
            ["serve", "--data-dir", directory.path, "--port", "0", "--log-format", "json"], standardError: true)
        // The server logs the address it bound; port 0 lets the kernel pick a free one.
        var port: Int?
        while port == nil, let line = server.nextLine() {
            if let range = line.range(of: "listening on 127.0.0.1:") {
                port = Int(line[range.upperBound...].prefix { $0.isNumber })
            }
        }
        let bound = try #require(port, "the server never reported its address")
        let base = URL(string: "http://127.0.0.1:\(bound)")!
        for account in ["a", "b"] {
            let status = try await post(
                base.appendingPathComponent("v1/accounts"), #"{"key": "\#(account)", "currency": "BDT"}"#, key: key)
            #expect(status == 201)
        }
        return (server, base, key)
    }

    @Test("the review pages come from the binary itself; bad review settings are refused before anything opens")
    func reviewPages() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, base, _) = try await Self.start(directory)
        defer { server.kill() }
        let (page, response) = try await URLSession.shared.data(from: base.appendingPathComponent("ui/sign-in"))
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: page, as: UTF8.self).contains("<h1>Sign in</h1>"))
        let (css, _) = try await URLSession.shared.data(from: base.appendingPathComponent("ui/assets/review.css"))
        #expect(String(decoding: css, as: UTF8.self).contains("@media print"))

        for (environment, words) in [
            (["KHATA_REVIEW_SESSION_HOURS": "0"], "review.sessionHours must be 1 to 168"),
            (["KHATA_REVIEW_SESSION_HOURS": "eight"], "review.sessionHours must be an integer"),
            (["KHATA_SERVER_TRUSTED_PROXIES": "10.0.0.1,proxy.local"], "\"proxy.local\" is not an IPv4 or IPv6"),
        ] {
            let refused = try KhataProcess.run(
                ["serve", "--data-dir", directory.path + "/other", "--port", "0"], environment: environment)
            #expect(refused.status != 0 && refused.stderr.contains(words), "\(refused.stderr)")
        }
    }

    @Test("serves on the reported port, stops on SIGTERM with exit status 0, and keeps what it acknowledged")
    func serveAndStop() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, base, key) = try await Self.start(directory)
        let transfer = #"{"id": "77", "debitAccount": "a", "creditAccount": "b", "amount": "12.34"}"#
        #expect(try await Self.post(base.appendingPathComponent("v1/transfers"), transfer, key: "") == 401)
        #expect(try await Self.post(base.appendingPathComponent("v1/transfers"), transfer, key: key) == 201)
        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        let shown = try KhataProcess.run(["accounts", "show", "b", "--json", "--data-dir", directory.path])
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("12.34"))
    }

    @Test("SIGTERM under load: requests in flight are answered, and every 201 is in the ledger afterwards")
    func drainsOnSigterm() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let (server, base, key) = try await Self.start(directory)
        let url = base.appendingPathComponent("v1/transfers")
        let pid = server.process.processIdentifier
        // 400 transfers from 16 concurrent clients; SIGTERM goes out once 100 have been answered.
        let acknowledged = try await withThrowingTaskGroup(of: Int.self) { group in
            let answered = Counter()
            for client in 0..<16 {
                group.addTask {
                    var created = 0
                    for index in 0..<25 {
                        let body =
                            #"{"id": "\#(client * 1000 + index + 1)", "debitAccount": "a", "#
                            + #""creditAccount": "b", "amount": "1.00"}"#
                        guard let status = try? await Self.post(url, body, key: key) else { break }
                        if status == 201 { created += 1 }
                        if answered.increment() == 100 { kill(pid, SIGTERM) }
                    }
                    return created
                }
            }
            return try await group.reduce(0, +)
        }
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        #expect(acknowledged >= 100)
        let shown = try KhataProcess.run(["accounts", "show", "b", "--json", "--data-dir", directory.path])
        let account = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        // Every acknowledged transfer is there, and nothing that was not answered.
        #expect(account?["creditsPosted"] as? String == "\(acknowledged).00")
    }
}

/// A count shared by concurrent tasks.
final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() -> Int {
        value.withLock {
            $0 += 1
            return $0
        }
    }
}
