import Dispatch
import Foundation
import JSONInput
import Ledger
import LedgerAccess
import LedgerCore
import Reconciliation

/// The clearing part of reconciliation, timed apart: the chains `ClearingAccounts` builds for
/// matched lines, posted through `LocalLedger` in batches of 1,000 legs as the job posts them,
/// into a fresh ledger in a scratch directory (durable writes included).
enum ClearingBench {
    struct Result {
        var lines: Int
        var legs: Int
        var seconds: Double
    }

    static func run(lines: Int, directory: String) async throws -> Result {
        let ledger = try Ledger.open(directory: directory + "/clearing-ledger", configuration: LedgerConfiguration())
        defer { ledger.close() }
        let access = LocalLedger(ledger: ledger)
        let accounts = ClearingAccounts()
        for key in [
            ClearingAccounts.clearingKey(provider: "bkash"), accounts.settlementBankKey, accounts.feeExpenseKey,
        ] {
            _ = try await access.openAccount(key: key, currency: .bdt)
        }
        // The same seeded amounts as the generated day: a payment and its contracted fee.
        var state: UInt64 = 0x5EED_0001
        let rule = FeeRule(basisPoints: 185)
        let chains = (0..<lines).map { index in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let gross = Int64((state >> 33) % 2_000_000) + 1_000
            let fee = rule.fee(onGrossMinor: gross)
            return accounts.transfers(
                provider: "bkash", providerTxnId: "T\(index)", kind: "payment", netMinor: gross - fee, feeMinor: fee,
                currency: .bdt)
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var legs = 0
        var batch: [TransferDraft] = []
        func flush() async throws {
            let results = try await access.submit(batch)
            guard results.allSatisfy({ $0.code == .ok }) else {
                throw CommandFailure("a clearing leg was refused: \(results.first { $0.code != .ok }!.code)")
            }
            legs += batch.count
            batch.removeAll(keepingCapacity: true)
        }
        for chain in chains {
            if batch.count + chain.count > 1_000 { try await flush() }
            batch += chain
        }
        if !batch.isEmpty { try await flush() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Result(lines: lines, legs: legs, seconds: seconds)
    }
}
