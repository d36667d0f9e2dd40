import Foundation
import LedgerCore

/// A JSON key the API does not know is refused rather than ignored: a misspelt field must not
/// silently become a default.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

func rejectUnknownKeys(_ decoder: any Decoder, allowed: Set<String>, in what: String) throws {
    let container = try decoder.container(keyedBy: AnyKey.self)
    if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !allowed.contains($0) }) {
        throw Problem.badRequest(
            "unknown-field", "Unknown field",
            "\(what) has no field \"\(unknown)\" (known: \(allowed.sorted().joined(separator: ", ")))")
    }
}

/// An amount as JSON: a decimal string in major units (`"1000.00"`) or an integer of major units.
/// Never a floating-point number.
enum AmountValue: Decodable, Sendable {
    case text(String)
    case whole(UInt64)

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let whole = try? container.decode(UInt64.self) {
            self = .whole(whole)
        } else {
            throw Self.notAnAmount
        }
    }

    static let notAnAmount = Problem.badRequest(
        "invalid-amount", "Invalid amount", "an amount is a decimal string such as \"1000.00\" or a whole number")

    /// Minor units in `currency`, or a problem saying why not.
    func minor(in currency: Currency, field: String) throws -> UInt64 {
        let text: String
        switch self {
        case .text(let value): text = value
        case .whole(let value): text = String(value)
        }
        do {
            return try Amount.parse(text, currency: currency).minorUnits
        } catch {
            throw Problem.badRequest("invalid-amount", "Invalid amount", "\(field) \"\(text)\": \(error)")
        }
    }
}

/// `POST /v1/accounts`.
struct AccountRequest: Decodable {
    var id: String?
    var key: String
    var currency: String
    var flags: [String]?
    var code: UInt16?

    enum CodingKeys: String, CodingKey, CaseIterable { case id, key, currency, flags, code }

    init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, allowed: Set(CodingKeys.allCases.map(\.rawValue)), in: "an account")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        key = try container.decode(String.self, forKey: .key)
        currency = try container.decode(String.self, forKey: .currency)
        flags = try container.decodeIfPresent([String].self, forKey: .flags)
        code = try container.decodeIfPresent(UInt16.self, forKey: .code)
    }
}

/// `POST /v1/transfers`: accounts are named by key. Read by `TransferRequest.parse` (a hot
/// route, so not through `Codable`).
struct TransferRequest {
    var id: String
    var debitAccount: String?
    var creditAccount: String?
    var amount: AmountValue?
    var pendingId: String?
    var timeoutSeconds: UInt32?
    var code: UInt16?
    var reference: String?
    var flags: [String]?

    /// The fields a transfer may have; any other is refused.
    enum CodingKeys: String, CaseIterable {
        case id, debitAccount, creditAccount, amount, pendingId, timeoutSeconds, code, reference, flags
    }
}

/// `POST /v1/transfers/batch`, read by `BatchRequest.parse`.
struct BatchRequest {
    var transfers: [TransferRequest]
}

/// One event's result in a batch answer.
struct BatchItem: Encodable {
    let id: String
    /// The result code's name (`ok`, `exists`, `insufficientFunds`, …) and number.
    let result: String
    let code: UInt8
    let timestamp: UInt64?
}

struct BatchAnswer: Encodable { let results: [BatchItem] }

struct HistoryAnswer: Encodable {
    let transfers: [TransferBody]
    let next: String?
}

/// `POST /v1/refunds`.
struct RefundRequest: Decodable {
    var id: String
    var transferId: String
    var amount: AmountValue?
    var reference: String?
    var code: UInt16?

    enum CodingKeys: String, CodingKey, CaseIterable { case id, transferId, amount, reference, code }

    init(from decoder: any Decoder) throws {
        try rejectUnknownKeys(decoder, allowed: Set(CodingKeys.allCases.map(\.rawValue)), in: "a refund")
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        transferId = try container.decode(String.self, forKey: .transferId)
        amount = try container.decodeIfPresent(AmountValue.self, forKey: .amount)
        reference = try container.decodeIfPresent(String.self, forKey: .reference)
        code = try container.decodeIfPresent(UInt16.self, forKey: .code)
    }
}

/// An account as the API answers it: balances as decimal strings in major units.
struct AccountBody: Encodable {
    var id: String
    var key: String
    var currency: String
    var flags: [String]
    var code: UInt16
    var debitsPending: String
    var debitsPosted: String
    var creditsPending: String
    var creditsPosted: String
    var available: String
    var createdAt: UInt64

