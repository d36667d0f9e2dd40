import Ledger
import LedgerCore

/// Why a booking step was refused or could not be done: a stable category, and what, where and
/// why in words. A struct of static codes, like every error of Khata, so that a new code does not
/// break callers; the HTTP layer maps each code to a status and a problem type.
public struct BookingError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The problem type the API answers with (`unknown-provider`), also the code's name.
        public let name: String
        public var description: String { name }

        /// A field's text is empty, too long, or holds control characters.
        public static let invalidField = Code(name: "invalid-field")
        public static let invalidPhone = Code(name: "invalid-phone")
        public static let invalidEmail = Code(name: "invalid-email")
        public static let invalidAmount = Code(name: "invalid-amount")
        public static let invalidPaymentWindow = Code(name: "invalid-payment-window")
        public static let invalidProviderTransactionId = Code(name: "invalid-provider-transaction-id")
        public static let unknownProvider = Code(name: "unknown-provider")
        /// The reservation's currency, or its merchant account's, is not its provider's.
        public static let currencyMismatch = Code(name: "currency-mismatch")
        /// An account the booking needs (the merchant's, the provider's clearing account) is missing.
        public static let accountNotFound = Code(name: "account-not-found")
        public static let reservationNotFound = Code(name: "reservation-not-found")
        /// The booking has a reservation already, with other details.
        public static let existsWithDifferentFields = Code(name: "reservation-exists-with-different-fields")
        /// A cancellation of a confirmed reservation (refund it instead).
        public static let confirmed = Code(name: "reservation-confirmed")
        /// A cancellation after the payment window closed.
        public static let expired = Code(name: "reservation-expired")
        /// The ledger refused the event for a reason the booking rules do not name (`refusal`).
        public static let refused = Code(name: "refused")
        /// The ledger could not take or answer the request (`ledgerError`).
        public static let ledger = Code(name: "ledger")
        /// The job store failed; retrying the same request is safe.
        public static let storeUnavailable = Code(name: "store-unavailable")
    }

    public var code: Code
    public var message: String
    /// The ledger's result code, for `.refused`.
    public var refusal: ResultCode?
    /// The ledger's error, for `.ledger`.
    public var ledgerError: LedgerError?

    public init(_ code: Code, _ message: String, refusal: ResultCode? = nil, ledgerError: LedgerError? = nil) {
        self.code = code
        self.message = message
        self.refusal = refusal
        self.ledgerError = ledgerError
    }

    public var description: String { "\(code): \(message)" }

    static func refused(_ code: ResultCode) -> BookingError {
        BookingError(
            .refused, "the ledger refused the event with result code \(code) (\(code.rawValue))", refusal: code)
    }

    static func ledger(_ error: LedgerError) -> BookingError {
        BookingError(.ledger, "\(error)", ledgerError: error)
    }
}
