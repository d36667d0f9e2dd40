import Demo
import Foundation

/// The summary as a person reads it, and as `--json` prints it.
extension DemoSummary {
    struct Where {
        var root: String
        var data: String
        var settlements: String
        var settlementFiles: [String]
        var reportsFolder: String
        var reports: [String]
        var archive: String
        var apiKey: String
        var seed: UInt64
        var date: String
        var seconds: Double
    }

    static let providerNames = ["bkash": "bKash", "nagad": "Nagad", "sslcommerz": "SSLCommerz"]
    static let categoryOrder = [
        "matched", "amount_mismatch", "fee_mismatch", "missing_in_ledger", "missing_at_provider",
        "duplicate_settlement", "status_mismatch", "currency_mismatch", "late_settlement", "adjustment",
    ]

    func text(_ place: Where) -> String {
        let count = { (n: Int) in LedgerSession.grouped(n) }
        var out = "\nKhata demo: seed \(place.seed), \(count(reservations)) reservations on \(place.date) "
        out += "(Asia/Dhaka) and the night after, in \(String(format: "%.0f", place.seconds)) s\n\n"
        let confirmed = confirmedByWebhook + confirmedByRoute
        out += "Reservations   \(count(confirmed)) confirmed (\(count(confirmedByWebhook)) by signed webhook, "
        out += "\(count(confirmedByRoute)) by the confirm route),\n               "
        out += "\(count(states["cancelled"] ?? 0)) cancelled, "
        out += "\(count(states["expired"] ?? 0)) expired (\(count(paidAfterExpiry)) paid after their window), "
        out += "\(count(refunds)) refunded\n\n"
        let providers = ProviderFileWriter.providers
        let column = 16
        let labelWidth = 22
        func row(_ label: String, _ cells: [String]) -> String {
            "  " + label.padding(toLength: labelWidth, withPad: " ", startingAt: 0)
                + cells.map { String(repeating: " ", count: max(0, column - $0.count)) + $0 }.joined() + "\n"
        }
        func header(_ title: String) -> String {
            title.padding(toLength: labelWidth + 2, withPad: " ", startingAt: 0)
                + providers.map { name in
                    let title = Self.providerNames[name] ?? name
                    return String(repeating: " ", count: max(0, column - title.count)) + title
                }.joined() + "\n"
        }
        out += header("Money")
        let money = providers.map { self.money[$0] ?? Money() }
        out += row("held", money.map { Self.taka($0.held) })
        out += row("captured", money.map { Self.taka($0.captured) })
        out += row("refunded", money.map { Self.taka($0.refunded) })
        out += row("cleared", money.map { Self.taka($0.cleared) })
        out += row("still owed", money.map { Self.taka($0.owed) })
        out += "\n" + header("Reconciliation")
        for category in Self.categoryOrder
        where providers.contains(where: { reconciliation[$0]?[category] != nil }) {
            out += row(category, providers.map { count(reconciliation[$0]?[category]?.count ?? 0) })
        }
        out += row(
            "amount not matched",
            providers.map { provider in
                Self.taka(
                    (reconciliation[provider] ?? [:]).filter { $0.key != "matched" }.values.reduce(0) {
                        $0 + $1.amountMinor
                    })
            })
        out += "\nNotifications  "
        out += notifications.keys.sorted().map { channel in
            let states = notifications[channel] ?? [:]
            let parts = states.keys.sorted().map { "\(count(states[$0] ?? 0)) \($0)" }
            return "\(channel == "sms" ? "SMS" : channel): " + parts.joined(separator: ", ")
        }.joined(separator: "; ")
        out += ";\n               \(count(retriedMessages)) needed more than one attempt"
        out += " (the SMS provider refused \(count(smsRefusals)) requests)\n"
        out += "\nChecks\n"
        for check in checks {
            out += "  \(check.passed ? "✓" : "✗") \(check.name.padding(toLength: 14, withPad: " ", startingAt: 0))"
            out += check.detail + "\n"
        }
        out += "\nFiles\n"
        out += "  settlement files  \(Self.relative(place.settlements, place))/ (one per provider)\n"
        let names = place.reports.map { URL(fileURLWithPath: $0).lastPathComponent }
        out += "  reports           \(Self.relative(place.reportsFolder, place))/ (HTML and CSV of each run: "
        out += "\(names.first ?? "none")…)\n"
        if let archive {
            out += "  archive           \(Self.relative(place.archive, place))/ (\(archive.files) files, sequences "
            out += "\(archive.firstSequence) to \(archive.lastSequence), chain head \(archive.chainHead.prefix(16))…)\n"
        }
        out += "\nSee it: khata serve --data-dir \(Self.relative(place.data, place))\n"
        out += "  then open http://127.0.0.1:8080/ui/runs and sign in with the key \(place.apiKey)\n"
        return out
    }

    func json(_ place: Where) -> [String: Any] {
        var moneyObject: [String: Any] = [:]
        for (provider, money) in self.money {
            moneyObject[provider] = [
                "heldMinor": money.held, "capturedMinor": money.captured, "refundedMinor": money.refunded,
                "clearedMinor": money.cleared, "owedMinor": money.owed,
            ]
        }
        var reconciliationObject: [String: Any] = [:]
        for (provider, totals) in reconciliation {
            reconciliationObject[provider] = totals.mapValues { ["count": $0.count, "amountMinor": $0.amountMinor] }
        }
        var object: [String: Any] = [
            "ok": passed, "seed": place.seed, "date": place.date, "seconds": (place.seconds * 10).rounded() / 10,
            "reservations": [
                "count": reservations, "states": states, "confirmedByWebhook": confirmedByWebhook,
                "confirmedByRoute": confirmedByRoute, "paidAfterExpiry": paidAfterExpiry, "refunded": refunds,
            ],
            "money": moneyObject,
            "notifications": [
                "byChannel": notifications, "retried": retriedMessages, "smsRefusals": smsRefusals,
            ],
            "reconciliation": reconciliationObject,
            "faults": faults.map {
                [
                    "kind": $0.kind.rawValue, "provider": $0.provider, "providerTxnId": $0.providerTxnId,
                    "category": $0.category,
                ]
            },
            "checks": checks.map { ["name": $0.name, "passed": $0.passed, "detail": $0.detail] },
            "files": [
                "dataDirectory": place.data, "settlementFiles": place.settlementFiles, "reports": place.reports,
                "archive": place.archive,
            ],
            "serve": "khata serve --data-dir \(place.data)", "apiKey": place.apiKey,
        ]
        if let archive {
            object["archive"] = [
                "verified": true, "files": archive.files, "firstSequence": archive.firstSequence,
                "lastSequence": archive.lastSequence, "chainHead": archive.chainHead,
                "compressedBytes": archive.compressedBytes, "logBytes": archive.logBytes,
            ]
        }
        return object
    }

    /// `path` as the person who ran the demo would type it: relative to where they are when it is
    /// under it.
    static func relative(_ path: String, _ place: Where) -> String {
        let here = FileManager.default.currentDirectoryPath
        return path.hasPrefix(here + "/") ? String(path.dropFirst(here.count + 1)) : path
    }
}
