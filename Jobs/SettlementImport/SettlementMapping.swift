import Foundation
import JSONInput
import LedgerCore
import Scheduler

/// The generic dialect: a JSON mapping file that says which column holds which field, the
/// delimiter, the time format and zone, the decimal style, and how to round, so that a layout
/// Khata has not seen loads without code. The format is in docs/SETTLEMENT-FORMATS.md.
public enum SettlementMapping {
    static let topKeys: Set<String> = [
        "name", "provider", "delimiter", "columns", "time", "decimal", "rounding", "currency", "kinds", "statuses",
    ]

    /// The dialect the mapping at `path` describes.
    public static func load(path: String) throws(SettlementFileError) -> SettlementDialect {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SettlementFileError(.badMapping, "mapping \(path) cannot be read: \(error.localizedDescription)")
        }
        return try parse(data, source: path)
    }

    /// The dialect a mapping's JSON describes; `source` names it in errors.
    public static func parse(_ data: Data, source: String) throws(SettlementFileError) -> SettlementDialect {
        func fail(_ reason: String) -> SettlementFileError {
            SettlementFileError(.badMapping, "mapping \(source): \(reason)")
        }
        if let problem = JSONDocumentCheck.problem(Array(data)) { throw fail(problem) }
        guard let object = try? JSONSerialization.jsonObject(with: data), let top = object as? [String: Any] else {
            throw fail("not a JSON object")
        }
        if let unknown = top.keys.sorted().first(where: { !topKeys.contains($0) }) {
            throw fail("unknown key \"\(unknown)\" (known: \(topKeys.sorted().joined(separator: ", ")))")
        }
        guard let provider = top["provider"] as? String,
            !provider.isEmpty, provider.utf8.count <= 32,
            provider.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 })
        else {
            throw fail("\"provider\" must name the provider in lowercase letters, digits, - or _ (e.g. \"bkash\")")
        }
        if let name = top["name"], !(name is String) { throw fail("\"name\" must be a string") }
        let name = (top["name"] as? String) ?? "generic"
        guard let columnObject = top["columns"] as? [String: Any] else {
            throw fail("\"columns\" must be an object of field name to column header")
        }
        var columns: [SettlementField: String] = [:]
        for (key, value) in columnObject {
            guard let field = SettlementField(rawValue: key) else {
                let known = SettlementField.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail("\"columns\" names an unknown field \"\(key)\" (known: \(known))")
            }
            guard let header = value as? String, !SettlementDialect.headerKey(header).isEmpty else {
                throw fail("the column of \(key) must be a header name")
            }
            columns[field] = header
        }
        let headers = columns.values.map(SettlementDialect.headerKey)
        if Set(headers).count != headers.count { throw fail("two fields name the same column") }
        for needed in [SettlementField.providerTxnId, .ourReference, .amount, .transactedAt]
        where columns[needed] == nil {
            throw fail("\"columns\" must name the column of \(needed.rawValue)")
        }
        let currency = top["currency"] as? String
        if let currency, Currency(code: currency) == nil { throw fail("unknown currency \"\(currency)\"") }
        if columns[.currency] == nil && currency == nil {
            throw fail("without a currency column, \"currency\" must give the currency of every line")
        }
        var delimiter: UInt8?
        if let text = top["delimiter"] {
            guard let text = text as? String, let byte = [",": 0x2C, ";": 0x3B, "\t": 0x09, "|": 0x7C][text] else {
                throw fail("\"delimiter\" must be \",\", \";\", \"|\" or a tab")
            }
            delimiter = UInt8(byte)
        }
        var time = LocalTimeFormat.providers
        if let timeObject = top["time"] {
            guard let timeObject = timeObject as? [String: Any], Set(timeObject.keys).isSubset(of: ["format", "zone"])
            else { throw fail("\"time\" must be an object with \"format\" and \"zone\"") }
            for key in ["format", "zone"] where timeObject[key] != nil && !(timeObject[key] is String) {
                throw fail("time \"\(key)\" must be a string")
            }
            let zoneName = timeObject["zone"] as? String ?? "Asia/Dhaka"
            guard let zone = ScheduleZone(zoneName) else { throw fail("unknown time zone \"\(zoneName)\"") }
            let format = timeObject["format"] as? String ?? "provider"
            if format == "provider" {
                time = LocalTimeFormat(layout: .provider, zone: zone)
            } else {
                switch LocalTimeFormat.pattern(format, zone: zone) {
                case .success(let parsed): time = parsed
                case .failure(let problem): throw fail("time format \"\(format)\": \(problem)")
                }
            }
        }
        var decimals = DecimalStyle.pointDecimals
        if let decimalObject = top["decimal"] {
            guard let decimalObject = decimalObject as? [String: Any],
                Set(decimalObject.keys).isSubset(of: ["separator", "grouping"])
            else { throw fail("\"decimal\" must be an object with \"separator\" and \"grouping\"") }
            let separator = decimalObject["separator"] as? String ?? "."
            guard separator == "." || separator == "," else {
                throw fail("the decimal separator must be \".\" or \",\"")
            }
            let grouping = decimalObject["grouping"] as? String ?? (separator == "." ? "," : ".")
            let groupingByte: UInt8?
            switch grouping {
            case "": groupingByte = nil
            case ",", ".", " ", "'": groupingByte = grouping.utf8.first
            default: throw fail("the grouping separator must be \",\", \".\", \" \", \"'\" or \"\" (none)")
            }
            guard grouping != separator else { throw fail("the decimal and grouping separators must differ") }
            decimals = DecimalStyle(decimalSeparator: separator.utf8.first ?? 46, groupingSeparator: groupingByte)
        }
        var rounding: [SettlementField: SubunitRounding] = [:]
        if let roundingValue = top["rounding"] {
            func mode(_ text: Any) throws(SettlementFileError) -> SubunitRounding {
                guard let text = text as? String, let mode = SubunitRounding(rawValue: text) else {
                    throw fail("rounding must be \"reject\" or \"halfEven\"")
                }
                return mode
            }
            if let object = roundingValue as? [String: Any] {
                for (key, value) in object {
                    guard let field = SettlementField(rawValue: key), [.amount, .fee, .net].contains(field) else {
                        throw fail("rounding applies to amount, fee and net, not \"\(key)\"")
                    }
                    rounding[field] = try mode(value)
                }
            } else {
                let all = try mode(roundingValue)
                for field in [SettlementField.amount, .fee, .net] { rounding[field] = all }
            }
        }
        var kinds = SettlementDialect.standardKinds
        if let kindObject = top["kinds"] {
            guard let kindObject = kindObject as? [String: Any] else { throw fail("\"kinds\" must be an object") }
            for (word, value) in kindObject {
                guard let kind = value as? String, SettlementDialect.standardKinds[kind] != nil else {
                    throw fail("kind \"\(word)\" must map to payment, refund, chargeback or adjustment")
                }
                kinds[word.lowercased()] = kind
            }
        }
        var statuses: [String: String] = ["settled": "settled", "failed": "failed", "reversed": "reversed"]
        for dialect in SettlementDialect.providers { statuses.merge(dialect.statuses) { first, _ in first } }
        if let statusObject = top["statuses"] {
            guard let statusObject = statusObject as? [String: Any] else {
                throw fail("\"statuses\" must be an object")
            }
            for (word, value) in statusObject {
                guard let status = value as? String, ["settled", "failed", "reversed"].contains(status) else {
                    throw fail("status \"\(word)\" must map to settled, failed or reversed")
                }
                statuses[word.lowercased()] = status
            }
        }
        return SettlementDialect(
            name: name, provider: provider, columns: columns,
            required: Set(columns.keys).intersection([.providerTxnId, .ourReference, .amount, .transactedAt]),
            statuses: statuses, kinds: kinds, rounding: rounding, time: time, decimals: decimals,
            delimiter: delimiter, defaultCurrency: currency?.uppercased())
    }
}
