import Foundation

/// What kind of difference reconciliation found between a provider's settlement and the ledger.
public enum MismatchCategory: String, Sendable, CaseIterable {
    case amountMismatch = "amount_mismatch"
    case feeMismatch = "fee_mismatch"
    case missingInLedger = "missing_in_ledger"
    case missingAtProvider = "missing_at_provider"
    case duplicateSettlement = "duplicate_settlement"
    case statusMismatch = "status_mismatch"
    case currencyMismatch = "currency_mismatch"
    case lateSettlement = "late_settlement"
    /// Chargebacks and the providers' adjustments, always for a person to review.
    case adjustment
}

/// Where a mismatch stands in the finance team's review.
public enum MismatchState: String, Sendable, CaseIterable {
    case open, acknowledged, resolved

    /// The moves a person may make: acknowledge or resolve an open one, resolve an acknowledged
    /// one, and reopen a resolved one that turned out not to be, or an acknowledged one.
    public func canMove(to next: MismatchState) -> Bool {
        switch (self, next) {
        case (.open, .acknowledged), (.open, .resolved), (.acknowledged, .resolved), (.resolved, .open),
            (.acknowledged, .open):
            true
        default: false
        }
    }
}

/// A field the ledger and the provider disagree on, with both values as people read them
/// (`amount: ledger 1500.00, provider 1499.00`).
public struct MismatchField: Sendable, Equatable {
    public var name: String
    public var ledger: String
    public var provider: String

    public init(name: String, ledger: String, provider: String) {
        self.name = name
        self.ledger = ledger
        self.provider = provider
    }

    /// The fields in one line, as every report and page words them:
    /// `amount: ledger 1500.00, provider 1499.00; fee: ledger 27.75, provider 28.00`.
    public static func summary(_ fields: [MismatchField]) -> String {
        fields.map { "\($0.name): ledger \($0.ledger), provider \($0.provider)" }.joined(separator: "; ")
    }
}

/// A mismatch as reconciliation reports it.
public struct NewMismatch: Sendable, Equatable {
    public var category: MismatchCategory
    /// What the mismatch is about, the same in every run that finds it: a provider transaction
    /// (`bkash:txn:TRX123`), a repeated line (`bkash:line:3:17`) or a ledger payment
    /// (`bkash:payment:KH…`).
    public var identity: String
    /// The line's kind (`payment`, `refund`, `chargeback`, `adjustment`).
    public var kind: String
    /// The settlement line concerned, by its file and line number, if one is.
    public var settlementFileId: Int64?
    public var settlementSourceLine: Int?
    public var ourReference: String?
    public var providerTxnId: String?
    public var ledgerTransferId: String?
    public var currency: String?
    /// The ledger's amount and the provider's gross amount, in minor units, where known.
    public var ledgerMinor: Int64?
    public var providerMinor: Int64?
    /// The provider's fee and net, and the contracted fee where a schedule applies.
    public var feeMinor: Int64?
    public var contractedFeeMinor: Int64?
    public var netMinor: Int64?
    /// Every field that differs, with both values.
    public var fields: [MismatchField]
    /// The fields in one sentence.
    public var detail: String

    public init(
        category: MismatchCategory, identity: String, kind: String = "payment", settlementFileId: Int64? = nil,
        settlementSourceLine: Int? = nil, ourReference: String? = nil, providerTxnId: String? = nil,
        ledgerTransferId: String? = nil, currency: String? = nil, ledgerMinor: Int64? = nil,
        providerMinor: Int64? = nil, feeMinor: Int64? = nil, contractedFeeMinor: Int64? = nil, netMinor: Int64? = nil,
        fields: [MismatchField] = [], detail: String
    ) {
        self.category = category
        self.identity = identity
        self.kind = kind
        self.settlementFileId = settlementFileId
        self.settlementSourceLine = settlementSourceLine
        self.ourReference = ourReference
        self.providerTxnId = providerTxnId
        self.ledgerTransferId = ledgerTransferId
        self.currency = currency
        self.ledgerMinor = ledgerMinor
        self.providerMinor = providerMinor
        self.feeMinor = feeMinor
        self.contractedFeeMinor = contractedFeeMinor
        self.netMinor = netMinor
        self.fields = fields
        self.detail = detail
    }
}

