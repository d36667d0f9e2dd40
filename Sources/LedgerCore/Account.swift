/// Limits an account enforces on its own balances.
public struct AccountFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Debits (posted plus pending) may never exceed posted credits: an account that must not
    /// be overdrawn, such as a customer's or a merchant's balance.
    public static let debitsMustNotExceedCredits = AccountFlags(rawValue: 1 << 0)
    /// Credits (posted plus pending) may never exceed posted debits.
    public static let creditsMustNotExceedDebits = AccountFlags(rawValue: 1 << 1)

    /// Flags this version knows; others are refused.
    public static let known: AccountFlags = [.debitsMustNotExceedCredits, .creditsMustNotExceedDebits]

    /// Each flag's name where people and programs write flags (the API, the command line).
    public static let names: [(name: String, flag: AccountFlags)] = [
        ("debitsMustNotExceedCredits", .debitsMustNotExceedCredits),
        ("creditsMustNotExceedDebits", .creditsMustNotExceedDebits),
    ]
}

/// An account to create.
public struct NewAccount: Hashable, Sendable {
    /// Chosen by the client; never zero. Creating the same id again is idempotent.
    public var id: UInt128
    /// The unique human key, e.g. `provider:bkash:clearing` or `merchant:SVC-456`.
    public var key: String
    public var currency: Currency
    public var flags: AccountFlags
    /// What kind of account this is (the chart of accounts' code).
    public var code: UInt16

    public init(id: UInt128, key: String, currency: Currency, flags: AccountFlags = [], code: UInt16 = 0) {
        self.id = id
        self.key = key
        self.currency = currency
        self.flags = flags
        self.code = code
    }

    /// The longest key accepted, in UTF-8 bytes.
    public static let maximumKeyBytes = 64
}

/// An account with its four balances, all in minor units of its currency.
public struct Account: Hashable, Sendable {
    public var id: UInt128
    public var key: String
    public var currency: Currency
    public var flags: AccountFlags
    public var code: UInt16
    public var debitsPending: UInt64 = 0
    public var debitsPosted: UInt64 = 0
    public var creditsPending: UInt64 = 0
    public var creditsPosted: UInt64 = 0
    /// When the account was created (sequencer time, nanoseconds since the Unix epoch).
    public var timestamp: UInt64

    /// An account with its balances, as a ledger answered it (a remote ledger's reader builds
    /// one from the API's answer).
    public init(
        id: UInt128, key: String, currency: Currency, flags: AccountFlags, code: UInt16, timestamp: UInt64,
        debitsPending: UInt64 = 0, debitsPosted: UInt64 = 0, creditsPending: UInt64 = 0, creditsPosted: UInt64 = 0
    ) {
        self.id = id
        self.key = key
        self.currency = currency
        self.flags = flags
        self.code = code
        self.timestamp = timestamp
        self.debitsPending = debitsPending
        self.debitsPosted = debitsPosted
        self.creditsPending = creditsPending
        self.creditsPosted = creditsPosted
    }

    /// What can still be spent. For an account that must not go below zero on the credit side
    /// (the default reading): posted credits minus posted and pending debits. For an account
    /// flagged `creditsMustNotExceedDebits`: posted debits minus posted and pending credits.
    public var available: Int128 {
        if flags.contains(.creditsMustNotExceedDebits) {
            return Int128(debitsPosted) - Int128(creditsPosted) - Int128(creditsPending)
        }
        return Int128(creditsPosted) - Int128(debitsPosted) - Int128(debitsPending)
    }
}

extension NewAccount {
    /// The id an account gets from its key when the client names none (the CLI and the HTTP API):
    /// two FNV-1a hashes of the key's UTF-8, so the same key always gives the same id and a retry
    /// of the creation is idempotent.
    public static func derivedId(forKey key: String) -> UInt128 {
        func fnv(_ offset: UInt64) -> UInt64 {
            var hash = offset
            for byte in key.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            return hash
        }
        let id = UInt128(fnv(0xCBF2_9CE4_8422_2325)) << 64 | UInt128(fnv(0x6C62_272E_07BB_0142))
        return id == 0 ? 1 : id
    }
}
