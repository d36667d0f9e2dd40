import Bookings
import JSONInput
import JobStore
import KhataCrypto
import LedgerAccess
import LedgerCore
import Scheduler

/// How reconciliation judges and clears: the contracted fees, the late window, the accounts.
public struct ReconciliationSettings: Sendable {
    public var fees: FeeSchedule
    /// A line settling more than this many days after the Asia/Dhaka date of the capture is
    /// late; a capture unsettled for longer is missing at the provider.
    public var lateWindowDays: Int
    public var accounts: ClearingAccounts

    public static let defaultLateWindowDays = 2
    public static let lateWindowRange = 0...60

    public init(
        fees: FeeSchedule = FeeSchedule(), lateWindowDays: Int = defaultLateWindowDays,
        accounts: ClearingAccounts = ClearingAccounts()
    ) {
        self.fees = fees
        self.lateWindowDays = lateWindowDays
        self.accounts = accounts
    }
}

/// What one run did: the run as recorded, its totals, and every item that is not matched.
public struct ReconciliationReport: Sendable {
    public var run: ReconciliationRun
    public var totals: [ReconciliationTotal]
    /// Items that are not matched, in the order found (lines first, then payments).
    public var items: [ReconciliationItem]
    /// The stored mismatch of each item, by its identity.
    public var mismatchIds: [String: Int64]
    /// Clearing legs posted by this run, and those already posted by an earlier one.
    public var clearedTransfers: Int
    public var alreadyCleared: Int
}

/// Why a run could not run (nothing about what it found: that is its report).
public struct ReconciliationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A reconciliation run of one provider and settlement date: reads the day's settlement lines
/// and the reservations they name from the job store, the payments from the ledger (wherever it
/// runs), matches them, clears the matched lines in the ledger, and keeps the run and its
/// mismatches. Running it again changes nothing and reports the same.
public struct ReconciliationJob: Sendable {
    public let database: JobDatabase
    public let ledger: any LedgerAccess
    public let settings: ReconciliationSettings

    public init(database: JobDatabase, ledger: any LedgerAccess, settings: ReconciliationSettings) {
        self.database = database
        self.ledger = ledger
        self.settings = settings
    }

    /// The providers reconciled, as lines name them.
    public static let providers = ["bkash", "nagad", "sslcommerz"]

    /// Runs one reconciliation; `runBy` is who asked (an API key's name, `cli`, `scheduler`),
    /// `now` nanoseconds since the Unix epoch (the time that decides whether a hold's window has
    /// closed, and the run's times).
    public func run(
        provider: String, date: CivilDate, runBy: String, jobRunId: Int64? = nil, now: UInt64
    ) async throws -> ReconciliationReport {
        guard Self.providers.contains(provider) else {
            throw ReconciliationError(
                "unknown provider \"\(provider)\": one of \(Self.providers.joined(separator: ", "))")
        }
        let window = settings.lateWindowDays
        // Payments captured on `firstCaptureDate` are the last whose window this run closes;
        // a capture happens at most a day after its reservation is made.
        let firstCaptureDate = CivilDate(daysSinceEpoch: date.daysSinceEpoch - window - 1)
        let input = try await SettlementLines(database: database).reconciliationInput(
            provider: provider, settlementDate: date.description,
            reservedFrom: Self.dhakaStart(of: CivilDate(daysSinceEpoch: firstCaptureDate.daysSinceEpoch - 1)),
            reservedBefore: Self.dhakaStart(of: CivilDate(daysSinceEpoch: date.daysSinceEpoch + 1)))
        let store = Mismatches(database: database)
        // Reviewers' postings the ledger could not take when they were made go in first.
        try await MismatchReviewer(database: database, ledger: ledger, accounts: settings.accounts).postPending()
        let runId = try await store.startRun(
            provider: provider, settlementDate: date.description, windowStart: firstCaptureDate.description,
            windowEnd: date.description, inputSHA256: Self.inputHash(input.files), inputFiles: input.files.map(\.id),
            runBy: runBy, jobRunId: jobRunId, at: now)
        do {
            let payments = try await payments(of: input, at: now)
            let awaiting = input.awaitingSettlement.filter { reference in
                guard let captured = payments[reference]?.capturedDhakaDate else { return false }
                return captured >= firstCaptureDate && captured <= date
            }
            let matcher = ReconciliationMatcher(fees: settings.fees, lateWindowDays: window)
            let stored = input.lines.map { StoredSettlementLine(key: $0.key, line: $0.line) }
            let (items, carried) = matcher.reconcile(
                provider: provider, date: date, lines: stored, payments: payments, unsettled: awaiting)
            let linesByKey = Dictionary(uniqueKeysWithValues: input.lines.map { ($0.key, $0.line) })
            let settledByPeople = try await store.settledByReviewers(
                identities: items.compactMap { item in
                    item.category == .matched ? item.providerTxnId.map { "\(provider):txn:\($0)" } : nil
                })
            let (posted, existed) = try await clear(
                items, lines: linesByKey, provider: provider, skipping: settledByPeople)
            let findings = Self.findings(
                items, lines: linesByKey, provider: provider, date: date, run: runId, carried: carried,
                cleared: posted)
            let recorded = try await store.finishRun(id: runId, provider: provider, findings: findings, at: now)
            // Safe: the run was recorded above.
            let run = try await store.run(id: runId)!
            return ReconciliationReport(
                run: run, totals: findings.totals, items: items.filter { $0.category != .matched },
                mismatchIds: recorded.mismatchIds, clearedTransfers: posted, alreadyCleared: existed)
        } catch {
            try? await store.failRun(id: runId, error: "\(error)", at: now)
            throw error
        }
    }