/// A stored mismatch: one row per identity, whichever runs found it.
public struct Mismatch: Sendable, Equatable {
    public var id: Int64
    /// The run that first found it, and the last one that did.
    public var runId: Int64
    public var lastRunId: Int64
    public var provider: String
    public var found: NewMismatch
    public var state: MismatchState
    /// How it was resolved: `automatic` when a later run found it settled.
    public var resolution: String?
    public var createdAt: String
    public var updatedAt: String
}

/// One change of a mismatch's state, by whom and why.
public struct MismatchEvent: Sendable, Equatable {
    public var from: MismatchState
    public var to: MismatchState
    /// The key's name of the person, or `reconciliation` for a run's automatic change.
    public var actor: String
    public var note: String
    public var at: String
    /// The run that made an automatic change.
    public var runId: Int64?

    public init(
        from: MismatchState, to: MismatchState, actor: String, note: String, at: String, runId: Int64? = nil
    ) {
        self.from = from
        self.to = to
        self.actor = actor
        self.note = note
        self.at = at
        self.runId = runId
    }
}

/// A change of state refused: what and why. Nothing was written. The shape of every error of
/// Khata: a stable code, extensible without breaking callers, and the details some codes carry.
public struct MismatchError: Error, Equatable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public var description: String { name }

        public static let notFound = Code(name: "notFound")
        public static let notAllowed = Code(name: "notAllowed")
        /// Someone else moved it first: it is no longer in the state the caller saw.
        public static let changedMeanwhile = Code(name: "changedMeanwhile")
        public static let emptyField = Code(name: "emptyField")
    }

    public var code: Code
    public var message: String
    /// The mismatch concerned.
    public var id: Int64?
    /// The state it was in (or was expected in), and the state asked for or found.
    public var from: MismatchState?
    public var to: MismatchState?

    public init(_ code: Code, _ message: String, id: Int64? = nil, from: MismatchState? = nil, to: MismatchState? = nil)
    {
        self.code = code
        self.message = message
        self.id = id
        self.from = from
        self.to = to
    }

    public var description: String { message }

    public static func notFound(id: Int64) -> MismatchError {
        MismatchError(.notFound, "mismatch \(id) does not exist", id: id)
    }

    public static func notAllowed(id: Int64, from: MismatchState, to: MismatchState) -> MismatchError {
        MismatchError(.notAllowed, "mismatch \(id) cannot move from \(from) to \(to)", id: id, from: from, to: to)
    }

    public static func changedMeanwhile(id: Int64, expected: MismatchState, actual: MismatchState) -> MismatchError {
        MismatchError(
            .changedMeanwhile, "mismatch \(id) is \(actual) now, not \(expected): it was changed meanwhile", id: id,
            from: expected, to: actual)
    }

    public static func emptyField(_ field: String) -> MismatchError {
        MismatchError(.emptyField, "\(field) must not be empty")
    }
}

