import Foundation
import TestSupport
import Testing

/// `khata expire` as a child process.
@Suite("khata expire")
struct ExpireCommandTests {
    @Test("runs the job: nothing due now; a --now past the windows selects the holds, which the ledger's clock keeps")
    func expireByHand() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let data = ["--data-dir", directory.path]
        for key in ["provider:bkash:clearing", "merchant:SVC-456"] {
            #expect(try KhataProcess.run(["accounts", "create", "--key", key] + data).status == 0)
        }
        for id in 1...3 {
            let made = try KhataProcess.run(
                [
                    "transfer", "--id", "\(id)", "--from", "provider:bkash:clearing", "--to", "merchant:SVC-456",
                    "--amount", "10", "--pending", "--timeout-seconds", "3600",
                ] + data)
            #expect(made.status == 0, "\(made.stderr)")
        }
        let now = try KhataProcess.run(["expire", "--json"] + data)
        #expect(now.status == 0, "\(now.stderr)")
        let idle = try JSONSerialization.jsonObject(with: Data(now.stdout.utf8)) as? [String: Any]
        #expect(idle?["due"] as? Int == 0 && idle?["expired"] as? Int == 0)
        // Two hours ahead: the index names all three, the ledger (on the wall clock) expires none.
        let later = Int(Date().timeIntervalSince1970) + 7_200
        let ahead = try KhataProcess.run(["expire", "--json", "--now", "\(later)", "--batch-size", "2"] + data)
        let outcome = try JSONSerialization.jsonObject(with: Data(ahead.stdout.utf8)) as? [String: Any]
        #expect(outcome?["due"] as? Int == 3 && outcome?["notYetDue"] as? Int == 3 && outcome?["expired"] as? Int == 0)
        #expect(outcome?["batches"] as? Int == 2)
        let bad = try KhataProcess.run(["expire", "--now", "next tuesday"] + data)
        #expect(bad.status != 0 && bad.stderr.contains("ISO 8601"))
    }
}

@Suite("khata bench expiry")
struct ExpiryBenchCommandTests {
    @Test("creates the holds, moves the clock past them, and expires every one")
    func smallRun() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let run = try KhataProcess.run(
            ["bench", "expiry", "--holds", "3000", "--accounts", "10", "--batch-size", "700", "--json"]
                + ["--dir", directory.path + "/bench"])
        #expect(run.status == 0, "\(run.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(result?["expired"] as? Int == 3_000 && result?["batches"] as? Int == 5)
    }
}