    // MARK: The ledger

    /// The ledger's payments of every reservation the input names, by payment reference.
    private func payments(of input: ReconciliationInput, at now: UInt64) async throws -> [String: LedgerPayment] {
        let records = input.reservations.values.sorted { $0.paymentReference < $1.paymentReference }
        // Refunds are listed only for the payments a refund line names: finding them walks history.
        var refunded: Set<String> = []
        for (_, line) in input.lines where line.kind == "refund" {
            if let record = input.reservations[line.ourReference] { refunded.insert(record.bookingId) }
        }
        var payments: [String: LedgerPayment] = [:]
        payments.reserveCapacity(records.count)
        var start = 0
        while start < records.count {
            let chunk = records[start..<min(start + ledger.maximumPaymentLookups, records.count)]
            let states = try await ledger.payments(bookingIds: chunk.map(\.bookingId), refundsFor: refunded, at: now)
            for (record, state) in zip(chunk, states) {
                guard let state else { continue }
                payments[record.paymentReference] = LedgerPayment(
                    provider: record.provider.lowercased(), paymentReference: record.paymentReference,
                    transferId: String(state.holdId), amountMinor: Int64(state.amountMinor), currency: record.currency,
                    state: LedgerPayment.State(rawValue: state.state.rawValue) ?? .pending,
                    capturedAtNanoseconds: state.capturedAtNanoseconds.map { Int64($0) },
                    refunds: state.refunds.map {
                        LedgerRefund(
                            transferId: String($0.id), amountMinor: Int64($0.amountMinor),
                            atNanoseconds: Int64($0.atNanoseconds))
                    })
            }
            start += chunk.count
        }
        return payments
    }