    init(_ account: Account) {
        func text(_ minor: UInt64) -> String { Amount(minorUnits: minor).formatted(account.currency, grouping: false) }
        id = String(account.id)
        key = account.key
        currency = account.currency.code
        flags = Names.accountFlags(account.flags)
        code = account.code
        debitsPending = text(account.debitsPending)
        debitsPosted = text(account.debitsPosted)
        creditsPending = text(account.creditsPending)
        creditsPosted = text(account.creditsPosted)
        let available = account.available
        let magnitude = Amount(minorUnits: UInt64(clamping: available.magnitude)).formatted(
            account.currency, grouping: false)
        self.available = available < 0 ? "-" + magnitude : magnitude
        createdAt = account.timestamp
    }
}

/// A transfer as the API answers it.
struct TransferBody: Encodable {
    var id: String
    var debitAccount: String
    var creditAccount: String
    var amount: String
    var currency: String
    var pendingId: String?
    var timeoutSeconds: UInt32
    var code: UInt16
    var reference: String
    var flags: [String]
    var state: String
    var timestamp: UInt64
    var expiresAt: UInt64?
    var refunded: String

    /// A single-phase transfer just committed at `timestamp`, as the ledger would describe it.
    init(posted fields: NewTransfer, debitKey: String, creditKey: String, currency: Currency, timestamp: UInt64) {
        precondition(fields.flags.subtracting(.linked).isEmpty, "not a single-phase transfer")
        id = String(fields.id)
        debitAccount = debitKey
        creditAccount = creditKey
        amount = Amount(minorUnits: fields.amountMinor).formatted(currency, grouping: false)
        self.currency = currency.code
        pendingId = nil
        timeoutSeconds = fields.timeoutSeconds
        code = fields.code
        reference = fields.reference.string
        flags = Names.transferFlags(fields.flags)
        state = Names.state(.posted)
        self.timestamp = timestamp
        expiresAt = nil
        refunded = Amount(minorUnits: 0).formatted(currency, grouping: false)
    }

    init(_ transfer: Transfer, debitKey: String, creditKey: String, currency: Currency) {
        let fields = transfer.fields
        id = String(fields.id)
        debitAccount = debitKey
        creditAccount = creditKey
        amount = Amount(minorUnits: fields.amountMinor).formatted(currency, grouping: false)
        self.currency = currency.code
        pendingId = fields.pendingId == 0 ? nil : String(fields.pendingId)
        timeoutSeconds = fields.timeoutSeconds
        code = fields.code
        reference = fields.reference.string
        flags = Names.transferFlags(fields.flags)
        state = Names.state(transfer.state)
        timestamp = transfer.timestamp
        expiresAt = transfer.expiresAt == 0 ? nil : transfer.expiresAt
        refunded = Amount(minorUnits: transfer.refundedMinor).formatted(currency, grouping: false)
    }
}

/// The names flags, states and result codes have on the wire.
enum Names {
    static let accountFlagNames: [(String, AccountFlags)] = [
        ("debitsMustNotExceedCredits", .debitsMustNotExceedCredits),
        ("creditsMustNotExceedDebits", .creditsMustNotExceedDebits),
    ]
    static let transferFlagNames: [(String, TransferFlags)] = [
        ("linked", .linked), ("pending", .pending), ("postPending", .postPending), ("voidPending", .voidPending),
        ("refund", .refund),
    ]

    static func accountFlags(_ flags: AccountFlags) -> [String] {
        accountFlagNames.filter { flags.contains($0.1) }.map(\.0)
    }

    static func transferFlags(_ flags: TransferFlags) -> [String] {
        transferFlagNames.filter { flags.contains($0.1) }.map(\.0)
    }

    static func accountFlags(_ names: [String]) throws -> AccountFlags {
        var flags: AccountFlags = []
        for name in names {
            guard let flag = accountFlagNames.first(where: { $0.0 == name })?.1 else {
                throw Problem.badRequest("unknown-flag", "Unknown flag", "no account flag \"\(name)\"")
            }
            flags.insert(flag)
        }
        return flags
    }

    static func transferFlags(_ names: [String]) throws -> TransferFlags {
        var flags: TransferFlags = []
        for name in names {
            guard let flag = transferFlagNames.first(where: { $0.0 == name })?.1 else {
                throw Problem.badRequest("unknown-flag", "Unknown flag", "no transfer flag \"\(name)\"")
            }
            flags.insert(flag)
        }
        return flags
    }

    static func state(_ state: TransferState) -> String {
        switch state {
        case .posted: "POSTED"
        case .pending: "PENDING"
        case .pendingPosted: "PENDING_POSTED"
        case .pendingVoided: "PENDING_VOIDED"
        case .pendingExpired: "PENDING_EXPIRED"
        }
    }

    /// camelCase of a result code, e.g. `insufficientFunds` → `insufficient-funds`.
    static func kebab(_ code: ResultCode) -> String {
        var text = ""
        for character in String(describing: code) {
            if character.isUppercase {
                text += "-" + character.lowercased()
            } else {
                text.append(character)
            }
        }
        return text
    }
}
