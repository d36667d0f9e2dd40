import Foundation
import JobStore
import SettlementImport
import Testing

/// Every item of the list of what real settlement files do, applied to each provider's dialect
/// in turn (the dialect cases show each on the dialect whose exports have it; a provider may
/// change its exports, and the importer must not care which one does what).
@Suite("File quirks in every dialect")
struct QuirksPerProviderTests {
    /// A provider's header and one payment line of 1,250.00 with a 23.13 fee, as fields, with the
    /// gross amount's and the fee's places; and a `note` column past the dialect's own.
    struct Provider: Sendable, CustomTestStringConvertible {
        var name: String
        var header: String
        var fields: [String]
        var grossIndex: Int
        var feeIndex: Int?
        var testDescription: String { name }
    }

    static let providers = [
        Provider(
            name: "bkash", header: Headers.bkash,
            fields: [
                "TX1", "P1", "PAY-1", "payment", "1250.00", "23.13", "1226.87", "BDT", "", "2023-01-23 10:00:00",
                "Completed", "",
            ], grossIndex: 4, feeIndex: 5),
        Provider(
            name: "nagad", header: Headers.nagad,
            fields: [
                "PAY-1", "NPR1", "ISS1", "payment", "1250.00", "23.13", "1226.87", "BDT", "",
                "2021-08-25 14:51:35.0", "Success", "",
            ], grossIndex: 4, feeIndex: 5),
        Provider(
            name: "sslcommerz", header: Headers.sslcommerz,
            fields: [
                "PAY-1", "V1", "B1", "payment", "1250.00", "1226.87", "BDT", "VISA", "2020-01-05 22:58:21", "VALID",
                "0", "",
            ], grossIndex: 4, feeIndex: nil),
    ]

    /// One quirk: how it changes the gross amount's text, the fee's, the note, the delimiter,
    /// and the file around the lines.
    struct Quirk: Sendable, CustomTestStringConvertible {
        var name: String
        var gross = "1250.00"
        var fee = "23.13"
        var note = "plain"
        var delimiter: Character = ","
        var lineEnd = "\n"
        var before = ""
        var after = ""
        var testDescription: String { name }
    }

    static let quirks = [
        Quirk(name: "a byte-order mark", before: "\u{FEFF}"),
        Quirk(name: "CRLF line ends", lineEnd: "\r\n"),
        Quirk(name: "a title line and a blank line before the header", before: "Settlement report\n\n"),
        Quirk(name: "a totals line at the end", after: "Total,,1250.00\n"),
        Quirk(name: "a thousands separator in a quoted amount", gross: "1,250.00"),
        Quirk(name: "a taka sign", gross: "৳1250.00"),
        Quirk(name: "trailing spaces", gross: "1250.00  "),
        Quirk(name: "no decimals", gross: "1250"),
        Quirk(name: "one decimal", gross: "1250.0"),
        Quirk(name: "four decimals", gross: "1250.0000"),
        Quirk(name: "a fee written as a negative number", fee: "-23.13"),
        Quirk(name: "a quoted field with a comma, a quote and a line break", note: "a, \"b\"\nc"),
        Quirk(name: "a semicolon delimiter", delimiter: ";"),
        Quirk(name: "a tab delimiter", delimiter: "\t"),
    ]

    /// `field` as a CSV writer with `delimiter` writes it.
    static func quoted(_ field: String, _ delimiter: Character) -> String {
        guard field.contains(delimiter) || field.contains("\"") || field.contains("\n") else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    @Test("each quirk in each dialect: the line is read whole and exact", arguments: providers, quirks)
    func quirk(_ provider: Provider, _ quirk: Quirk) async throws {
        var fields = provider.fields + [quirk.note]
        fields[provider.grossIndex] = quirk.gross
        if let fee = provider.feeIndex { fields[fee] = quirk.fee }
        let header = (provider.header + ",note").replacingOccurrences(of: ",", with: String(quirk.delimiter))
        let line = fields.map { Self.quoted($0, quirk.delimiter) }.joined(separator: String(quirk.delimiter))
        let text = quirk.before + header + quirk.lineEnd + line + quirk.lineEnd + quirk.after
        let harness = try ImportHarness()
        let (summary, lines) = try await harness.importText(
            text, dialect: try #require(SettlementDialect.named(provider.name)))
        #expect(summary.imported == 1 && summary.rejected == 0, "\(summary.rejectedLines)")
        let stored = try #require(lines.first)
        #expect(stored.ourReference == "PAY-1")
        #expect(stored.grossMinor == 125_000 && stored.netMinor == 122_687 && stored.feeMinor == 2_313)
        #expect(stored.kind == "payment" && stored.status == "settled" && stored.currency == "BDT")
        let extra = try #require(
            try JSONSerialization.jsonObject(with: Data((stored.extra ?? "{}").utf8)) as? [String: String])
        #expect(extra["note"] == quirk.note)
    }
}
