import Foundation
import TestSupport
import Testing

/// `khata export`, `verify`, `restore` and `archive keygen|list` through the real binary: their
/// output, exit statuses and refusals.
@Suite("khata export, verify, restore")
struct ArchiveCommandTests {
    /// The binary, run off the cooperative pool (it waits for the child to exit).
    static func khata(_ arguments: [String]) async throws -> KhataProcess.Outcome {
        try await offThePool { try KhataProcess.run(arguments) }
    }

    /// A scratch folder whose `data` holds a ledger debug-ledger wrote (100 batches) and an
    /// archive signing key.
    static func signedLedger(_ name: String) async throws -> TemporaryDirectory {
        let root = TemporaryDirectory(name)
        let data = root.path + "/data"
        let made = try await khata(["debug-ledger", "--data-dir", data, "--batches", "100", "--submitters", "1"])
        try #require(made.status == 0, "debug-ledger: \(made.stderr)")
        try #require(try await khata(["archive", "keygen", "--data-dir", data]).status == 0)
        return root
    }

    static func json(_ text: String) throws -> [String: Any] {
        let line = try #require(text.split(separator: "\n").last)
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("a ledger exported, verified, listed and restored by the commands, damage and refusals included")
    func commands() async throws {
        let root = TemporaryDirectory("khata-archive-commands")
        defer { root.remove() }
        let data = root.path + "/data"
        let archive = root.path + "/archive"
        let made = try await Self.khata(["debug-ledger", "--data-dir", data, "--batches", "300", "--submitters", "2"])
        try #require(made.status == 0, "debug-ledger: \(made.stderr)")

        let unsigned = try await Self.khata(["export", "--data-dir", data, "--out", archive])
        #expect(unsigned.status != 0)
        #expect(unsigned.stderr.contains("khata archive keygen"), "\(unsigned.stderr)")

        let keygen = try await Self.khata(["archive", "keygen", "--data-dir", data])
        try #require(keygen.status == 0, "\(keygen.stderr)")
        let keyLine = try #require(keygen.stdout.split(separator: "\n").first { $0.hasPrefix("public key") })
        let publicKey = String(try #require(keyLine.split(separator: " ").last))
        #expect(publicKey.count == 64)
        let again = try await Self.khata(["archive", "keygen", "--data-dir", data])
        #expect(again.status != 0 && again.stderr.contains("never overwritten"))

        let inside = try await Self.khata(["export", "--data-dir", data, "--out", data + "/archive"])
        #expect(inside.status != 0 && inside.stderr.contains("inside the data directory"), "\(inside.stderr)")

        for (arguments, message) in [
            (["--level", "20"], "--level must be 1...19"), (["--level", "0"], "--level must be 1...19"),
            (["--from-seq", "0"], "--from-seq starts at 1"),
            (["--from-seq", "9", "--to-seq", "8"], "before --from-seq"),
            (["--from-seq", "1e3"], "1e3"), (["--from-seq", "-1"], "--from-seq"),
        ] {
            let refused = try await Self.khata(["export", "--data-dir", data, "--out", archive] + arguments)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: archive), "a refused export wrote nothing")
        let badKey = try await Self.khata(["verify", root.path, "--public-key", "abcd"])
        #expect(badKey.status != 0 && badKey.stderr.contains("neither 64 hex digits nor a readable PEM file"))

        let exported = try await Self.khata(["export", "--data-dir", data, "--out", archive, "--json"])
        try #require(exported.status == 0, "\(exported.stderr)")
        let export = try Self.json(exported.stdout)
        #expect(export["exported"] as? Bool == true)
        let chainHead = try #require(export["chain_head"] as? String)
        let text = try await Self.khata(["export", "--data-dir", data, "--out", archive])
        #expect(text.status == 0 && text.stdout.contains("nothing new"), "\(text.stdout)")

        let verified = try await Self.khata(["verify", archive, "--public-key", publicKey, "--json"])
        try #require(verified.status == 0, "\(verified.stderr)")
        let check = try Self.json(verified.stdout)
        #expect(check["chain_head"] as? String == chainHead)
        #expect(check["trusted_key_checked"] as? Bool == true)
        let wrongChain = try await Self.khata(["verify", archive, "--expect-chain", String(repeating: "0", count: 64)])
        #expect(wrongChain.status == 1 && wrongChain.stderr.contains("DAMAGED"))

        let listed = try await Self.khata(["archive", "list", archive, "--json"])
        try #require(listed.status == 0, "\(listed.stderr)")
        let entry = try Self.json(listed.stdout)
        #expect(entry["chain_head"] as? String == chainHead)
        #expect(entry["last_verified"] as? String != "never")

        let restoredDir = root.path + "/restored"
        let restored = try await Self.khata(["restore", archive, "--data-dir", restoredDir, "--json"])
        try #require(restored.status == 0, "\(restored.stderr)")
        #expect(try Self.json(restored.stdout)["check_chain"] as? String == chainHead)
        let checked = try await Self.khata(["check", "--data-dir", restoredDir, "--json", "--balances"])
        let restoredCheck = try Self.json(checked.stdout)
        #expect(restoredCheck["chain"] as? String == chainHead)
        let originalCheck = try Self.json(
            try await Self.khata(["check", "--data-dir", data, "--json", "--balances"]).stdout)
        let digest = try #require(originalCheck["balances_digest"] as? String)
        #expect(digest.count == 64 && restoredCheck["balances_digest"] as? String == digest, "balances: digest equal")
        #expect((restoredCheck["accounts"] as? Int ?? 0) > 0)
        let twice = try await Self.khata(["restore", archive, "--data-dir", restoredDir])
        #expect(twice.status == 2 && twice.stderr.contains("REFUSED") && twice.stderr.contains("not empty"))

        // A flipped byte in a log file: exit 1, the file named.
        let folder = try #require(
            try FileManager.default.contentsOfDirectory(atPath: archive).first { $0.hasPrefix("khata-") })
        let file = try #require(
            try FileManager.default.contentsOfDirectory(atPath: archive + "/" + folder).first { $0.hasPrefix("log-") })
        let path = archive + "/" + folder + "/" + file
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        let damaged = try await Self.khata(["verify", archive])
        #expect(damaged.status == 1)
        #expect(damaged.stderr.contains("DAMAGED") && damaged.stderr.contains(file), "\(damaged.stderr)")
        let refused = try await Self.khata(["restore", archive, "--data-dir", root.path + "/other"])
        #expect(refused.status == 1)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/other/ledger"))
    }

    @Test("the export-archive job: offered once archive.folder is set, exports incrementally, then finds nothing new")
    func nightlyJob() async throws {
        let root = TemporaryDirectory("khata-archive-job")
        defer { root.remove() }
        let data = root.path + "/data"
        let archive = root.path + "/archive"
        let made = try await Self.khata(["debug-ledger", "--data-dir", data, "--batches", "200", "--submitters", "2"])
        try #require(made.status == 0, "debug-ledger: \(made.stderr)")
        let unset = try await Self.khata(["jobs", "run", "export-archive", "--data-dir", data])
        #expect(unset.status != 0 && unset.stderr.contains("archive.folder"), "\(unset.stderr)")
        try #require(try await Self.khata(["archive", "keygen", "--data-dir", data]).status == 0)

        let environment = ["KHATA_ARCHIVE_FOLDER": archive]
        func khata(_ arguments: [String]) async throws -> KhataProcess.Outcome {
            try await offThePool { try KhataProcess.run(arguments + ["--data-dir", data], environment: environment) }
        }
        let list = try await khata(["jobs", "list", "--json"])
        #expect(list.status == 0 && list.stdout.contains(#""job":"export-archive""#), "\(list.stdout)")
        #expect(list.stdout.contains(#""schedule":"30 3 * * *""#))
        let first = try await khata(["jobs", "run", "export-archive", "--json"])
        try #require(first.status == 0, "\(first.stderr)")
        let run = try Self.json(first.stdout)
        #expect(run["outcome"] as? String == "succeeded")
        #expect((run["read"] as? Int ?? 0) > 0 && run["written"] as? Int == 2, "\(first.stdout)")
        let again = try Self.json(try await khata(["jobs", "run", "export-archive", "--json"]).stdout)
        #expect(again["outcome"] as? String == "succeeded" && again["read"] as? Int == 0, "\(again)")

        let verified = try await Self.khata(["verify", archive, "--json"])
        try #require(verified.status == 0, "\(verified.stderr)")
        let check = try Self.json(verified.stdout)
        #expect(check["exports"] as? Int == 1 && (check["finance_lines"] as? Int ?? 0) >= 1, "\(check)")
    }

    @Test("archive statement: text, CSV for Excel and JSON, with the ledger's balances; refusals named")
    func statement() async throws {
        let root = try await Self.signedLedger("khata-archive-statement")
        defer { root.remove() }
        let data = root.path + "/data"
        let archive = root.path + "/archive"
        let exported = try await Self.khata(["export", "--data-dir", data, "--out", archive])
        try #require(exported.status == 0, "\(exported.stderr)")
        let period = ["--from", "2020-01-01", "--to", "2099-12-31"]
        let statement = ["archive", "statement", archive, "--account", "crash:1"] + period

        let shown = try await Self.khata(["accounts", "show", "crash:1", "--json", "--data-dir", data])
        let account = try Self.json(shown.stdout)
        let json = try await Self.khata(statement + ["--format", "json"])
        try #require(json.status == 0, "\(json.stderr)")
        let document = try Self.json(json.stdout)
        #expect(document["complete"] as? Bool == true && document["currency"] as? String == "BDT")
        let entries = try #require(document["entries"] as? [[String: Any]])
        #expect(entries.count > 10)
        let closing = try #require(document["closing"] as? [String: Any])
        let opening = try #require(document["opening"] as? [String: Any])
        #expect(opening["posted"] as? String == "0.00")
        for (ours, theirs) in [
            ("debits_posted_minor", "debitsPosted"), ("credits_posted_minor", "creditsPosted"),
            ("debits_pending_minor", "debitsPending"), ("credits_pending_minor", "creditsPending"),
        ] {
            let minor = try #require(closing[ours] as? Int)
            let text = try #require(account[theirs] as? String, "\(theirs) in \(account)")
            #expect(String(format: "%d.%02d", minor / 100, minor % 100) == text, "\(ours)")
        }
        #expect(
            (entries.last?["balances_after"] as? [String: Any])?["posted"] as? String == closing["posted"] as? String)

        let csv = try await Self.khata(statement + ["--format", "csv"])
        try #require(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout.hasPrefix("\u{FEFF}time (Asia/Dhaka),sequence,kind,transfer,hold,counterparty"))
        let rows = csv.stdout.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        #expect(rows.count == entries.count + 4, "header, opening, entries, closing, a note")
        #expect(rows[1].hasPrefix("opening balance,") && rows[rows.count - 2].hasPrefix("closing balance,"))
        #expect(rows.last?.contains("before the period does") == true, "the archive ends before 2099")

        let text = try await Self.khata(statement)
        #expect(text.status == 0 && text.stdout.contains("opening balance: 0.00 posted"), "\(text.stdout)")
        #expect(text.stdout.contains("\(entries.count) entries") && text.stdout.contains("closing balance:"))

        for (arguments, message) in [
            (["--account", "crash:none"] + period, "holds no account with key crash:none"),
            (
                ["--account", "crash:1", "--from", "2026-02-30", "--to", "2026-03-01"],
                "--from \"2026-02-30\" is not a date"
            ),
            (["--account", "crash:1", "--from", "2026-03-02", "--to", "2026-03-01"], "is before --from"),
            (["--account", "crash:1", "--format", "xml"] + period, "xml"),
        ] {
            let refused = try await Self.khata(["archive", "statement", archive] + arguments)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
    }

    @Test("progress bars on a terminal for export, verify and restore; plain logs and no bar without one")
    func progressBars() async throws {
        let root = try await Self.signedLedger("khata-archive-progress")
        defer { root.remove() }
        let data = root.path + "/data"
        let archive = root.path + "/archive"
        // `script` gives the child a terminal and copies what it draws to standard output.
        let terminal = ["/bin/sh", "-c", "exec /usr/bin/script -qefc \"$*\" /dev/null", "sh"]
        func onTerminal(_ arguments: [String]) async throws -> KhataProcess.Outcome {
            // Bars show for work of 8 MiB or more; this archive is smaller.
            try await offThePool {
                try KhataProcess.run(arguments, environment: ["KHATA_PROGRESS": "always"], prefix: terminal)
            }
        }
        for (arguments, stage) in [
            (["export", "--data-dir", data, "--out", archive], "exporting ledger log ["),
            (["verify", archive], "verifying archive ["),
            (["restore", archive, "--data-dir", root.path + "/restored"], "restoring segments ["),
        ] {
            let drawn = try await onTerminal(arguments)
            #expect(drawn.status == 0, "\(arguments[0]): \(drawn.stdout)")
            #expect(drawn.stdout.contains(stage), "\(arguments[0]) draws its bar: \(drawn.stdout)")
            #expect(drawn.stdout.contains("] 100%"), "\(arguments[0]) reaches the end")
        }
        // Without a terminal: no bar, and the log says what happened as JSON lines.
        let plain = try await offThePool {
            try KhataProcess.run(
                ["export", "--data-dir", data, "--out", root.path + "/second"],
                environment: ["KHATA_PROGRESS": "always"])
        }
        #expect(plain.status == 0 && !plain.stderr.contains("\r") && !plain.stderr.contains("[#"))
        #expect(plain.stderr.contains(#""message":"exported""#), "\(plain.stderr)")
    }
}
