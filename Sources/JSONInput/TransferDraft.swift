import LedgerCore

/// A transfer as a client writes it: an HTTP body, an event of a batch, a line of
/// `khata transfer --file`, or the flags of `khata transfer`. Accounts are named (by key), the
/// amount is in its written form; `TransferResolver` turns it into the ledger's `NewTransfer`.
/// The JSON form has the same fields everywhere.
public struct TransferDraft: Sendable, Equatable {
    public var id: UInt128
    public var debitAccount: String?
    public var creditAccount: String?
    public var amount: AmountInput?
    public var pendingId: UInt128?
    public var timeoutSeconds: UInt32?
    public var code: UInt16?
    public var reference: TransferReference?
    public var flags: TransferFlags

    /// The fields of the JSON form, in the order the documentation lists them.
    public static let fields = [
        "id", "debitAccount", "creditAccount", "amount", "pendingId", "timeoutSeconds", "code", "reference", "flags",
    ]

    public init(
        id: UInt128, debitAccount: String? = nil, creditAccount: String? = nil, amount: AmountInput? = nil,
        pendingId: UInt128? = nil, timeoutSeconds: UInt32? = nil, code: UInt16? = nil,
        reference: TransferReference? = nil, flags: TransferFlags = []
    ) {
        self.id = id
        self.debitAccount = debitAccount
        self.creditAccount = creditAccount
        self.amount = amount
        self.pendingId = pendingId
        self.timeoutSeconds = timeoutSeconds
        self.code = code
        self.reference = reference
        self.flags = flags
    }

    /// Reads one transfer object with the strict reader; `place` prefixes its fields in errors
    /// (`transfers[3].`), `what` names it (`a transfer`, `a transfer line`). Read straight from
    /// the bytes, with no intermediate document: this is the hot route's reader.
    public init(scanner: inout JSONScanner, place: String = "", what: String) throws {
        let reader = JSONObjectReader(what: what, place: place, known: Self.fields)
        var draft = TransferDraft(id: 0)
        var id: UInt128?
        try reader.read(&scanner) { scanner, key in
            let field = place + key
            switch key {
            case "id": id = try scanner.id(field: field)
            case "debitAccount": draft.debitAccount = try scanner.accountKey(field: field)
            case "creditAccount": draft.creditAccount = try scanner.accountKey(field: field)
            case "amount": draft.amount = try scanner.amount(field: field)
            case "pendingId": draft.pendingId = try scanner.id(field: field)
            case "timeoutSeconds": draft.timeoutSeconds = try scanner.timeoutSeconds(field: field)
            case "code": draft.code = try scanner.code(field: field)
            case "reference": draft.reference = try scanner.reference(field: field)
            default: draft.flags = try scanner.transferFlags(field: field)
            }
        }
        draft.id = try reader.required(id, "id")
        self = draft
    }
}

/// What resolving a draft needs of the ledger: accounts by name and the currency of a transfer
/// that a capture, void or refund refers to.
public protocol TransferDirectory {
    /// The account `name` names, or nil. The API names accounts by key; the command line also
    /// takes a decimal id.
    func account(named name: String) throws -> Account?
    /// The currency of the committed transfer `id` (its accounts'), or nil when there is none.
    func currency(ofTransfer id: UInt128) throws -> Currency?
}

/// Why a draft cannot become a transfer; the field is named as the client wrote it.
public struct TransferDraftError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        /// No account has the name in `field`.
        public static let accountNotFound = Code(name: "account-not-found")
        /// No transfer has the id in `field` (a capture's, void's or refund's pendingId).
        public static let transferNotFound = Code(name: "transfer-not-found")
        /// Neither accounts nor a pendingId: nothing says what the transfer moves.
        public static let missingField = Code(name: "missing-field")
    }

    public var code: Code
    public var field: String
    public var message: String
    /// What the field named (an account's name, a transfer's id), as written.
    public var value: String?

    public init(_ code: Code, field: String, _ message: String, value: String? = nil) {
        self.code = code
        self.field = field
        self.message = message
        self.value = value
    }

    public var description: String { message }
}

/// Turns a `TransferDraft` into the ledger's `NewTransfer`: the one place that names accounts,
/// decides the currency an amount is read in, and fills in the defaults.
public enum TransferResolver {
    /// What resolving the drafts of one batch remembers: the accounts looked up (a batch's
    /// events mostly name the same few, and each lookup hashes the name), and the currency of
    /// each transfer resolved so far, so that a capture, void or refund may name a transfer made
    /// earlier in the same batch.
    public struct Memory: Sendable {
        public var accounts: [String: Account] = [:]
        public var currencies: [UInt128: Currency] = [:]

        public init() {}
    }

    /// The ledger's form of `draft`; `place` names it in errors (`transfers[3].`, or a file's
    /// line). `memory` carries what earlier drafts of the same batch resolved.
    ///
    /// The amount is read at the scale of the currency it is posted in: for a capture, void or
    /// refund the original transfer's, otherwise the accounts'. Accounts in two currencies are
    /// the ledger's to refuse.
    public static func resolve(
        _ draft: TransferDraft, place: String = "", in directory: some TransferDirectory, memory: inout Memory
    ) throws -> NewTransfer {
        func named(_ name: String, field: String) throws -> Account {
            if let account = memory.accounts[name] { return account }
            guard let account = try directory.account(named: name) else {
                throw TransferDraftError(
                    .accountNotFound, field: place + field, "\(place + field): no account has the key \"\(name)\"",
                    value: name)
            }
            memory.accounts[name] = account
            return account
        }
        let pendingId = draft.pendingId ?? 0
        let debit = try draft.debitAccount.map { try named($0, field: "debitAccount") }
        let credit = try draft.creditAccount.map { try named($0, field: "creditAccount") }
        // Decided even without an amount, so that a draft that names nothing to move, or a hold
        // that does not exist, is refused here with the field named.
        let currency = try currency(
            of: draft, place: place, debit: debit, credit: credit, in: directory, earlier: memory.currencies)
        memory.currencies[draft.id] = currency
        let amountMinor = try draft.amount?.minor(in: currency) ?? 0
        return NewTransfer(
            id: draft.id, debitAccountId: debit?.id ?? 0, creditAccountId: credit?.id ?? 0, amountMinor: amountMinor,
            pendingId: pendingId, timeoutSeconds: draft.timeoutSeconds ?? 0, code: draft.code ?? 0,
            reference: draft.reference ?? .empty, flags: draft.flags)
    }

    /// The currency `draft`'s amount is posted in.
    static func currency(
        of draft: TransferDraft, place: String, debit: Account?, credit: Account?, in directory: some TransferDirectory,
        earlier: [UInt128: Currency]
    ) throws -> Currency {
        let pendingId = draft.pendingId ?? 0
        let refersBack = !draft.flags.intersection([.postPending, .voidPending, .refund]).isEmpty
        if pendingId != 0 && (refersBack || (debit == nil && credit == nil)) {
            guard let currency = try earlier[pendingId] ?? directory.currency(ofTransfer: pendingId) else {
                throw TransferDraftError(
                    .transferNotFound, field: place + "pendingId",
                    "\(place)pendingId: no transfer has the id \(pendingId)", value: String(pendingId))
            }
            return currency
        }
        if let currency = debit?.currency ?? credit?.currency { return currency }
        throw TransferDraftError(
            .missingField, field: place.isEmpty ? "debitAccount" : place,
            "\(place.isEmpty ? "a transfer" : place) names its accounts or a pendingId")
    }
}
