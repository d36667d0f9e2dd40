import KhataCrypto
import Ledger
import LedgerCore
import LedgerStorage

/// What an auditor asks of an archive: one account's entries over a period.
public struct StatementRequest: Sendable {
    public var archiveDirectory: String
    public var trustedKey: Ed25519.PublicKey?
    public var accountKey: String
    /// The period in ledger time (nanoseconds since the Unix epoch): from `fromNanoseconds`
    /// (inclusive) until `untilNanoseconds` (exclusive).
    public var fromNanoseconds: UInt64
    public var untilNanoseconds: UInt64

    public init(
        archiveDirectory: String, trustedKey: Ed25519.PublicKey?, accountKey: String, fromNanoseconds: UInt64,
        untilNanoseconds: UInt64
    ) {
        self.archiveDirectory = archiveDirectory
        self.trustedKey = trustedKey
        self.accountKey = accountKey
        self.fromNanoseconds = fromNanoseconds
        self.untilNanoseconds = untilNanoseconds
    }
}

/// An account's four balances, in minor units of its currency.
public struct StatementBalances: Sendable, Equatable {
    public var debitsPending: UInt64 = 0
    public var debitsPosted: UInt64 = 0
    public var creditsPending: UInt64 = 0
    public var creditsPosted: UInt64 = 0

    public init(debitsPending: UInt64, debitsPosted: UInt64, creditsPending: UInt64, creditsPosted: UInt64) {
        self.debitsPending = debitsPending
        self.debitsPosted = debitsPosted
        self.creditsPending = creditsPending
        self.creditsPosted = creditsPosted
    }

    init(_ account: Account?) {
        guard let account else { return }
        debitsPending = account.debitsPending
        debitsPosted = account.debitsPosted
        creditsPending = account.creditsPending
        creditsPosted = account.creditsPosted
    }

    /// Posted credits minus posted debits: what the account holds, read credit side up.
    public var postedMinor: Int128 { Int128(creditsPosted) - Int128(debitsPosted) }
    /// Pending credits minus pending debits: what holds would add if all were captured.
    public var pendingMinor: Int128 { Int128(creditsPending) - Int128(debitsPending) }
}

/// One entry of a statement: an event of the log that moved the account.
public struct StatementEntry: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A single-phase transfer.
        case transfer
        /// A hold (reservation): pending until captured, voided or expired.
        case hold
        case capture
        case void
        /// A hold released because its payment window closed.
        case expiry
        case refund
    }

    public enum Side: String, Sendable {
        case debit
        case credit
    }

    public var sequence: UInt64
    /// The event's ledger time; for an entry whose outcome is not known, the batch's time.
    public var timestampNanoseconds: UInt64
    /// The transfer's id; for an expiry, the hold's.
    public var transferId: UInt128
    public var kind: Kind
    public var side: Side
    public var counterpartyId: UInt128
    /// The counterparty's key, when the archive holds its creation.
    public var counterpartyKey: String?
    /// What the entry moved: the transfer's amount, a capture's captured amount, a void's or
    /// expiry's released hold.
    public var amountMinor: UInt64
    /// The hold a capture, void, expiry or refund names (0 when none).
    public var holdId: UInt128
    public var reference: String
    public var code: UInt16
    /// The account's balances after the entry (after its linked chain, for a chained one); `nil`
    /// when the archive does not hold the history needed to know them.
    public var balancesAfter: StatementBalances?
}

/// An account's statement read from an archive.
public struct Statement: Sendable {
    public var accountId: UInt128
    public var accountKey: String
    public var currency: Currency?
    /// When the account was created, if the archive holds it.
    public var createdAtNanoseconds: UInt64?
    /// The archive read: its sequences and ledger times.
    public var archiveFirstSequence: UInt64
    public var archiveLastSequence: UInt64
    public var archiveFirstNanoseconds: UInt64?
    public var archiveLastNanoseconds: UInt64?
    /// True when the archive holds the whole log from its first record, so that every outcome and
    /// balance is known; otherwise `limitation` says what is missing.
    public var complete: Bool
    public var limitation: String?
    /// Balances at the start of the period and at its end (or at the archive's end, when it ends
    /// first); `nil` unless complete.
    public var opening: StatementBalances?
    public var closing: StatementBalances?
    /// Whether the archive reaches the end of the period.
    public var coversPeriodEnd: Bool
    public var entries: [StatementEntry]
}

