import KhataCrypto

/// The ids and payment reference a booking's reservation always has, derived from the booking id
/// alone: every step (hold, capture, release) can be retried by anyone and lands once.
public struct BookingIds: Sendable, Equatable {
    /// The hold's transfer id, which is also the reservation's id.
    public let holdId: UInt128
    /// The capture's transfer id.
    public let confirmId: UInt128
    /// The release's transfer id (a cancellation, or the expiry of the payment window).
    public let cancelId: UInt128
    /// What the customer quotes to the provider and the provider quotes back: `KH` and 16
    /// characters of Crockford base 32 (80 bits), unambiguous to read aloud and accepted by every
    /// provider's invoice-number field.
    public let paymentReference: String

    public init(bookingId: String) {
        func derived(_ purpose: String) -> [UInt8] { Crypto.sha256(Array("khata:\(purpose):\(bookingId)".utf8)) }
        func id(_ purpose: String) -> UInt128 {
            let id = derived(purpose).prefix(16).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
            return id == 0 ? 1 : id
        }
        holdId = id("reservation-hold")
        confirmId = id("reservation-confirm")
        cancelId = id("reservation-cancel")
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var bits = derived("payment-reference").prefix(10).reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        var characters: [Character] = []
        for _ in 0..<16 {
            characters.append(alphabet[Int(bits & 31)])
            bits >>= 5
        }
        paymentReference = "KH" + String(characters.reversed())
    }
}
