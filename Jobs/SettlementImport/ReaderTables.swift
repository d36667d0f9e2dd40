import Glibc
import LedgerCore
import Scheduler

/// Which column holds each field: an array indexed by the field, so the per-line lookups hash
/// nothing.
struct FieldColumns {
    private var columns = [Int](repeating: -1, count: SettlementField.allCases.count)

    init() {}

    init(_ map: [SettlementField: Int]) {
        for (field, column) in map { columns[field.ordinal] = column }
    }

    subscript(field: SettlementField) -> Int? {
        let column = columns[field.ordinal]
        return column < 0 ? nil : column
    }

    /// The columns some field reads.
    var values: [Int] { columns.filter { $0 >= 0 } }
}

extension SettlementField {
    /// The field's position in `allCases`.
    var ordinal: Int {
        switch self {
        case .providerTxnId: 0
        case .ourReference: 1
        case .providerPaymentId: 2
        case .kind: 3
        case .status: 4
        case .transactedAt: 5
        case .settlementDate: 6
        case .amount: 7
        case .fee: 8
        case .net: 9
        case .currency: 10
        case .payer: 11
        case .originalProviderTxnId: 12
        }
    }
}

/// A dialect's words (kinds, statuses) and what they mean, matched against a field's bytes
/// without building a string: blanks around it ignored, ASCII case ignored.
struct WordTable<Meaning: Sendable>: Sendable {
    private let entries: [(word: [UInt8], meaning: Meaning)]
    /// The last spelling matched, as written. A reader is used by one thread at a time.
    private let lastMatch = LastMatch()

    final class LastMatch: @unchecked Sendable {
        var value: (written: [UInt8], meaning: Meaning)?
    }

    private init(entries: [(word: [UInt8], meaning: Meaning)]) { self.entries = entries }

    /// The same words with a last-match memory of its own, for another thread.
    func fresh() -> WordTable { WordTable(entries: entries) }

    init(_ words: [String: Meaning]) {
        entries = words.map { (Array($0.key.lowercased().utf8), $0.value) }.sorted { $0.word.count < $1.word.count }
    }

    func lookup(_ field: UnsafeBufferPointer<UInt8>) -> Meaning? {
        // Files repeat one spelling line after line: try it as written first.
        if let last = lastMatch.value, sameBytes(last.written, field) {
            return last.meaning
        }
        guard let meaning = find(field) else { return nil }
        lastMatch.value = (Array(field), meaning)
        return meaning
    }

    private func find(_ field: UnsafeBufferPointer<UInt8>) -> Meaning? {
        var start = 0
        var end = field.count
        while start < end && (field[start] == 0x20 || field[start] == 0x09) { start += 1 }
        while end > start && (field[end - 1] == 0x20 || field[end - 1] == 0x09) { end -= 1 }
        let count = end - start
        for entry in entries where entry.word.count == count {
            var index = 0
            while index < count {
                let byte = field[start + index]
                let lowered = byte >= 65 && byte <= 90 ? byte | 0x20 : byte
                if lowered != entry.word[index] { break }
                index += 1
            }
            if index == count { return entry.meaning }
        }
        return nil
    }

    /// The field as a message quotes it: trimmed and lowercased.
    static func lowercased(_ field: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: field, as: UTF8.self).trimmingBlanks.lowercased()
    }
}

/// The currencies met so far in a file, by the bytes they were written with, so that a line's
/// currency is found by comparing a few bytes rather than building and searching a string.
final class CurrencyCache: @unchecked Sendable {
    private var known: [(written: [UInt8], currency: Currency)] = []

    func currency(_ field: UnsafeBufferPointer<UInt8>) -> Currency? {
        for entry in known where sameBytes(entry.written, field) { return entry.currency }
        guard field.count <= 8, let currency = Currency(code: String(decoding: field, as: UTF8.self).trimmingBlanks)
        else { return nil }
        if known.count < 16 { known.append((Array(field), currency)) }
        return currency
    }
}

/// UTC times written as the job store keeps them (`2026-11-30T08:05:09.736Z`, as
/// `UTCTime.text`), from integer arithmetic into a fixed buffer: one string per line, no
/// calendar library.
enum UTCText {
    static func milliseconds(_ nanoseconds: Int64) -> String {
        precondition(nanoseconds >= 0, "times before 1970 are refused when read")
        let seconds = nanoseconds / 1_000_000_000
        let millisecond = Int(nanoseconds / 1_000_000 % 1_000)
        let date = CivilDate(daysSinceEpoch: Int(seconds / 86_400))
        let secondOfDay = Int(seconds % 86_400)
        return String(unsafeUninitializedCapacity: 24) { buffer in
            func put(_ value: Int, _ width: Int, at offset: Int) {
                var value = value
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[position] = UInt8(48 + value % 10)
                    value /= 10
                }
            }
            put(date.year, 4, at: 0)
            buffer[4] = 45
            put(date.month, 2, at: 5)
            buffer[7] = 45
            put(date.day, 2, at: 8)
            buffer[10] = 84
            put(secondOfDay / 3_600, 2, at: 11)
            buffer[13] = 58
            put(secondOfDay / 60 % 60, 2, at: 14)
            buffer[16] = 58
            put(secondOfDay % 60, 2, at: 17)
            buffer[19] = 46
            put(millisecond, 3, at: 20)
            buffer[23] = 90
            return 24
        }
    }
}

extension CSVRecord {
    /// Field `index` without blanks (spaces, tabs, no-break spaces) at either end; nil when
    /// nothing is left.
    func trimmedText(_ index: Int) -> String? {
        let bytes = trimmedField(index)
        guard !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes of field `index` without blanks (spaces, tabs, no-break spaces) at either end.
    func trimmedField(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        let bytes = field(index)
        var start = 0
        var end = bytes.count
        while start < end {
            if bytes[start] == 0x20 || bytes[start] == 0x09 {
                start += 1
            } else if bytes[start] == 0xC2 && start + 1 < end && bytes[start + 1] == 0xA0 {
                start += 2
            } else {
                break
            }
        }
        while end > start {
            if bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 {
                end -= 1
            } else if end - 2 >= start && bytes[end - 2] == 0xC2 && bytes[end - 1] == 0xA0 {
                end -= 2
            } else {
                break
            }
        }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }
}

/// Whether `bytes` and `field` hold the same bytes.
@inline(__always)
func sameBytes(_ bytes: [UInt8], _ field: UnsafeBufferPointer<UInt8>) -> Bool {
    guard bytes.count == field.count else { return false }
    guard let other = field.baseAddress, !bytes.isEmpty else { return true }
    return bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, other, field.count) == 0 }
}