/// Reconciliation runs, their mismatches, and the finance team's review of them.
public struct Mismatches: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// The mismatches one run found (whatever they are now), or those in one state, in the order
    /// first found.
    public func list(runId: Int64? = nil, state: MismatchState? = nil, limit: Int = 1_000) async throws -> [Mismatch] {
        var conditions: [String] = []
        var values: [SQLValue] = []
        if let runId {
            conditions.append("id IN (SELECT mismatch_id FROM reconciliation_findings WHERE run_id = ?)")
            values.append(.integer(runId))
        }
        if let state {
            conditions.append("state = ?")
            values.append(.text(state.rawValue))
        }
        let filter = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let bound = values + [.integer(Int64(limit))]
        return try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM mismatches\(filter) ORDER BY id LIMIT ?", bound)
                .map(Self.mismatch)
        }
    }

    /// The mismatch with this identity, if one was ever found.
    public func mismatch(identity: String) async throws -> Mismatch? {
        try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM mismatches WHERE identity = ?", [.text(identity)]).first
                .map(Self.mismatch)
        }
    }

    public func mismatch(id: Int64) async throws -> Mismatch? {
        try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM mismatches WHERE id = ?", [.integer(id)]).first
                .map(Self.mismatch)
        }
    }

    /// Moves mismatch `id` from `expected` to `next`, with who did it and why, kept in its history.
    /// Refused, with nothing written, when the move is not allowed, the note or actor is empty, or
    /// someone moved it first.
    public func move(
        id: Int64, from expected: MismatchState, to next: MismatchState, actor: String, note: String,
        at nanoseconds: UInt64
    ) async throws {
        guard !actor.isEmpty else { throw MismatchError.emptyField("actor") }
        guard !note.allSatisfy(\.isWhitespace) else { throw MismatchError.emptyField("note") }
        guard expected.canMove(to: next) else { throw MismatchError.notAllowed(id: id, from: expected, to: next) }
        let now = UTCTime.text(nanoseconds: nanoseconds)
        try await database.perform { connection in
            try connection.transaction {
                let changed = try connection.run(
                    "UPDATE mismatches SET state = ?, updated_at = ? WHERE id = ? AND state = ?",
                    [.text(next.rawValue), .text(now), .integer(id), .text(expected.rawValue)])
                guard changed == 1 else {
                    let actual = try connection.query("SELECT state FROM mismatches WHERE id = ?", [.integer(id)])
                    guard let word = actual.first?.first?.text, let state = MismatchState(rawValue: word) else {
                        throw MismatchError.notFound(id: id)
                    }
                    throw MismatchError.changedMeanwhile(id: id, expected: expected, actual: state)
                }
                try connection.run(
                    """
                    INSERT INTO mismatch_events (mismatch_id, from_state, to_state, actor, note, at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .integer(id), .text(expected.rawValue), .text(next.rawValue), .text(actor), .text(note),
                        .text(now),
                    ])
            }
        }
    }

    /// The changes of one mismatch's state, first first.
    public func history(id: Int64) async throws -> [MismatchEvent] {
        try await database.perform { connection in
            try connection.query(
                """
                SELECT from_state, to_state, actor, note, at, run_id FROM mismatch_events
                WHERE mismatch_id = ? ORDER BY id
                """, [.integer(id)]
            ).map { row in
                MismatchEvent(
                    from: MismatchState(rawValue: row[0].text ?? "") ?? .open,
                    to: MismatchState(rawValue: row[1].text ?? "") ?? .open, actor: row[2].text ?? "",
                    note: row[3].text ?? "", at: row[4].text ?? "", runId: row[5].integer)
            }
        }
    }

    static let columns = """
        id, run_id, last_run_id, provider, category, identity, kind, settlement_file_id, settlement_source_line,
            our_reference, provider_txn_id, ledger_transfer_id, currency, expected_minor, actual_minor, fee_minor,
            contracted_fee_minor, net_minor, fields, detail, state, resolution, created_at, updated_at
        """

    static func mismatch(_ row: [SQLValue]) -> Mismatch {
        Mismatch(
            id: row[0].integer ?? 0, runId: row[1].integer ?? 0, lastRunId: row[2].integer ?? 0,
            provider: row[3].text ?? "",
            found: NewMismatch(
                category: MismatchCategory(rawValue: row[4].text ?? "") ?? .amountMismatch,
                identity: row[5].text ?? "", kind: row[6].text ?? "payment", settlementFileId: row[7].integer,
                settlementSourceLine: row[8].integer.map { Int($0) }, ourReference: row[9].text,
                providerTxnId: row[10].text, ledgerTransferId: row[11].text, currency: row[12].text,
                ledgerMinor: row[13].integer, providerMinor: row[14].integer, feeMinor: row[15].integer,
                contractedFeeMinor: row[16].integer, netMinor: row[17].integer,
                fields: MismatchField.decode(row[18].text ?? "[]"), detail: row[19].text ?? ""),
            state: MismatchState(rawValue: row[20].text ?? "") ?? .open, resolution: row[21].text,
            createdAt: row[22].text ?? "", updatedAt: row[23].text ?? "")
    }
}

extension MismatchField {
    /// The fields as a JSON array of `{"ledger", "name", "provider"}` objects (keys sorted), written
    /// by hand: a run records every mismatch's fields, and a report reads them all back.
    static func encode(_ fields: [MismatchField]) -> String {
        var out: [UInt8] = [0x5B]
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(0x2C) }
            out += Array(#"{"ledger":"#.utf8)
            quote(field.ledger, into: &out)
            out += Array(#","name":"#.utf8)
            quote(field.name, into: &out)
            out += Array(#","provider":"#.utf8)
            quote(field.provider, into: &out)
            out.append(0x7D)
        }
        out.append(0x5D)
        return String(decoding: out, as: UTF8.self)
    }

    private static func quote(_ text: String, into out: inout [UInt8]) {
        out.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x0D: out += [0x5C, 0x72]
            case 0x09: out += [0x5C, 0x74]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }

    /// The fields of `encode`'s text (or of the JSON an earlier version wrote); a text this store
    /// did not write reads as no fields.
    public static func decode(_ text: String) -> [MismatchField] {
        var reader = FieldListReader(text)
        if let fields = reader.read() { return fields }
        guard let objects = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: String]] else {
            return []
        }
        return objects.map {
            MismatchField(name: $0["name"] ?? "", ledger: $0["ledger"] ?? "", provider: $0["provider"] ?? "")
        }
    }
}

/// Reads the fields as `encode` writes them (`{"ledger":…,"name":…,"provider":…}` objects, no
/// blanks); nil for anything else, which the general parser then reads.
private struct FieldListReader {
    let bytes: [UInt8]
    var position = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    static let ledgerKey = Array(#"{"ledger":"#.utf8)
    static let nameKey = Array(#","name":"#.utf8)
    static let providerKey = Array(#","provider":"#.utf8)

    mutating func read() -> [MismatchField]? {
        var fields: [MismatchField] = []
        guard take(0x5B) else { return nil }
        if take(0x5D) { return position == bytes.count ? fields : nil }
        repeat {
            guard take(Self.ledgerKey), let ledger = string(), take(Self.nameKey), let name = string(),
                take(Self.providerKey), let provider = string(), take(0x7D)
            else { return nil }
            fields.append(MismatchField(name: name, ledger: ledger, provider: provider))
        } while take(0x2C)
        guard take(0x5D), position == bytes.count else { return nil }
        return fields
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func take(_ word: [UInt8]) -> Bool {
        guard bytes.count - position >= word.count, bytes[position..<position + word.count].elementsEqual(word)
        else { return false }
        position += word.count
        return true
    }

    /// A string without `\u` escapes (those go to the general parser).
    private mutating func string() -> String? {
        guard take(0x22) else { return nil }
        let start = position
        // Most values have no escape: taken as they are.
        while position < bytes.count, bytes[position] != 0x22, bytes[position] != 0x5C { position += 1 }
        if position < bytes.count, bytes[position] == 0x22 {
            position += 1
            return String(decoding: bytes[start..<position - 1], as: UTF8.self)
        }
        var out = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case 0x22: return String(decoding: out, as: UTF8.self)
            case 0x5C:
                guard position < bytes.count else { return nil }
                let escaped = bytes[position]
                position += 1
                switch escaped {
                case 0x22, 0x5C, 0x2F: out.append(escaped)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                default: return nil
                }
            default: out.append(byte)
            }
        }
        return nil
    }
}