/// Reads one account's statement straight from an archive's log files, without restoring: every
/// file read is verified as `khata verify` verifies it, and the entries are handed out only
/// after. With the log from its first record, the ledger's own rules are replayed, so that each
/// entry is one the ledger applied and its balances are the ledger's; otherwise the entries are
/// the requests logged, outcome unknown.
public enum ArchiveStatementReader {
    public static func statement(_ request: StatementRequest) throws(ArchiveError) -> Statement {
        guard request.fromNanoseconds < request.untilNanoseconds else {
            throw ArchiveError(.refused, "the period ends before it starts")
        }
        let exports = try ArchiveVerifier.exports(directory: request.archiveDirectory, trustedKey: request.trustedKey)
        guard let first = exports.first?.manifest, let last = exports.last?.manifest else {
            throw ArchiveError(.refused, "the archive folder holds no exports", path: request.archiveDirectory)
        }
        let replay = StatementReplay(request: request, complete: first.firstSequence == 1)
        outer: for export in exports {
            for file in export.manifest.logFiles {
                // Safe: logFiles are the files with a piece.
                let piece = file.log!
                if let start = piece.firstTimeNanoseconds, start >= request.untilNanoseconds, replay.pastPeriod {
                    break outer
                }
                let path = export.folder + "/" + file.name
                let sealer = GroupSealer()
                try PieceReplay(path: path, file: file, piece: piece).run(sealer: sealer) {
                    group throws(ArchiveError) in
                    try replay.group(group, path: path)
                }
            }
        }
        return replay.finish(first: first, last: last)
    }
}

/// The replay behind a statement: records in log order, batches applied in units (a linked chain
/// or a single event) so that the account's balances can be read after each.
final class StatementReplay {
    /// A transfer that moved the account, for the captures, voids, expiries and refunds that
    /// name it later.
    struct Move {
        let debit: UInt128
        let credit: UInt128
        let amountMinor: UInt64
    }

    let request: StatementRequest
    let complete: Bool
    private let state = LedgerState<Unshared>()
    private var accountId: UInt128?
    private var accountCreated: UInt64?
    private var currency: Currency?
    private var moves: [UInt128: Move] = [:]
    /// Account keys by id, for counterparties.
    private var keys: [UInt128: String] = [:]
    private var batchNow: UInt64 = 0
    private var batchExpected = 0
    private var batchFirstSequence: UInt64 = 0
    private var batch: [Event] = []
    /// For a replay without state: the ledger time after the last batch, as the ledger keeps it.
    private var lastTimestamp: UInt64 = 0
    private var opening: StatementBalances?
    private var closing: StatementBalances?
    private(set) var pastPeriod = false
    private var entries: [StatementEntry] = []

    init(request: StatementRequest, complete: Bool) {
        self.request = request
        self.complete = complete
        // Without the account's creation, the id its key gives (as the API and CLI derive it).
        if !complete { accountId = NewAccount.derivedId(forKey: request.accountKey) }
    }

