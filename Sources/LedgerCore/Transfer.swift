/// What a transfer does.
public struct TransferFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// This event and the next succeed or fail together.
    public static let linked = TransferFlags(rawValue: 1 << 0)
    /// A hold: reserves the amount until posted, voided or expired.
    public static let pending = TransferFlags(rawValue: 1 << 1)
    /// Captures a hold named by `pendingId`, in full or in part.
    public static let postPending = TransferFlags(rawValue: 1 << 2)
    /// Releases a hold named by `pendingId`.
    public static let voidPending = TransferFlags(rawValue: 1 << 3)
    /// Reverses (part of) a posted transfer named by `pendingId`, in the opposite direction.
    public static let refund = TransferFlags(rawValue: 1 << 4)

    public static let known: TransferFlags = [.linked, .pending, .postPending, .voidPending, .refund]
    /// At most one of these may be set.
    static let kinds: TransferFlags = [.pending, .postPending, .voidPending, .refund]

    /// Each flag's name where people and programs write flags (the API, the command line).
    public static let names: [(name: String, flag: TransferFlags)] = [
        ("linked", .linked), ("pending", .pending), ("postPending", .postPending), ("voidPending", .voidPending),
        ("refund", .refund),
    ]
}

/// A transfer to create: debit one account, credit another of the same currency.
public struct NewTransfer: Hashable, Sendable {
    /// Chosen by the client: the idempotency key. Never zero.
    public var id: UInt128
    /// For post and void: may be zero to take the hold's accounts.
    public var debitAccountId: UInt128
    public var creditAccountId: UInt128
    /// In minor units. For a post, zero means the whole held amount; for a void it must be zero
    /// or the held amount.
    public var amountMinor: UInt64
    /// The hold a post or void resolves, or the transfer a refund reverses; zero otherwise.
    public var pendingId: UInt128
    /// For holds: seconds until the hold expires (the payment window).
    public var timeoutSeconds: UInt32
    /// The business code: booking payment, refund, settlement, fee…
    public var code: UInt16
    /// The payment or booking reference providers echo back.
    public var reference: TransferReference
    public var flags: TransferFlags

    public init(
        id: UInt128, debitAccountId: UInt128, creditAccountId: UInt128, amountMinor: UInt64,
        pendingId: UInt128 = 0, timeoutSeconds: UInt32 = 0, code: UInt16 = 0, reference: TransferReference = .empty,
        flags: TransferFlags = []
    ) {
        self.id = id
        self.debitAccountId = debitAccountId
        self.creditAccountId = creditAccountId
        self.amountMinor = amountMinor
        self.pendingId = pendingId
        self.timeoutSeconds = timeoutSeconds
        self.code = code
        self.reference = reference
        self.flags = flags
    }

}

/// Where a transfer stands now.
public enum TransferState: UInt8, Sendable {
    /// A single-phase transfer, or a post or void or refund: final.
    case posted = 1
    /// A hold still reserving its amount.
    case pending = 2
    /// A hold that was captured (by a later post-pending transfer).
    case pendingPosted = 3
    /// A hold that was released by a void.
    case pendingVoided = 4
    /// A hold that ran out of its payment window.
    case pendingExpired = 5
}

/// A committed transfer as readers see it.
public struct Transfer: Hashable, Sendable {
    /// The transfer as created, with accounts and amounts filled in for posts and voids.
    public var fields: NewTransfer
    public var state: TransferState
    /// Sequencer time of creation, nanoseconds since the Unix epoch; unique per event.
    public var timestamp: UInt64
    /// The log sequence of the event that created it: a retry of the same request (answered
    /// `exists`) is logged at another sequence, so this tells the creating record apart.
    public var sequence: UInt64
    /// For holds: when the payment window closes (nanoseconds since the Unix epoch), else 0.
    public var expiresAt: UInt64
    /// For posted transfers: how much has been refunded so far.
    public var refundedMinor: UInt64
}
