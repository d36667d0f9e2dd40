#if canImport(Glibc)
    import Glibc
#endif

/// The fixed-size, heap-free forms in which the state keeps accounts and transfers, in chunked
/// raw memory (`ChunkedArray`). Ids are split into two words so that a record is 8-byte aligned
/// and its size is what the fields add up to.
///
/// Fields named `committed…` are what readers see: the engine writes them once the group that
/// changed them is durable (the state only initializes them); every other field belongs to the
/// state.

/// "No record": an empty history link or a transfer without a pending id.
package let noRecord = UInt32.max

/// An account: 192 bytes, three cache lines. The first holds what applying a transfer reads
/// and writes (id, live balances, history ends, currency and flags), so that one prefetch
/// covers it; the second what readers read; the third the key.
package struct AccountRecord: BitwiseCopyable {
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
    /// Whether the account is the debit side of its last transfer (1) or the credit side (0):
    /// which link of that transfer the next one is chained to.
    var lastTransferIsDebit: UInt8 = 0
    /// The balances as of the last durable group, in the same order, guarded by `version`.
    var committed: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// A seqlock over `committed`: odd while the engine writes them.
    var version: UInt64 = 0
    package var timestamp: UInt64
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

    package var id: UInt128 { UInt128(idHigh) << 64 | UInt128(idLow) }

    @inline(__always)
    package func hasId(_ id: UInt128) -> Bool {
        idLow == UInt64(truncatingIfNeeded: id) && idHigh == UInt64(truncatingIfNeeded: id >> 64)
    }

    /// The address of `committed` (four words) and of `version` in the record at `record`.
    @inline(__always)
    package static func committedAddresses(
        _ record: UnsafeMutablePointer<AccountRecord>
    ) -> (balances: UnsafeMutablePointer<UInt64>, version: UnsafeMutablePointer<UInt64>) {
        let base = UnsafeMutableRawPointer(record)
        return (
            (base + committedOffset).assumingMemoryBound(to: UInt64.self),
            (base + versionOffset).assumingMemoryBound(to: UInt64.self)
        )
    }

    @inline(__always)
    static func firstTransferAddress(_ record: UnsafeMutablePointer<AccountRecord>) -> UnsafeMutablePointer<UInt32> {
        (UnsafeMutableRawPointer(record) + firstTransferOffset).assumingMemoryBound(to: UInt32.self)
    }

    // Safe: the key paths name stored properties, which have offsets.
    private static let committedOffset = MemoryLayout<AccountRecord>.offset(of: \AccountRecord.committed)!
    private static let versionOffset = MemoryLayout<AccountRecord>.offset(of: \AccountRecord.version)!
    private static let firstTransferOffset = MemoryLayout<AccountRecord>.offset(of: \AccountRecord.firstTransfer)!

    package var keyString: String {
        withUnsafeBytes(of: key) { String(decoding: $0.prefix(Int(keyLength)), as: UTF8.self) }
    }

    package func keyEquals(_ bytes: UnsafeRawBufferPointer) -> Bool {
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

/// A transfer: 40 bytes, all that memory keeps of it. Everything else (accounts, amount,
/// reference, the request as sent) is in its log record, found by `sequence`; what the rules
/// need of open holds and refunded transfers lives in side tables while it matters.
package struct TransferRecord: BitwiseCopyable {
    var idLow: UInt64
    var idHigh: UInt64
    package var timestamp: UInt64
    /// The log sequence number of the transfer's record, in 48 bits.
    var sequenceLow: UInt32
    var sequenceHigh: UInt16
    /// `TransferState` in the low bits, `TransferRecord.refundedBit` once part is refunded: the
    /// sequencer's live value.
    var state: UInt8
    /// The same as of the last durable group, written by the I/O thread for readers.
    var committedState: UInt8
    /// The next transfer in the histories of this transfer's debit and credit accounts.
    var nextOfDebit: UInt32 = noRecord
    var nextOfCredit: UInt32 = noRecord

    package static let stateMask: UInt8 = 0x0F
    package static let refundedBit: UInt8 = 0x80

    @inline(__always)
    package static func committedStateAddress(_ record: UnsafeMutablePointer<TransferRecord>) -> UnsafeMutablePointer<
        UInt8
    > {
        (UnsafeMutableRawPointer(record) + committedStateOffset).assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    static func nextAddress(_ record: UnsafeMutablePointer<TransferRecord>, debitSide: Bool) -> UnsafeMutablePointer<
        UInt32
    > {
        (UnsafeMutableRawPointer(record) + (debitSide ? nextOfDebitOffset : nextOfCreditOffset))
            .assumingMemoryBound(to: UInt32.self)
    }

    // Safe: the key paths name stored properties, which have offsets.
    private static let committedStateOffset = MemoryLayout<TransferRecord>.offset(of: \TransferRecord.committedState)!
    private static let nextOfDebitOffset = MemoryLayout<TransferRecord>.offset(of: \TransferRecord.nextOfDebit)!
    private static let nextOfCreditOffset = MemoryLayout<TransferRecord>.offset(of: \TransferRecord.nextOfCredit)!

    init(id: UInt128, timestamp: UInt64, sequence: UInt64, state: TransferState) {
        precondition(sequence < 1 << 48, "log sequence \(sequence) beyond 48 bits")
        idLow = UInt64(truncatingIfNeeded: id)
        idHigh = UInt64(truncatingIfNeeded: id >> 64)
        self.timestamp = timestamp
        sequenceLow = UInt32(truncatingIfNeeded: sequence)
        sequenceHigh = UInt16(truncatingIfNeeded: sequence >> 32)
        self.state = state.rawValue
        committedState = state.rawValue
    }

    package var sequence: UInt64 { UInt64(sequenceHigh) << 32 | UInt64(sequenceLow) }

    var transferState: TransferState {
        // Safe: only TransferState values (plus the refunded bit) are ever stored.
        TransferState(rawValue: state & Self.stateMask)!
    }

    package var id: UInt128 { UInt128(idHigh) << 64 | UInt128(idLow) }

    @inline(__always)
    package func hasId(_ id: UInt128) -> Bool {
        idLow == UInt64(truncatingIfNeeded: id) && idHigh == UInt64(truncatingIfNeeded: id >> 64)
    }
}

/// What the rules need of a hold while it is open: kept in a side table from its creation until
/// it is posted, voided or expired.
struct HoldEntry {
    var debitAccount: UInt32
    var creditAccount: UInt32
    var amountMinor: UInt64
    var expiresAt: UInt64
}
