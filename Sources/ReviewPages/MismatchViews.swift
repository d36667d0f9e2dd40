import JobStore

/// One mismatch's page: the finding, its settlement line and ledger transfer, its history, and
/// the review forms the viewer's scope and the mismatch's state allow.
struct MismatchView {
    var chrome: Chrome
    var id: String
    var runId: String
    var lastRunId: String
    var category: String
    var state: String
    var stateLabel: String
    var provider: String
    var kind: String
    var providerTxnId: String
    var reference: String
    var ledger: String
    var providerAmount: String
    var fee: String
    var contractedFee: String?
    var net: String
    var resolution: String
    var createdAt: String
    var updatedAt: String
    var detail: String
    var hasFields: Bool
    var fields: [Field]
    var line: Line?
    var hasTransfer: Bool
    var transfer: [LabelledValue]
    var history: [Event]
    var canReview: Bool
    var readOnlyReason: String
    var csrf: String
    var canAcknowledge: Bool
    var canResolve: Bool
    var canReopen: Bool
    var resolutions: [Choice]
    var form: ReviewFormEcho?
    /// A refused form's note whose form the mismatch's state no longer offers, shown so that
    /// what the reviewer typed is not lost.
    var keptNote: String?

    struct Field {
        var name: String
        var ledger: String
        var provider: String
    }

    struct Line {
        var fileId: String
        var number: String
        var facts: [LabelledValue]
    }

    struct Event {
        var at: String
        var actor: String
        var from: String
        var to: String
        var eventResolution: String?
        var eventNote: String?
        var hasPostings: Bool
        var postings: [Posting]
    }

    struct Posting {
        var transferId: String
        var amount: String
        var debitAccount: String
        var creditAccount: String
        var leg: String
        var status: String
    }

    init(
        _ mismatch: Mismatch, line: SettlementLine?, transfer: [LabelledValue], history: [ReviewEvent],
        chrome: Chrome, form: ReviewFormEcho?
    ) {
        let found = mismatch.found
        self.chrome = chrome
        id = String(mismatch.id)
        runId = String(mismatch.runId)
        lastRunId = String(mismatch.lastRunId)
        category = Display.category(found.category.rawValue)
        state = mismatch.state.rawValue
        stateLabel = Display.state(mismatch.state)
        provider = Display.provider(mismatch.provider)
        kind = found.kind
        providerTxnId = found.providerTxnId ?? "none"
        reference = found.ourReference ?? "none"
        ledger = found.ledgerMinor == nil ? "none" : Display.money(found.ledgerMinor, found.currency)
        providerAmount = found.providerMinor == nil ? "none" : Display.money(found.providerMinor, found.currency)
        fee = found.feeMinor == nil ? "none" : Display.money(found.feeMinor, found.currency)
        contractedFee = found.contractedFeeMinor.map { Display.money($0, found.currency ?? "BDT") }
        net = found.netMinor == nil ? "none" : Display.money(found.netMinor, found.currency)
        resolution = mismatch.resolution.map { ResolutionKind(rawValue: $0).map(Display.resolution) ?? $0 } ?? "none"
        createdAt = Display.dhaka(mismatch.createdAt)
        updatedAt = Display.dhaka(mismatch.updatedAt)
        detail = found.detail
        fields = found.fields.map { Field(name: $0.name, ledger: $0.ledger, provider: $0.provider) }
        hasFields = !fields.isEmpty
        self.line = line.map { Self.line($0, fileId: found.settlementFileId ?? 0) }
        self.transfer = transfer
        hasTransfer = !transfer.isEmpty
        self.history = history.map(Self.event)
        let viewer = chrome.viewer
        canReview = viewer?.canReview ?? false
        readOnlyReason =
            "Your key can look but not change: acknowledging, resolving and reopening need a key "
            + "with the finance scope."
        csrf = viewer?.csrf ?? ""
        canAcknowledge = mismatch.state.canMove(to: .acknowledged)
        canResolve = mismatch.state.canMove(to: .resolved)
        canReopen = mismatch.state.canMove(to: .open)
        resolutions = ResolutionKind.allCases.map { kind in
            Choice(
                value: kind.rawValue, label: Display.resolution(kind), selected: form?.resolution == kind,
                effect: Display.resolutionEffect(kind))
        }
        self.form = form
        let offered = [
            (form?.acknowledgeNote ?? "", canAcknowledge), (form?.resolveNote ?? "", canResolve),
            (form?.reopenNote ?? "", canReopen),
        ]
        keptNote = offered.first { !$0.0.isEmpty && !$0.1 }?.0
    }

    static func line(_ line: SettlementLine, fileId: Int64) -> Line {
        var facts = [
            LabelledValue("Provider transaction", line.providerTxnId),
            LabelledValue("Payment reference", line.ourReference),
            LabelledValue("Kind", line.kind),
            LabelledValue("Status", line.status == line.statusRaw ? line.status : "\(line.status) (\(line.statusRaw))"),
            LabelledValue("Transacted", Display.dhaka(line.transactedAt)),
            LabelledValue("Settlement date", line.settlementDate),
            LabelledValue("Gross", Display.money(line.grossMinor, line.currency)),
            LabelledValue("Fee", Display.money(line.feeMinor, line.currency)),
            LabelledValue("Net", Display.money(line.netMinor, line.currency)),
        ]
        if let payment = line.providerPaymentId { facts.append(LabelledValue("Provider payment", payment)) }
        if let payer = line.payerMasked { facts.append(LabelledValue("Payer", payer)) }
        if let original = line.originalProviderTxnId { facts.append(LabelledValue("Original transaction", original)) }
        if let rounding = line.roundingNote { facts.append(LabelledValue("Rounding", rounding)) }
        if let earlier = line.duplicateOf {
            facts.append(LabelledValue("Repeats", "file \(earlier.fileId), line \(earlier.line)"))
        }
        if let extra = line.extra, extra != "{}" { facts.append(LabelledValue("Other columns", extra)) }
        return Line(fileId: String(fileId), number: String(line.sourceLine), facts: facts)
    }

    static func event(_ event: ReviewEvent) -> Event {
        let postings = event.postings.map { posting in
            Posting(
                transferId: posting.transferId, amount: Display.money(posting.amountMinor, posting.currency),
                debitAccount: posting.debitAccount, creditAccount: posting.creditAccount, leg: posting.leg,
                status: event.posted ? "posted" : "waiting to be posted")
        }
        let note = event.event.note
        return Event(
            at: Display.dhaka(event.event.at), actor: event.event.actor, from: Display.state(event.event.from),
            to: Display.state(event.event.to), eventResolution: event.resolution.map(Display.resolution),
            eventNote: note.isEmpty ? nil : note, hasPostings: !postings.isEmpty, postings: postings)
    }
}

/// The search page.
struct SearchPage {
    var chrome: Chrome
    var query: String
    var searched: Bool
    var hasRows: Bool
    var emptyText: String
    var table: MismatchRows
}

/// The sign-in page.
struct SignInPage {
    var chrome: Chrome
    var csrf: String
    var next: String
}

/// A refusal or an error, as a page.
struct ErrorPage {
    var chrome: Chrome
    var heading: String
    var message: String
    var link: String
    var linkText: String
}
