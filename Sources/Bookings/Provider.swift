/// The payment providers a reservation can be paid through, each with its clearing account: the
/// money the provider owes the platform for payments it took.
public enum Provider: String, CaseIterable, Sendable {
    case bkash = "BKASH"
    case nagad = "NAGAD"
    case sslcommerz = "SSLCOMMERZ"

    /// The ledger account the provider's payments are held from.
    public var clearingAccountKey: String { "provider:\(rawValue.lowercased()):clearing" }

    /// The provider named in a path or a command line (`bkash`, `nagad`, `sslcommerz`), any case.
    public init?(pathName: String) { self.init(rawValue: pathName.uppercased()) }

    /// The provider's name as its customers know it: `bKash`, `Nagad`, `SSLCommerz`.
    public var displayName: String {
        switch self {
        case .bkash: "bKash"
        case .nagad: "Nagad"
        case .sslcommerz: "SSLCommerz"
        }
    }

    /// The names accepted, for messages.
    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Business codes Khata's own transfers carry.
public enum BusinessCode {
    /// A reservation's hold, its capture and its release.
    public static let bookingPayment: UInt16 = 1
    /// Reconciliation's clearing of a settled line: the provider's clearing account against the
    /// settlement bank account (the net) and the fee expense account (the fee).
    public static let settlementClearing: UInt16 = 2
    /// A person's resolution of a reconciliation mismatch: a line cleared at agreed figures, a
    /// difference written off or moved for correction, or the reversal of one of these.
    public static let mismatchResolution: UInt16 = 3
}
