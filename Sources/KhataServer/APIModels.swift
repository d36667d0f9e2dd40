import Foundation
import JSONInput
import JobStore
import LedgerCore

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
    var createdAt: String

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
        createdAt = UTCTime.text(nanoseconds: account.timestamp)
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
    var expiresAt: String?
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
        expiresAt = transfer.expiresAt == 0 ? nil : UTCTime.text(nanoseconds: transfer.expiresAt)
        refunded = Amount(minorUnits: transfer.refundedMinor).formatted(currency, grouping: false)
    }
}

/// The names flags, states and result codes have on the wire.
enum Names {
    static func accountFlags(_ flags: AccountFlags) -> [String] {
        AccountFlags.names.filter { flags.contains($0.flag) }.map(\.name)
    }

    static func transferFlags(_ flags: TransferFlags) -> [String] {
        TransferFlags.names.filter { flags.contains($0.flag) }.map(\.name)
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
