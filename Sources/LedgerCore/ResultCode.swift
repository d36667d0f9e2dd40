/// The outcome of one event. Raw values are frozen: they are stored in the log and sent over the
/// wire, so a new code gets a new number and existing numbers never change meaning.
public enum ResultCode: UInt8, Sendable, CaseIterable {
    case ok = 0
    /// Another event of the same linked chain failed, so this one was rolled back.
    case linkedEventFailed = 1
    /// The batch ended while a linked chain was still open (its last event had `linked`).
    case linkedEventChainOpen = 2
    /// The id exists with the same fields: a retry, nothing changed.
    case exists = 3
    /// The id exists with other fields: a conflicting reuse of an idempotency key.
    case existsWithDifferentFields = 4
    case idMustNotBeZero = 5
    case flagsAreMutuallyExclusive = 6
    case accountKeyMustNotBeEmpty = 7
    case accountKeyTooLong = 8
    case accountKeyExists = 9
    case debitAccountNotFound = 10
    case creditAccountNotFound = 11
    case accountsMustBeDifferent = 12
    case currencyMismatch = 13
    case amountMustNotBeZero = 14
    /// The debit account has `debitsMustNotExceedCredits` and the transfer would break it.
    case insufficientFunds = 15
    /// The credit account has `creditsMustNotExceedDebits` and the transfer would break it.
    case exceedsDebits = 16
    case overflowsBalance = 17
    case referenceTooLong = 18
    case timeoutRequiresPending = 19
    case pendingIdRequired = 20
    case pendingIdMustBeZero = 21
    case pendingTransferNotFound = 22
    case pendingTransferNotPending = 23
    case pendingAlreadyPosted = 24
    case pendingAlreadyVoided = 25
    case pendingExpired = 26
    case pendingNotExpired = 27
    case amountExceedsPending = 28
    case pendingTransferHasDifferentAccounts = 29
    case originalTransferNotFound = 30
    case originalTransferNotRefundable = 31
    case refundAccountsMismatch = 32
    case refundExceedsOriginal = 33
    case timeoutMustNotBeZero = 34
    case unknownFlags = 35
    /// A void names an amount other than zero or the held amount.
    case voidAmountMustMatchPending = 36
    /// The reference holds a NUL character, which the log cannot store.
    case referenceInvalid = 37
    /// A record the event depends on (the transfer it retries, or the original it refunds)
    /// failed its checksum when read back from the log: nothing was changed.
    case recordDamaged = 38
}

extension ResultCode {
    /// Whether the event took effect (or had already taken effect: `exists`).
    public var succeeded: Bool { self == .ok || self == .exists }
}
