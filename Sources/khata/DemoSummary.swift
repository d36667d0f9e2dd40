import Bookings
import Demo
import Foundation
import JobStore
import Ledger
import LedgerCore
import Reconciliation

/// What the demo's day and night came to, gathered from the ledger and the job store, and the
/// demo's own checks of it: every number the summary prints is one of these.
struct DemoSummary {
    struct Check {
        var name: String
        var passed: Bool
        var detail: String
    }

    /// Money per provider, in poisha.
    struct Money {
        var held: Int64 = 0
        var captured: Int64 = 0
        var refunded: Int64 = 0
        /// Settled lines cleared tonight: payments less refunds, gross.
        var cleared: Int64 = 0
        /// The clearing account's balance: what the provider still owes.
        var owed: Int64 = 0
    }

    var reservations = 0
    var states: [String: Int] = [:]
    var confirmedByWebhook = 0
    var confirmedByRoute = 0
    var paidAfterExpiry = 0
    var refunds = 0
    var money: [String: Money] = [:]
    var notifications: [String: [String: Int]] = [:]
    var retriedMessages = 0
    var smsRefusals = 0
    /// Per provider, per category: count and amount (poisha).
    var reconciliation: [String: [String: (count: Int, amountMinor: Int64)]] = [:]
    var faults: [InjectedFault] = []
    var checks: [Check] = []
    var archive: ArchiveFacts?

    struct ArchiveFacts {
        var files: Int
        var firstSequence: UInt64
        var lastSequence: UInt64
        var chainHead: String
        var compressedBytes: Int
        var logBytes: Int
    }

    var passed: Bool { checks.allSatisfy(\.passed) }

    /// The ledger's figures and the first checks: reservations ended as planned, debits equal
    /// credits, every clearing account equals what reconciliation says its provider owes.
    mutating func gather(
        plan: [PlannedReservation], states: [DemoPaymentState], earlierPlan: [PlannedReservation],
        earlier: [DemoPaymentState], ledger: Ledger,
        runs: [ReconciliationRun], database: JobDatabase
    ) async throws {
        reservations = plan.count
        var expected: [String: Int] = [:]
        for (reservation, state) in zip(plan, states) {
            self.states[state.state, default: 0] += 1
            let provider = reservation.provider.lowercased()
            var money = self.money[provider] ?? Money()
            switch state.state {
            case "pending": money.held += state.amountMinor
            case "captured": money.captured += state.amountMinor
            default: break
            }
            money.refunded += state.refunds.reduce(0) { $0 + $1.amountMinor }
            self.money[provider] = money
            if !state.refunds.isEmpty { refunds += 1 }
            switch reservation.outcome {
            case .confirmedByWebhook:
                confirmedByWebhook += 1
                expected["captured", default: 0] += 1
            case .confirmedByRoute:
                confirmedByRoute += 1
                expected["captured", default: 0] += 1
            case .cancelled: expected["cancelled", default: 0] += 1
            case .expired: expected["expired", default: 0] += 1
            case .paidAfterExpiry:
                paidAfterExpiry += 1
                expected["expired", default: 0] += 1
            }
        }
        let planned = plan.count { $0.refund != nil }
        checks.append(
            Check(
                name: "reservations",
                passed: expected == self.states && refunds == planned,
                detail: expected == self.states && refunds == planned
                    ? "every reservation ended as the day's plan had it, \(planned) refunded"
                    : "the ledger has \(self.states) and \(refunds) refunded; the plan said \(expected) and "
                        + "\(planned) refunded"))
        // Double entry: over every account, debits equal credits, posted and pending.
        let accounts = ledger.accounts
        let debits = accounts.reduce(UInt128(0)) { $0 + UInt128($1.debitsPosted) }
        let credits = accounts.reduce(UInt128(0)) { $0 + UInt128($1.creditsPosted) }
        let pendingDebits = accounts.reduce(UInt128(0)) { $0 + UInt128($1.debitsPending) }
        let pendingCredits = accounts.reduce(UInt128(0)) { $0 + UInt128($1.creditsPending) }
        checks.append(
            Check(
                name: "double entry", passed: debits == credits && pendingDebits == pendingCredits,
                detail:
                    "debits \(Self.taka(Int64(clamping: debits))) and credits \(Self.taka(Int64(clamping: credits))) "
                    + "posted over \(accounts.count) accounts; pending \(pendingDebits) and \(pendingCredits) poisha"))
        // Clearing: the account's balance against the payments reconciliation left in it.
        let mismatches = Mismatches(database: database)
        var disagreements: [String] = []
        for provider in ProviderFileWriter.providers {
            var money = self.money[provider] ?? Money()
            guard let account = ledger.account(key: ClearingAccounts.clearingKey(provider: provider)) else {
                disagreements.append("\(provider) has no clearing account")
                continue
            }
            let capturedEarlier = zip(earlierPlan, earlier).filter {
                $0.0.provider.lowercased() == provider && $0.1.state == "captured"
            }.reduce(Int64(0)) { $0 + $1.1.amountMinor }
            let capturedEver = money.captured + capturedEarlier
            money.owed = Int64(account.debitsPosted) - Int64(account.creditsPosted)
            // Credits are refunds and cleared payments; debits captures and cleared refunds.
            money.cleared =
                (Int64(account.creditsPosted) - money.refunded) - (Int64(account.debitsPosted) - capturedEver)
            self.money[provider] = money
            guard let run = runs.first(where: { $0.provider == provider }) else {
                disagreements.append("\(provider) has no reconciliation run")
                continue
            }
            var stillOwed: Int64 = 0
            for mismatch in try await mismatches.list(runId: run.id, limit: 100_000)
            where ClearingAccounts.heldInClearing.contains(mismatch.found.category)
                && mismatch.found.kind == "payment"
            {
                stillOwed += mismatch.found.ledgerMinor ?? 0
            }
            if run.carriedCount != 0 {
                disagreements.append("\(provider)'s run carried \(run.carriedCount) payments to later days")
            }
            if stillOwed != money.owed {
                disagreements.append(
                    "\(provider)'s clearing account holds \(Self.taka(money.owed)) but reconciliation leaves "
                        + "\(Self.taka(stillOwed)) open")
            }
        }
        checks.append(
            Check(
                name: "clearing", passed: disagreements.isEmpty,
                detail: disagreements.isEmpty
                    ? "each provider's clearing account equals the payments reconciliation left open"
                    : disagreements.joined(separator: "; ")))
    }

