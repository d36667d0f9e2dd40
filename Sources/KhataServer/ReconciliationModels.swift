import JobStore
import LedgerCore
import Reconciliation

/// Amounts as the API writes them: decimal strings in major units with the currency's scale.
enum MajorUnits {
    static func text(_ minor: Int64?, _ currency: String?) -> String? {
        guard let minor, let currency else { return nil }
        return ReconciliationMatcher.major(minor, currency)
    }
}

/// One category's count and amount in one currency.
struct ReconciliationTotalBody: Encodable {
    var category: String
    var currency: String
    var count: Int
    var amount: String

    init(_ total: ReconciliationTotal) {
        category = total.category
        currency = total.currency
        count = total.count
        amount = ReconciliationMatcher.major(total.amountMinor, total.currency)
    }
}

/// A reconciliation run as the API answers it.
struct ReconciliationRunBody: Encodable {
    var id: Int64
    var provider: String
    var settlementDate: String
    var windowStart: String
    var windowEnd: String
    var runBy: String
    var inputFiles: [Int64]
    var startedAt: String
    var endedAt: String?
    var outcome: String
    var linesRead: Int
    var matched: Int
    var mismatches: Int
    var carried: Int
    var cleared: Int
    var resolved: Int
    var error: String?
    var totals: [ReconciliationTotalBody]

    init(_ run: ReconciliationRun, totals: [ReconciliationTotal]) {
        id = run.id
        provider = run.provider
        settlementDate = run.settlementDate
        windowStart = run.windowStart
        windowEnd = run.windowEnd
        runBy = run.runBy
        inputFiles = run.inputFiles
        startedAt = run.startedAt
        endedAt = run.endedAt
        outcome = run.outcome
        linesRead = run.linesRead
        matched = run.matchedCount
        mismatches = run.mismatchCount
        carried = run.carriedCount
        cleared = run.clearedCount
        resolved = run.resolvedCount
        error = run.error
        self.totals = totals.map(ReconciliationTotalBody.init)
    }
}

struct ReconciliationRunsBody: Encodable {
    var runs: [ReconciliationRunBody]
    var next: String?
}

/// A field both sides name, side by side.
struct MismatchFieldBody: Encodable {
    var name: String
    var ledger: String
    var provider: String
}

/// A mismatch as the API answers it: what was found, where, and what became of it.
struct MismatchBody: Encodable {
    var id: Int64
    var runId: Int64
    var lastRunId: Int64
    var provider: String
    var category: String
    var identity: String
    var kind: String
    var state: String
    var resolution: String?
    var paymentReference: String?
    var providerTxnId: String?
    var ledgerTransferId: String?
    var settlementFileId: Int64?
    var settlementLine: Int?
    var currency: String?
    var ledgerAmount: String?
    var providerAmount: String?
    var fee: String?
    var contractedFee: String?
    var net: String?
    var fields: [MismatchFieldBody]
    var detail: String
    var createdAt: String
    var updatedAt: String

    init(_ mismatch: Mismatch) {
        let found = mismatch.found
        id = mismatch.id
        runId = mismatch.runId
        lastRunId = mismatch.lastRunId
        provider = mismatch.provider
        category = found.category.rawValue
        identity = found.identity
        kind = found.kind
        state = mismatch.state.rawValue
        resolution = mismatch.resolution
        paymentReference = found.ourReference
        providerTxnId = found.providerTxnId
        ledgerTransferId = found.ledgerTransferId
        settlementFileId = found.settlementFileId
        settlementLine = found.settlementSourceLine
        currency = found.currency
        ledgerAmount = MajorUnits.text(found.ledgerMinor, found.currency)
        providerAmount = MajorUnits.text(found.providerMinor, found.currency)
        fee = MajorUnits.text(found.feeMinor, found.currency)
        contractedFee = MajorUnits.text(found.contractedFeeMinor, found.currency)
        net = MajorUnits.text(found.netMinor, found.currency)
        fields = found.fields.map { MismatchFieldBody(name: $0.name, ledger: $0.ledger, provider: $0.provider) }
        detail = found.detail
        createdAt = mismatch.createdAt
        updatedAt = mismatch.updatedAt
    }
}

struct MismatchPageBody: Encodable {
    var mismatches: [MismatchBody]
    var next: String?
}

struct MismatchesBody: Encodable {
    var mismatches: [MismatchBody]
}

/// The settlement line a mismatch concerns, as stored.
struct SettlementLineBody: Encodable {
    var provider: String
    var providerTxnId: String
    var paymentReference: String
    var providerPaymentId: String?
    var kind: String
    var status: String
    var statusAsWritten: String
    var transactedAt: String
    var settlementDate: String
    var currency: String
    var amount: String
    var fee: String
    var net: String
    var payer: String?
    var originalProviderTxnId: String?
    var line: Int
    var roundingNote: String?

    init(_ line: SettlementLine) {
        provider = line.provider
        providerTxnId = line.providerTxnId
        paymentReference = line.ourReference
        providerPaymentId = line.providerPaymentId
        kind = line.kind
        status = line.status
        statusAsWritten = line.statusRaw
        transactedAt = line.transactedAt
        settlementDate = line.settlementDate
        currency = line.currency
        amount = ReconciliationMatcher.major(line.grossMinor, line.currency)
        fee = ReconciliationMatcher.major(line.feeMinor, line.currency)
        net = ReconciliationMatcher.major(line.netMinor, line.currency)
        payer = line.payerMasked
        originalProviderTxnId = line.originalProviderTxnId
        self.line = line.sourceLine
        roundingNote = line.roundingNote
    }
}

/// A ledger transfer a review posted.
struct ReviewPostingBody: Encodable {
    var transferId: String
    var debitAccount: String
    var creditAccount: String
    var amount: String
    var currency: String
    var leg: String

    init(_ posting: ReviewPosting) {
        transferId = posting.transferId
        debitAccount = posting.debitAccount
        creditAccount = posting.creditAccount
        amount = ReconciliationMatcher.major(posting.amountMinor, posting.currency)
        currency = posting.currency
        leg = posting.leg
    }
}

/// One change in a mismatch's history.
struct ReviewEventBody: Encodable {
    var id: Int64
    var from: String
    var to: String
    var actor: String
    var note: String
    var at: String
    var runId: Int64?
    var resolution: String?
    var postings: [ReviewPostingBody]
    var posted: Bool

    init(_ event: ReviewEvent) {
        id = event.id
        from = event.event.from.rawValue
        to = event.event.to.rawValue
        actor = event.event.actor
        note = event.event.note
        at = event.event.at
        runId = event.event.runId
        resolution = event.resolution?.rawValue
        postings = event.postings.map(ReviewPostingBody.init)
        posted = event.posted
    }
}

struct MismatchDetailBody: Encodable {
    var mismatch: MismatchBody
    var settlementLine: SettlementLineBody?
    var ledgerTransfer: TransferBody?
    var history: [ReviewEventBody]
}
