#if canImport(Glibc)
    import Glibc
#endif

/// The fixed-size, heap-free forms in which the state keeps accounts and transfers, in chunked
/// raw memory (`ChunkedArray`). Ids are split into two words so that a record is 8-byte aligned
/// and its size is what the fields add up to.
///
/// Fields named `committed…` are what readers see: the I/O thread writes them once the group
/// that changed them is durable; every other field belongs to the sequencer.

/// "No record": an empty history link or a transfer without a pending id.
let noRecord = UInt32.max

/// An account: 192 bytes, three cache lines. The first holds what applying a transfer reads
/// and writes (id, live balances, history ends, currency and flags), so that one prefetch
/// covers it; the second what readers read; the third the key.
struct AccountRecord {
    var idLow: UInt64
    var idHigh: UInt64
    var debitsPending: UInt64 = 0
    var debitsPosted: UInt64 = 0
    var creditsPending: UInt64 = 0
    var creditsPosted: UInt64 = 0
    /// The account's first and last transfer: the ends of its history, linked through the
    /// transfers' `nextOfDebit`/`nextOfCredit`.
    var firstTransfer: UInt32 = noRecord
    var lastTransfer: UInt32 = noRecord
    var currency: UInt16
    var flags: UInt16
    var code: UInt16
    var keyLength: UInt8
    private var padding0: UInt8 = 0
    /// The balances as of the last durable group, in the same order, guarded by `version`.
    var committed: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// A seqlock over `committed`: odd while the I/O thread writes them.
    var version: UInt64 = 0
    var timestamp: UInt64
    private var padding1: (UInt64, UInt64) = (0, 0)
    /// The key's UTF-8 bytes, zero-padded (keys are at most 64 bytes).
    var key: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    init(
        idLow: UInt64, idHigh: UInt64, timestamp: UInt64, currency: UInt16, flags: UInt16, code: UInt16,
        keyLength: UInt8, key: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    ) {
        self.idLow = idLow
        self.idHigh = idHigh
        self.timestamp = timestamp
        self.currency = currency
        self.flags = flags
        self.code = code
        self.keyLength = keyLength
        self.key = key
    }

    var id: UInt128 { UInt128(idHigh) << 64 | UInt128(idLow) }

    @inline(__always)
    func hasId(_ id: UInt128) -> Bool {
        idLow == UInt64(truncatingIfNeeded: id) && idHigh == UInt64(truncatingIfNeeded: id >> 64)
    }

    var keyString: String {
        withUnsafeBytes(of: key) { String(decoding: $0.prefix(Int(keyLength)), as: UTF8.self) }
    }

    func keyEquals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == Int(keyLength) else { return false }
        return withUnsafeBytes(of: key) { stored in
            bytes.count == 0 || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0
        }
    }

    static func packKey(_ utf8: UnsafeRawBufferPointer) -> (
        UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
    ) {
        precondition(utf8.count <= NewAccount.maximumKeyBytes)
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            if utf8.count > 0 { raw.baseAddress!.copyMemory(from: utf8.baseAddress!, byteCount: utf8.count) }
        }
        return words
    }
}

/// Bits of `TransferRecord.given`: which fields the request named, so that a retry can be
/// compared with the request as sent (a post may leave its accounts and amount to the hold).
enum GivenFields {
    static let debitAccount: UInt8 = 1 << 0
    static let creditAccount: UInt8 = 1 << 1
    static let amount: UInt8 = 1 << 2
}

/// A transfer: 112 bytes. The first 64 hold what rules and history links touch, so that the
/// prefetch of a record's first bytes covers them; refunds and the reference come after.
struct TransferRecord {
    /// Account records (not ids), filled in from the hold or the original where left zero.
    var debitAccount: UInt32
    var creditAccount: UInt32
    /// The next transfer in the debit account's and in the credit account's history.
    var nextOfDebit: UInt32 = noRecord
    var nextOfCredit: UInt32 = noRecord
    var idLow: UInt64
    var idHigh: UInt64
    /// The amount moved, filled in from the hold for a post or void that left it zero.
    var amountMinor: UInt64
    var timestamp: UInt64
    var timeoutSeconds: UInt32
    /// The transfer record `pendingId` names, or `noRecord`.
    var pending: UInt32
    var flags: UInt16
    var code: UInt16
    var state: UInt8
    var committedState: UInt8
    var given: UInt8
    private var padding: UInt8 = 0
    var refundedMinor: UInt64 = 0
    var committedRefundedMinor: UInt64 = 0
    var reference: (UInt64, UInt64, UInt64, UInt64)

    init(
        idLow: UInt64, idHigh: UInt64, reference: (UInt64, UInt64, UInt64, UInt64), timestamp: UInt64,
        amountMinor: UInt64, debitAccount: UInt32, creditAccount: UInt32, pending: UInt32, timeoutSeconds: UInt32,
        code: UInt16, flags: UInt16, state: UInt8, committedState: UInt8, given: UInt8
    ) {
        self.idLow = idLow
        self.idHigh = idHigh
        self.reference = reference
        self.timestamp = timestamp
        self.amountMinor = amountMinor
        self.debitAccount = debitAccount
        self.creditAccount = creditAccount
        self.pending = pending
        self.timeoutSeconds = timeoutSeconds
        self.code = code
        self.flags = flags
        self.state = state
        self.committedState = committedState
        self.given = given
    }

    var id: UInt128 { UInt128(idHigh) << 64 | UInt128(idLow) }

    @inline(__always)
    func hasId(_ id: UInt128) -> Bool {
        idLow == UInt64(truncatingIfNeeded: id) && idHigh == UInt64(truncatingIfNeeded: id >> 64)
    }

    /// When a hold's payment window closes (0 for other transfers).
    var expiresAt: UInt64 {
        guard TransferFlags(rawValue: flags).contains(.pending) else { return 0 }
        return timestamp &+ UInt64(timeoutSeconds) &* LedgerState.nanosecondsPerSecond
    }
}
