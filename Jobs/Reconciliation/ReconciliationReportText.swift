import Foundation
import JobStore
import LedgerCore

extension ReconciliationReport {
    /// The currency the providers settle in; totals in any other are listed apart.
    static let settlementCurrency = "BDT"

    /// The run as one JSON object: `id`, `provider`, `date`, `totals` (every category with its
    /// `count` and `amount`, in major units of BDT, and `otherCurrencies` where items were in
    /// another), and `items`, one per line or payment that is not matched.
    public var json: String {
        var totalsObject: [String: Any] = [:]
        for category in ReconciliationCategory.allCases {
            let rows = totals.filter { $0.category == category.rawValue }
            let home = rows.first { $0.currency == Self.settlementCurrency }
            var entry: [String: Any] = [
                "count": rows.reduce(0) { $0 + $1.count },
                "amount": ReconciliationMatcher.major(home?.amountMinor ?? 0, Self.settlementCurrency),
            ]
            let others = rows.filter { $0.currency != Self.settlementCurrency }
            if !others.isEmpty {
                entry["otherCurrencies"] = Dictionary(
                    uniqueKeysWithValues: others.map {
                        (
                            $0.currency,
                            ["count": $0.count, "amount": ReconciliationMatcher.major($0.amountMinor, $0.currency)]
                        )
                    })
            }
            totalsObject[category.rawValue] = entry
        }
        let object: [String: Any] = [
            "id": run.id, "provider": run.provider, "date": run.settlementDate, "runBy": run.runBy,
            "startedAt": run.startedAt, "endedAt": run.endedAt ?? "", "outcome": run.outcome,
            "inputFiles": run.inputFiles, "linesRead": run.linesRead, "carried": run.carriedCount,
            "clearedTransfers": clearedTransfers, "alreadyCleared": alreadyCleared, "resolved": run.resolvedCount,
            "totals": totalsObject, "items": items.map(itemObject),
        ]
        // Safe: strings, integers, arrays and objects of them always serialise.
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private func itemObject(_ item: ReconciliationItem) -> [String: Any] {
        var object: [String: Any] = [
            "category": item.category.rawValue, "provider": item.provider, "kind": item.kind,
            "currency": item.currency,
            "fields": item.fields.map { ["name": $0.name, "ledger": $0.ledger, "provider": $0.provider] },
        ]
        object["providerTxnId"] = item.providerTxnId
        object["paymentReference"] = item.paymentReference
        object["ledgerTransferId"] = item.ledgerTransferId
        if let line = item.line { object["line"] = ["fileId": line.fileId, "line": line.line] }
        for (key, minor) in [
            ("ledgerAmount", item.ledgerAmountMinor), ("providerAmount", item.providerAmountMinor),
            ("fee", item.feeMinor), ("net", item.netMinor), ("contractedFee", item.contractedFeeMinor),
        ] {
            if let minor { object[key] = ReconciliationMatcher.major(minor, item.currency) }
        }
        if let id = mismatchIds[ReconciliationJob.identity(of: item)] { object["mismatchId"] = id }
        return object
    }

    /// A short summary for people: the counts and amounts per category, then the items.
    public var text: String {
        var lines = [
            "reconciliation run \(run.id): \(run.provider) \(run.settlementDate), \(run.linesRead) lines read, "
                + "\(run.carriedCount) payments carried to later days, \(clearedTransfers) clearing transfers posted"
                + (alreadyCleared > 0 ? " (\(alreadyCleared) posted already)" : "")
                + (run.resolvedCount > 0 ? ", \(run.resolvedCount) earlier mismatches resolved" : "")
        ]
        for total in totals {
            lines.append(
                "  \(total.category.padding(toLength: 22, withPad: " ", startingAt: 0)) \(total.count) "
                    + "\(ReconciliationMatcher.major(total.amountMinor, total.currency)) \(total.currency)")
        }
        for item in items {
            let what = item.providerTxnId ?? item.paymentReference ?? ""
            let detail = ReconciliationJob.detail(of: item, line: nil)
            lines.append("  \(item.category.rawValue) \(what): \(detail)")
        }
        return lines.joined(separator: "\n")
    }
}