    /// Reconciliation's totals, and the check that every injected fault is found in its category
    /// and that nothing else is a mismatch but the earlier payments that never settled.
    mutating func reconcile(
        runs: [ReconciliationRun], faults: [InjectedFault], unsettledReferences: Set<String>, database: JobDatabase
    ) async throws {
        self.faults = faults
        let mismatches = Mismatches(database: database)
        var missing: [String] = []
        var unexpected: [String] = []
        for run in runs {
            for total in try await mismatches.totals(runId: run.id) {
                reconciliation[run.provider, default: [:]][total.category] = (total.count, total.amountMinor)
            }
            let found = try await mismatches.list(runId: run.id, limit: 100_000).map(\.found)
            let mine = faults.filter { $0.provider == run.provider }
            for fault in mine
            where !found.contains(where: {
                $0.category.rawValue == fault.category && $0.providerTxnId == fault.providerTxnId
            }) {
                missing.append("\(run.provider) \(fault.kind.rawValue) \(fault.providerTxnId) not in \(fault.category)")
            }
            for item in found {
                let injected = mine.contains {
                    $0.category == item.category.rawValue && $0.providerTxnId == item.providerTxnId
                }
                let expectedMissing =
                    item.category.rawValue == "missing_at_provider"
                    && unsettledReferences.contains(item.ourReference ?? "")
                if !injected && !expectedMissing {
                    unexpected.append("\(run.provider) \(item.category.rawValue): \(item.detail)")
                }
            }
        }
        if runs.count != ProviderFileWriter.providers.count {
            missing.append("\(runs.count) reconciliation runs, not one per provider")
        }
        checks.append(
            Check(
                name: "faults", passed: missing.isEmpty && unexpected.isEmpty,
                detail: missing.isEmpty && unexpected.isEmpty
                    ? "all \(faults.count) injected faults found in their categories, and no other mismatch"
                    : (missing + unexpected.prefix(5)).joined(separator: "; ")))
    }

    /// The messages' end states per channel, and the check that none is left unfinished.
    mutating func notifications(database: JobDatabase, sms: DemoSMSProvider) async throws {
        let queue = NotificationQueue(database: database)
        var before: Int64?
        var unfinished = 0
        while true {
            let page = try await queue.deliveries(state: nil, customerId: nil, before: before, limit: 1_000)
            for delivery in page {
                notifications[delivery.message.channel.rawValue, default: [:]][delivery.state.rawValue, default: 0] += 1
                if delivery.attemptCount > 1 { retriedMessages += 1 }
                if [.pending, .sending, .accepted].contains(delivery.state) { unfinished += 1 }
            }
            guard page.count == 1_000, let last = page.last else { break }
            before = last.id
        }
        smsRefusals = sms.refusals
        let total = notifications.values.reduce(0) { $0 + $1.values.reduce(0, +) }
        checks.append(
            Check(
                name: "notifications", passed: unfinished == 0 && total > 0,
                detail: unfinished == 0
                    ? "all \(LedgerSession.grouped(total)) messages reached an end state"
                    : "\(unfinished) of \(LedgerSession.grouped(total)) messages are still pending, sending or "
                        + "awaiting a report"
            ))
    }

    /// `৳1,234.50` from poisha.
    static func taka(_ minor: Int64) -> String {
        (minor < 0 ? "−৳" : "৳") + Amount(minorUnits: minor.magnitude).formatted(.bdt)
    }
}