    /// Posts the clearing transfers of the matched settled lines; answers the legs posted now
    /// and those an earlier run had posted. A leg the ledger refuses stops the run with why.
    /// A line whose mismatch a reviewer resolved with money (`skipping`, by transaction id) was
    /// cleared then, and is not cleared again when a later run finds it matched.
    private func clear(
        _ items: [ReconciliationItem], lines: [SettlementLineKey: SettlementLine], provider: String,
        skipping settledByPeople: Set<String>
    ) async throws -> (posted: Int, existed: Int) {
        var chains: [[TransferDraft]] = []
        var currencies: Set<String> = []
        for item in items where item.category == .matched && item.ledgerTransferId != nil {
            guard let key = item.line, let line = lines[key], line.status == "settled",
                !settledByPeople.contains("\(provider):txn:\(line.providerTxnId)"),
                line.kind == "payment" || line.kind == "refund", let currency = Currency(code: line.currency)
            else { continue }
            let chain = settings.accounts.transfers(
                provider: provider, providerTxnId: line.providerTxnId, kind: line.kind, netMinor: line.netMinor,
                feeMinor: line.feeMinor, currency: currency)
            if !chain.isEmpty {
                chains.append(chain)
                currencies.insert(line.currency)
            }
        }
        guard !chains.isEmpty else { return (0, 0) }
        for code in currencies.sorted() {
            // Safe: the codes were parsed above.
            let currency = Currency(code: code)!
            for key in [
                ClearingAccounts.clearingKey(provider: provider), settings.accounts.settlementBankKey,
                settings.accounts.feeExpenseKey,
            ] {
                _ = try await ledger.openAccount(key: key, currency: currency)
            }
        }
        var posted = 0
        var existed = 0
        var batch: [TransferDraft] = []
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let results = try await ledger.submit(batch)
            for (draft, result) in zip(batch, results) {
                switch result.code {
                case .ok: posted += 1
                case .exists: existed += 1
                default:
                    throw ReconciliationError(
                        "the clearing transfer \(draft.id) (\(draft.amount?.field ?? "")) was refused: \(result.code)")
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        // A thousand legs make a request body of about 200 KB, well within the API's 1 MiB limit.
        let batchLimit = min(ledger.maximumBatchEvents, 1_000)
        for chain in chains {
            if batch.count + chain.count > batchLimit { try await flush() }
            batch += chain
        }
        try await flush()
        return (posted, existed)
    }

    // MARK: Findings

    /// What the store keeps of the items: mismatches by identity, what is settled now, totals.
    static func findings(
        _ items: [ReconciliationItem], lines: [SettlementLineKey: SettlementLine], provider: String,
        date: CivilDate, run: Int64, carried: Int, cleared: Int
    ) -> ReconciliationFindings {
        var mismatches: [NewMismatch] = []
        var settled: [(identity: String, note: String)] = []
        var totals: [String: ReconciliationTotal] = [:]
        for item in items {
            let totalKey = item.category.rawValue + " " + item.currency
            totals[
                totalKey,
                default: ReconciliationTotal(
                    category: item.category.rawValue, currency: item.currency, count: 0, amountMinor: 0)
            ].count += 1
            totals[totalKey]?.amountMinor += item.amountMinor
            let line = item.line.flatMap { lines[$0] }
            if let line, line.kind == "payment", line.status == "settled", line.duplicateOf == nil,
                item.category != .missingInLedger,
                let reference = item.paymentReference
            {
                settled.append(
                    (
                        identity: "\(provider):payment:\(reference)",
                        note: "settled by \(line.providerTxnId) on \(date) (run \(run): \(item.category.rawValue))"
                    ))
            }
            guard item.category != .matched else {
                if line != nil { settled.append((identity: identity(of: item), note: "matched by run \(run)")) }
                continue
            }
            mismatches.append(
                NewMismatch(
                    // Safe: every category but matched is a mismatch category.
                    category: MismatchCategory(rawValue: item.category.rawValue)!,
                    identity: identity(of: item),
                    kind: item.kind, settlementFileId: item.line?.fileId, settlementSourceLine: item.line?.line,
                    ourReference: item.paymentReference, providerTxnId: item.providerTxnId,
                    ledgerTransferId: item.ledgerTransferId, currency: item.currency,
                    ledgerMinor: item.ledgerAmountMinor, providerMinor: item.providerAmountMinor,
                    feeMinor: item.feeMinor, contractedFeeMinor: item.contractedFeeMinor, netMinor: item.netMinor,
                    fields: item.fields,
                    detail: detail(of: item, line: line)))
        }
        let ordered = totals.values.sorted {
            ($0.category, $0.currency) < ($1.category, $1.currency)
        }
        return ReconciliationFindings(
            mismatches: mismatches, settled: settled, totals: ordered, linesRead: lines.count,
            matchedCount: items.count { $0.category == .matched }, carriedCount: carried, clearedCount: cleared)
    }

    /// What an item is about, the same in every run: a line's provider transaction (or, for a
    /// repeat, the line itself), or a ledger payment alone by its reference.
    public static func identity(of item: ReconciliationItem) -> String {
        if item.category == .duplicateSettlement, let key = item.line {
            return "\(item.provider):line:\(key.fileId):\(key.line)"
        }
        if item.line != nil, let txn = item.providerTxnId { return "\(item.provider):txn:\(txn)" }
        return "\(item.provider):payment:\(item.paymentReference ?? "")"
    }

    /// The item in one sentence: its differing fields, or what the category means for it.
    static func detail(of item: ReconciliationItem, line: SettlementLine?) -> String {
        if !item.fields.isEmpty { return MismatchField.summary(item.fields) }
        let amount = ReconciliationMatcher.major(item.amountMinor, item.currency) + " " + item.currency
        switch item.category {
        case .duplicateSettlement:
            let first = line?.duplicateOf.map { "file \($0.fileId) line \($0.line)" } ?? "an earlier line"
            return "\(item.providerTxnId ?? "the transaction") was settled already (\(first)); \(amount) not counted"
        case .adjustment:
            return "\(item.kind) of \(amount) for review; never cleared automatically"
        case .missingInLedger:
            return "no reservation has the payment reference \(item.paymentReference ?? "")"
        default:
            return "\(item.category.rawValue): \(amount)"
        }
    }

    // MARK: Helpers

    /// The UTC instant (`UTCTime` text) at which `date` begins in Asia/Dhaka (UTC+6, no DST).
    static func dhakaStart(of date: CivilDate) -> String {
        UTCTime.text(nanoseconds: UInt64(max(0, date.daysSinceEpoch * 86_400 - 6 * 3_600)) * 1_000_000_000)
    }

    /// SHA-256 over the input files' content hashes, in id order.
    static func inputHash(_ files: [SettlementFile]) -> String {
        Crypto.hex(Crypto.sha256(Array(files.map(\.contentSHA256).joined(separator: "\n").utf8)))
    }
}
