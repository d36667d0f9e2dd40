import Foundation
import TestSupport
import Testing

/// `khata demo` through the real binary, small: its JSON summary, checked here again from the
/// outside, and its refusals.
@Suite("khata demo")
struct DemoCommandTests {
    static func khata(_ arguments: [String]) async throws -> KhataProcess.Outcome {
        try await offThePool { try KhataProcess.run(arguments) }
    }

    @Test("--reservations takes 200 to 100,000: one past either end, a float, an exponent are refused, nothing made")
    func limits() async throws {
        let root = TemporaryDirectory("khata-demo-limits")
        defer { root.remove() }
        let folder = root.path + "/demo"
        for value in ["199", "100001", "1e3", "500.5", "-5"] {
            let refused = try await Self.khata(["demo", "--data-dir", folder, "--reservations", value])
            #expect(refused.status != 0, "\(value)")
            #expect(refused.stderr.contains("--reservations"), "\(value): \(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder), "\(value) made the folder")
        }
        let badLevel = try await Self.khata(["demo", "--data-dir", folder, "--log-level", "loud"])
        #expect(badLevel.status != 0 && badLevel.stderr.contains("--log-level"), "\(badLevel.stderr)")
    }

    @Test("a small day and its night: every injected fault in its category, balances consistent, archive verified")
    func smallDay() async throws {
        let root = TemporaryDirectory("khata-demo-test")
        defer { root.remove() }
        let folder = root.path + "/demo"
        let outcome = try await Self.khata([
            "demo", "--data-dir", folder, "--reservations", "300", "--seed", "7", "--json",
        ])
        try #require(outcome.status == 0, "demo: \(outcome.stderr.suffix(2_000)) \(outcome.stdout.suffix(2_000))")
        let lines = outcome.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        // One line per phase, then the summary.
        let phases = lines.compactMap { $0["phase"] as? String }
        #expect(phases == ["setup", "day", "settlement files", "night jobs", "reports and archive", "checks"])
        let summary = try #require(lines.last?["summary"] as? [String: Any])
        #expect(summary["ok"] as? Bool == true)
        let checks = try #require(summary["checks"] as? [[String: Any]])
        #expect(
            Set(checks.compactMap { $0["name"] as? String })
                == ["reservations", "double entry", "clearing", "faults", "notifications", "archive"])
        for check in checks { #expect(check["passed"] as? Bool == true, "\(check)") }

        // Every kind of fault was injected, and each provider's run counts at least the faults
        // injected in each category.
        let faults = try #require(summary["faults"] as? [[String: String]])
        let kinds = Set(faults.compactMap { $0["kind"] })
        #expect(
            kinds == [
                "late line", "fee charged wrong", "amount off by a poisha", "duplicated line",
                "payment the ledger never saw", "payment after its hold expired",
            ])
        let reconciliation = try #require(summary["reconciliation"] as? [String: [String: [String: Any]]])
        for provider in ["bkash", "nagad", "sslcommerz"] {
            let totals = try #require(reconciliation[provider], "no run for \(provider)")
            #expect((totals["matched"]?["count"] as? Int ?? 0) > 50)
            let injected = Dictionary(grouping: faults.filter { $0["provider"] == provider }) { $0["category"] ?? "" }
            for (category, list) in injected {
                #expect((totals[category]?["count"] as? Int ?? 0) >= list.count, "\(provider) \(category)")
            }
        }

        // Money adds up per provider: what was captured, less refunds and what was cleared, is
        // what is still owed, give or take the payments of three days before.
        let money = try #require(summary["money"] as? [String: [String: Int]])
        for (provider, figures) in money {
            let captured = figures["capturedMinor"] ?? 0
            let owed = figures["owedMinor"] ?? -1
            #expect(figures["heldMinor"] == 0, "\(provider)")
            #expect(owed >= 0 && owed < captured, "\(provider): \(figures)")
            #expect((figures["clearedMinor"] ?? 0) > captured / 2, "\(provider): \(figures)")
        }
        let reservations = try #require(summary["reservations"] as? [String: Any])
        let states = try #require(reservations["states"] as? [String: Int])
        #expect(states.values.reduce(0, +) == 300)
        #expect(Set(states.keys) == ["captured", "cancelled", "expired"])

        // What it made stands on its own: the archive verifies and the data directory checks.
        let archive = folder + "/archive"
        let verified = try await Self.khata(["verify", archive])
        #expect(verified.status == 0, "\(verified.stderr)")
        let checked = try await Self.khata(["check", "--data-dir", folder + "/data"])
        #expect(checked.status == 0, "\(checked.stderr)")
        let reports = try FileManager.default.contentsOfDirectory(atPath: folder + "/reports").sorted()
        #expect(reports.count == 6 && reports.contains("bkash-2026-11-26.html"), "\(reports)")

        // A second demo into the same folder is refused, saying why and what to do.
        let again = try await Self.khata(["demo", "--data-dir", folder, "--reservations", "300"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("is not empty") && again.stderr.contains("--reuse"), "\(again.stderr)")
        // --reuse replaces an earlier demo's folder; and the checks catch a disagreement: a
        // stray transfer out of bKash's clearing account after the night fails the clearing
        // check, named, with exit 1.
        let drill = try await Self.khata([
            "demo", "--data-dir", folder, "--reuse", "--reservations", "200", "--seed", "8", "--stray-transfer",
        ])
        #expect(drill.status == 1, "\(drill.stderr.suffix(2_000))")
        #expect(drill.stderr.contains("clearing: bkash's clearing account holds"), "\(drill.stderr.suffix(2_000))")
        #expect(drill.stdout.contains("✗ clearing") && drill.stdout.contains("✓ faults"), "\(drill.stdout)")
        // --reuse never empties a folder the demo did not make.
        let other = root.path + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: other + "/precious.txt"))
        let refused = try await Self.khata(["demo", "--data-dir", other, "--reuse", "--reservations", "300"])
        #expect(refused.status != 0 && refused.stderr.contains("not made by khata demo"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: other + "/precious.txt"))
    }
}
