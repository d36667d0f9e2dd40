import CPostgres
import Foundation
import KhataCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// One PostgreSQL connection through libpq: statements prepared once and kept, every value bound
/// as a parameter, errors typed with their SQLSTATE. A connection found broken is reset with
/// backoff (0.1, 0.2, 0.4 s) before the statement; a statement that fails on a broken connection
/// is reported, not retried, since it may have run.
public final class PostgresConnection: DatabaseConnection {
    public var dialect: Dialect { .postgres }
    public private(set) var sessionGeneration = 0
    private let handle: OpaquePointer
    private var statements: [String: String] = [:]
    /// The address without its password, for errors and logs.
    public let displayURL: String

    public init(url: String) throws(DatabaseError) {
        displayURL = Self.redacted(url)
        guard let connection = PQconnectdb(url) else {
            throw DatabaseError(kind: .other, code: "08001", message: "out of memory", sql: "connect \(displayURL)")
        }
        handle = connection
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingNewlines()
            PQfinish(connection)
            throw DatabaseError(kind: .other, code: "08001", message: message, sql: "connect \(displayURL)")
        }
        try execute(Self.sessionSettings)
    }

    deinit { PQfinish(handle) }

    /// Settings every session gets, at connect and after a reset: notices below warnings stay on
    /// the server instead of going to standard error.
    private static let sessionSettings = "SET client_min_messages = warning"

    public func execute(_ sql: String) throws(DatabaseError) {
        try ensureConnected(sql)
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result, sql)
    }

    @discardableResult
    public func run(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> Int {
        let result = try executePrepared(sql, values)
        defer { PQclear(result) }
        return Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public func query(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> [[SQLValue]] {
        let result = try executePrepared(sql, values)
        defer { PQclear(result) }
        let rows = PQntuples(result)
        let columns = PQnfields(result)
        var answer: [[SQLValue]] = []
        answer.reserveCapacity(Int(rows))
        for row in 0..<rows {
            answer.append(
                (0..<columns).map { column in
                    if PQgetisnull(result, row, column) == 1 { return .null }
                    let text = String(cString: PQgetvalue(result, row, column))
                    switch PQftype(result, column) {
                    case 20, 21, 23: return Int64(text).map(SQLValue.integer) ?? .text(text)
                    case 16: return .integer(text == "t" ? 1 : 0)
                    case 17: return .blob(Self.bytes(bytea: text))
                    default: return .text(text)
                    }
                })
        }
        return answer
    }

    /// The rows as bytes, straight from libpq's text results.
    public func rawQuery(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> RawRows {
        let result = try executePrepared(sql, values)
        defer { PQclear(result) }
        let count = PQntuples(result)
        let columns = PQnfields(result)
        var rows = RawRows(columnCount: Int(columns), reservingRows: Int(count))
        for row in 0..<count {
            for column in 0..<columns {
                if PQgetisnull(result, row, column) == 1 {
                    rows.append(nil)
                } else {
                    rows.append(
                        UnsafeRawBufferPointer(
                            start: PQgetvalue(result, row, column), count: Int(PQgetlength(result, row, column))))
                }
            }
            rows.endRow()
        }
        return rows
    }

    public var beginTransactionSQL: String { "BEGIN" }

    /// `COPY … FROM STDIN` in text format, sent in chunks of about 1 MiB.
    public func bulkInsert(
        table: String, columns: [String], count: Int, withinTransaction: Bool, row: (Int, inout [SQLValue]) -> Void
    ) throws(DatabaseError) -> Int {
        let sql = "COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN"
        // Inside the caller's transaction a savepoint keeps "all rows or none" for this call.
        try execute(withinTransaction ? "SAVEPOINT bulk_insert" : "BEGIN")
        do throws(DatabaseError) {
            try ensureConnected(sql)
            let started = PQexec(handle, sql)
            let status = PQresultStatus(started)
            PQclear(started)
            guard status == PGRES_COPY_IN else {
                try check(nil, sql)
                return 0
            }
            var chunk: [UInt8] = []
            chunk.reserveCapacity(1 << 20)
            func send() throws(DatabaseError) {
                let sent = chunk.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(handle, $0.baseAddress, Int32($0.count)) }
                }
                guard sent == 1 else { throw copyError(sql) }
                chunk.removeAll(keepingCapacity: true)
            }
            var values: [SQLValue] = []
            values.reserveCapacity(columns.count)
            for index in 0..<count {
                values.removeAll(keepingCapacity: true)
                row(index, &values)
                precondition(values.count == columns.count, "a row of \(table) has one value per column")
                for (position, value) in values.enumerated() {
                    if position > 0 { chunk.append(0x09) }
                    Self.appendCopyText(value, to: &chunk)
                }
                chunk.append(0x0A)
                if chunk.count >= 1 << 20 { try send() }
            }
            if !chunk.isEmpty { try send() }
            guard PQputCopyEnd(handle, nil) == 1 else { throw copyError(sql) }
            while let result = PQgetResult(handle) {
                defer { PQclear(result) }
                try check(result, sql)
            }
            try execute(withinTransaction ? "RELEASE SAVEPOINT bulk_insert" : "COMMIT")
        } catch {
            try? execute(
                withinTransaction ? "ROLLBACK TO SAVEPOINT bulk_insert; RELEASE SAVEPOINT bulk_insert" : "ROLLBACK")
            throw error
        }
        return count
    }

    private func copyError(_ sql: String) -> DatabaseError {
        DatabaseError(
            kind: .other, code: "08006", message: String(cString: PQerrorMessage(handle)).trimmingNewlines(), sql: sql)
    }

    /// One value in COPY's text format: `\N` for NULL; backslash, tab, newline and carriage
    /// return escaped. Runs of plain bytes are copied whole: this is most of a bulk load's client
    /// time.
    static func appendCopyText(_ value: SQLValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: [0x5C, 0x4E])
        case .integer(let number): appendDecimal(number, to: &out)
        case .text(var text): text.withUTF8 { appendEscaped($0, to: &out) }
        case .blob(let bytes):
            out.append(contentsOf: [0x5C, 0x5C, 0x78])
            out.append(contentsOf: Crypto.hex(bytes).utf8)
        }
    }

    private static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var plainStart = 0
        for index in bytes.indices {
            let escape: UInt8
            switch bytes[index] {
            case 0x5C: escape = 0x5C
            case 0x09: escape = 0x74
            case 0x0A: escape = 0x6E
            case 0x0D: escape = 0x72
            default: continue
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainStart..<index]))
            out.append(0x5C)
            out.append(escape)
            plainStart = index + 1
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[plainStart...]))
    }

    /// The decimal digits of `number`, without making a String.
    private static func appendDecimal(_ number: Int64, to out: inout [UInt8]) {
        if number < 0 { out.append(0x2D) }
        // The magnitude as unsigned, so that Int64.min has one.
        var magnitude = number.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = withUnsafeMutableBytes(of: &digits) { buffer in
            var position = buffer.count
            repeat {
                position -= 1
                buffer[position] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: buffer[position...])
            return buffer.count - position
        }
        assert(count <= 20, "an Int64 has at most 20 digits")
    }

    /// `?` placeholders become `$1`, `$2`… (outside quoted text).
    static func numbered(_ sql: String) -> String {
        var out = ""
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?" && !quoted {
                number += 1
                out += "$\(number)"
            } else {
                out.append(character)
            }
        }
        return out
    }

    private func executePrepared(_ sql: String, _ values: [SQLValue]) throws(DatabaseError) -> OpaquePointer? {
        try ensureConnected(sql)
        let name: String
        if let known = statements[sql] {
            name = known
        } else {
            name = "s\(statements.count + 1)"
            let prepared = PQprepare(handle, name, Self.numbered(sql), Int32(values.count), nil)
            defer { PQclear(prepared) }
            try check(prepared, sql)
            statements[sql] = name
        }
        // Text format for every value; bytea as its hex form.
        let texts: [String?] = values.map { value in
            switch value {
            case .null: nil
            case .integer(let number): String(number)
            case .text(let text): text
            case .blob(let bytes): "\\x" + Crypto.hex(bytes)
            }
        }
        var pointers: [UnsafeMutablePointer<CChar>?] = texts.map { $0.map { strdup($0) } ?? nil }
        defer { pointers.forEach { free($0) } }
        let result = pointers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: max(1, buffer.count)) {
                PQexecPrepared(handle, name, Int32(values.count), values.isEmpty ? nil : $0, nil, nil, 0)
            }
        }
        do {
            try check(result, sql)
        } catch {
            PQclear(result)
            throw error
        }
        return result
    }

    private func check(_ result: OpaquePointer?, _ sql: String) throws(DatabaseError) {
        let status = PQresultStatus(result)
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK else { return }
        let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "08006"
        let message = String(cString: PQerrorMessage(handle)).trimmingNewlines()
        let kind: DatabaseError.Kind =
            switch state {
            case "23505": .uniqueViolation
            case "40001", "40P01", "55P03": .busy
            default: .other
            }
        throw DatabaseError(kind: kind, code: state, message: message, sql: sql)
    }

    /// Resets a broken connection with backoff; its prepared statements are gone with it.
    private func ensureConnected(_ sql: String) throws(DatabaseError) {
        guard PQstatus(handle) != CONNECTION_OK else { return }
        for delayMicroseconds: UInt32 in [100_000, 200_000, 400_000] {
            PQreset(handle)
            if PQstatus(handle) == CONNECTION_OK {
                statements.removeAll()
                sessionGeneration += 1
                let settings = PQexec(handle, Self.sessionSettings)
                PQclear(settings)
                return
            }
            usleep(delayMicroseconds)
        }
        throw DatabaseError(
            kind: .other, code: "08006",
            message: "the connection to \(displayURL) is lost and three reconnects failed: "
                + String(cString: PQerrorMessage(handle)).trimmingNewlines(), sql: sql)
    }

    static func bytes(bytea text: String) -> [UInt8] {
        guard text.hasPrefix("\\x") else { return Array(text.utf8) }
        return Crypto.bytes(hex: String(text.dropFirst(2))) ?? []
    }

    static func redacted(_ url: String) -> String {
        // postgresql://user:password@host → postgresql://user:***@host
        guard let at = url.firstIndex(of: "@"), let scheme = url.range(of: "://"),
            let colon = url[scheme.upperBound..<at].firstIndex(of: ":")
        else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}

extension String {
    func trimmingNewlines() -> String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
