import Foundation
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

    @Test("serves on the reported port, stops on SIGTERM with exit status 0, and keeps what it acknowledged")
    func serveAndStop() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
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
            #expect(
                try await Self.post(
                    base.appendingPathComponent("v1/accounts"), #"{"key": "\#(account)", "currency": "BDT"}"#, key: key
                ) == 201)
        }
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
}