    func group(_ bytes: UnsafeRawBufferPointer, path: String) throws(ArchiveError) {
        let count = bytes.count / Format.recordSizeBytes - 1
        // Safe: a group always has its commit record.
        let base = bytes.baseAddress!
        for index in 0..<count {
            let slot = base + index * Format.recordSizeBytes
            let kind = RecordKind(rawValue: slot.load(fromByteOffset: 4, as: UInt8.self))
            let sequence = UInt64(littleEndian: slot.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            do throws(EventDecodingError) {
                try record(kind: kind, sequence: sequence, body: slot + Format.recordBodyOffset)
            } catch {
                throw ArchiveError(.damaged, "record \(sequence) is not a ledger event: \(error)", path: path)
            }
        }
    }

    private func record(kind: RecordKind, sequence: UInt64, body: UnsafeRawPointer) throws(EventDecodingError) {
        if kind == EventCodec.batchKind {
            guard batchExpected == 0 else { throw EventDecodingError("a batch record interrupts a batch") }
            (batchNow, batchExpected) = try EventCodec.decodeBatch(body)
            batchFirstSequence = sequence + 1
            batch.removeAll(keepingCapacity: true)
            return
        }
        guard batchExpected > 0 else {
            // A partial archive may start inside a batch: its first events have no batch record.
            if complete { throw EventDecodingError("an event record outside a batch") }
            return
        }
        batch.append(try EventCodec.decode(kind: kind, body))
        if batch.count == batchExpected {
            batchExpected = 0
            if complete { applyBatch() } else { listBatch() }
        }
    }

    /// Applies the batch as the ledger did, a unit at a time: the same timestamps and sequences
    /// as one call (each unit starts where the one before ended), the same outcomes (a linked
    /// chain is one unit).
    private func applyBatch() {
        let base = max(batchNow, state.lastTimestamp + 1)
        var start = 0
        while start < batch.count {
            var end = start
            while end < batch.count - 1 && batch[end].isLinked { end += 1 }
            let unitTime = base + UInt64(start)
            if opening == nil && unitTime >= request.fromNanoseconds { opening = balances() }
            if !pastPeriod && unitTime >= request.untilNanoseconds {
                closing = balances()
                pastPeriod = true
            }
            let unit = Array(batch[start...end])
            let touches = !pastPeriod && unit.contains { touchesAccount($0) }
            let results = state.apply(unit, now: unitTime, firstSequence: batchFirstSequence + UInt64(start))
            var made: [StatementEntry] = []
            // `exists` (a retry answered with the first outcome) moved nothing again.
            for (offset, event) in unit.enumerated() where results[offset].code == .ok {
                let sequence = batchFirstSequence + UInt64(start + offset)
                if touches, unitTime + UInt64(offset) >= request.fromNanoseconds,
                    var entry = entry(event, sequence: sequence)
                {
                    entry.timestampNanoseconds = results[offset].timestamp
                    made.append(entry)
                }
                note(event)
            }
            if !made.isEmpty {
                let after = balances()
                for var entry in made {
                    entry.balancesAfter = after
                    entries.append(entry)
                }
            }
            start = end + 1
        }
    }

    /// Without the history before the archive, the requests logged for the account, outcome
    /// unknown.
    private func listBatch() {
        let base = max(batchNow, lastTimestamp + 1)
        lastTimestamp = base + UInt64(batch.count) - 1
        for (offset, event) in batch.enumerated() {
            let time = base + UInt64(offset)
            if time >= request.untilNanoseconds { pastPeriod = true }
            if time >= request.fromNanoseconds, time < request.untilNanoseconds,
                var entry = entry(event, sequence: batchFirstSequence + UInt64(offset))
            {
                entry.timestampNanoseconds = time
                entries.append(entry)
            }
            note(event)
        }
    }

    private func balances() -> StatementBalances? {
        guard complete else { return nil }
        return StatementBalances(accountId.flatMap { state.account(id: $0) })
    }

    /// Whether `event` may move the account (looked at before it is applied).
    private func touchesAccount(_ event: Event) -> Bool {
        guard let accountId else { return false }
        switch event {
        case .createAccount: return false
        case .createTransfer(let transfer):
            return transfer.debitAccountId == accountId || transfer.creditAccountId == accountId
                || (transfer.pendingId != 0 && moves[transfer.pendingId] != nil)
        case .expirePending(let pendingId): return moves[pendingId] != nil
        }
    }

    /// Keeps what later events need: account keys, the account's id, the transfers that moved it.
    private func note(_ event: Event) {
        switch event {
        case .createAccount(let account):
            keys[account.id] = account.key
            if account.key == request.accountKey && (complete ? accountCreated == nil : true) {
                accountId = account.id
                currency = account.currency
                accountCreated = complete ? state.account(id: account.id)?.timestamp : nil
            }
        case .createTransfer(let transfer):
            guard let accountId, touchesAccount(event), let (debit, credit, amount) = resolved(transfer),
                debit == accountId || credit == accountId
            else { return }
            moves[transfer.id] = Move(debit: debit, credit: credit, amountMinor: amount)
        case .expirePending: break
        }
    }

    /// A transfer's accounts and amount: as the ledger applied it, or, without state, as the
    /// request and the transfer it names give them.
    private func resolved(_ request: NewTransfer) -> (UInt128, UInt128, UInt64)? {
        if complete {
            guard let fields = state.transfer(id: request.id)?.fields else { return nil }
            return (fields.debitAccountId, fields.creditAccountId, fields.amountMinor)
        }
        var debit = request.debitAccountId
        var credit = request.creditAccountId
        var amount = request.amountMinor
        if request.pendingId != 0, let named = moves[request.pendingId] {
            // A refund runs the other way; a capture or void takes what its request leaves out.
            let refund = request.flags.contains(.refund)
            if debit == 0 { debit = refund ? named.credit : named.debit }
            if credit == 0 { credit = refund ? named.debit : named.credit }
            if amount == 0 || request.flags.contains(.voidPending) { amount = named.amountMinor }
        }
        return (debit, credit, amount)
    }

    /// The entry an applied (or, without state, logged) event makes for the account, if any.
    private func entry(_ event: Event, sequence: UInt64) -> StatementEntry? {
        guard let accountId else { return nil }
        switch event {
        case .createAccount: return nil
        case .createTransfer(let request):
            guard let (debit, credit, resolvedAmount) = resolved(request), debit == accountId || credit == accountId
            else { return nil }
            let flags = request.flags
            let kind: StatementEntry.Kind =
                flags.contains(.pending)
                ? .hold
                : flags.contains(.postPending)
                    ? .capture
                    : flags.contains(.voidPending) ? .void : flags.contains(.refund) ? .refund : .transfer
            // A void moves what its hold held.
            let amount = kind == .void ? (moves[request.pendingId]?.amountMinor ?? resolvedAmount) : resolvedAmount
            let counterparty = debit == accountId ? credit : debit
            return StatementEntry(
                sequence: sequence, timestampNanoseconds: 0, transferId: request.id, kind: kind,
                side: debit == accountId ? .debit : .credit, counterpartyId: counterparty,
                counterpartyKey: keys[counterparty], amountMinor: amount, holdId: request.pendingId,
                reference: request.reference.description, code: request.code, balancesAfter: nil)
        case .expirePending(let pendingId):
            guard let hold = moves[pendingId] else { return nil }
            let counterparty = hold.debit == accountId ? hold.credit : hold.debit
            return StatementEntry(
                sequence: sequence, timestampNanoseconds: 0, transferId: pendingId, kind: .expiry,
                side: hold.debit == accountId ? .debit : .credit, counterpartyId: counterparty,
                counterpartyKey: keys[counterparty], amountMinor: hold.amountMinor, holdId: pendingId,
                reference: "", code: 0, balancesAfter: nil)
        }
    }

    func finish(first: ArchiveManifest, last: ArchiveManifest) -> Statement {
        if complete && !pastPeriod { closing = balances() }
        if complete && opening == nil { opening = balances() }
        let found = !complete || accountCreated != nil
        let limitation: String? =
            if !complete {
                "the archive starts at sequence \(first.firstSequence), not at the log's first record: outcomes "
                    + "and balances need the whole history, so the entries are the requests logged for the account"
            } else if !found {
                "the archive holds no account with this key"
            } else {
                nil
            }
        return Statement(
            accountId: accountId ?? NewAccount.derivedId(forKey: request.accountKey), accountKey: request.accountKey,
            currency: currency, createdAtNanoseconds: accountCreated, archiveFirstSequence: first.firstSequence,
            archiveLastSequence: last.lastSequence, archiveFirstNanoseconds: first.firstTimeNanoseconds,
            archiveLastNanoseconds: last.lastTimeNanoseconds, complete: complete && found, limitation: limitation,
            opening: complete && found ? opening : nil, closing: complete && found ? closing : nil,
            coversPeriodEnd: pastPeriod || (last.lastTimeNanoseconds ?? 0) >= request.untilNanoseconds,
            entries: entries)
    }
}
