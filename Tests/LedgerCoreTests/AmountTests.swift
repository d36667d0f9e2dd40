import PropertyBased
import TestSupport
import Testing

@testable import LedgerCore

@Suite("Amounts")
struct AmountTests {
    static let valid: [(String, String, UInt64)] = [
        ("1,234.50", "BDT", 123_450), ("1234.5", "BDT", 123_450), ("৳1,234.50", "BDT", 123_450),
        ("৳1234", "BDT", 123_400), ("1,234", "BDT", 123_400), ("1234.50", "BDT", 123_450),
        ("0", "BDT", 0), ("0.01", "BDT", 1), ("100", "BDT", 10_000), ("1,000,000", "BDT", 100_000_000),
        ("9.7500", "BDT", 975), ("12", "JPY", 12), ("1.234", "KWD", 1_234), ("$5.25", "USD", 525),
        ("184467440737095516.15", "BDT", UInt64.max),
    ]

    @Test("valid amounts parse exactly", arguments: 0..<15)
    func parsesExactly(index: Int) throws {
        let (text, code, minor) = Self.valid[index]
        let currency = try #require(Currency(code: code))
        #expect(try Amount.parse(text, currency: currency).minorUnits == minor, "\(text)")
    }

    static let invalid: [(String, String)] = [
        ("-5.00", "negative"), ("(5.00)", "negative"), ("৳-5", "negative"), ("+5", "sign"), ("", "empty"),
        ("   ", "a blank (U+0020) is not allowed"), ("৳", "no digits"), ("1.234", "2 decimal places"),
        ("12,34", "groups of three"),
        ("1,2345.00", "groups of three"), (",123", "groups of three"), ("1.2.3", "more than one decimal point"),
        ("1e5", "\"e\" is not allowed: an amount is digits 0-9"), ("abc", "\"a\" is not allowed"),
        (".5", "before the decimal point"),
        ("5.", "after the decimal point"), ("184467440737095516.16", "too large"), ("1 000", "a blank (U+0020)"),
        ("৫০০", "U+09EB is not allowed"), ("1.5x", "decimals"), ("৳ 10", "a blank (U+0020)"),
        ("BDT 10", "\"B\" is not allowed"), ("10 BDT", "a blank"), (" 100", "a blank"), ("100 ", "a blank"),
        ("\u{00A0}100", "a blank (U+00A0)"), ("1\u{00A0}000", "a blank (U+00A0)"), ("1e17", "\"e\" is not allowed"),
    ]

    @Test("malformed and negative amounts are refused with a reason", arguments: 0..<28)
    func refused(index: Int) {
        let (text, reason) = Self.invalid[index]
        do {
            let amount = try Amount.parse(text, currency: .bdt)
            Issue.record("\"\(text)\" parsed as \(amount.minorUnits)")
        } catch {
            #expect(error.reason.contains(reason), "\"\(text)\": \(error.reason)")
            #expect(error.description.contains(text))
        }
    }

    @Test("formatting gives the currency's decimals and thousands separators")
    func formatting() throws {
        #expect(Amount(minorUnits: 123_450).formatted(.bdt) == "1,234.50")
        #expect(Amount(minorUnits: 123_450).formatted(.bdt, grouping: false) == "1234.50")
        #expect(Amount(minorUnits: 5).formatted(.bdt) == "0.05")
        #expect(Amount(minorUnits: 0).formatted(.bdt) == "0.00")
        #expect(Amount(minorUnits: 1_234_567).formatted(try #require(Currency(code: "JPY"))) == "1,234,567")
        #expect(Amount(minorUnits: 1_234).formatted(try #require(Currency(code: "KWD"))) == "1.234")
    }

    @Test("format then parse gives back the amount, in every currency (seeded property)")
    func formatParseRoundTrip() throws {
        var random = SplitMix(seed: 4_217)
        let amounts = Gen.uint64()
        let codes = ["BDT", "JPY", "KWD", "CLF", "USD"]
        for _ in 0..<2_000 {
            let seed = random.currentSeed
            let minor = amounts.run(using: &random)
            let currency = try #require(Currency(code: codes.randomElement(using: &random)!))
            for grouping in [true, false] {
                let text = Amount(minorUnits: minor).formatted(currency, grouping: grouping)
                #expect(try Amount.parse(text, currency: currency).minorUnits == minor, "\(text), seed \(seed)")
            }
        }
    }

    @Test("arithmetic reports overflow instead of wrapping")
    func checkedArithmetic() {
        #expect(Amount(minorUnits: .max).adding(Amount(minorUnits: 1)) == nil)
        #expect(Amount(minorUnits: 1).subtracting(Amount(minorUnits: 2)) == nil)
        #expect(Amount(minorUnits: 5).adding(Amount(minorUnits: 7)) == Amount(minorUnits: 12))
    }

    @Test("currencies are known by code and number with their ISO scales")
    func currencies() {
        #expect(Currency(code: "bdt") == .bdt)
        #expect(Currency(numericCode: 50) == .bdt)
        #expect(Currency.bdt.scale == 2)
        #expect(Currency(code: "KWD")?.scale == 3)
        #expect(Currency(code: "JPY")?.scale == 0)
        #expect(Currency(code: "XYZ") == nil)
    }

    @Test("the plain fast path agrees with the general reader on every string it accepts, seeded")
    func plainAgreesWithWritten() {
        var random = SplitMix(seed: 11)
        let alphabet = Array("0123456789..0 ,৳-")
        var accepted = 0
        for _ in 0..<50_000 {
            let text = String(
                (0..<Int.random(in: 0...22, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
            for currency in [Currency.bdt, Currency(code: "JPY")!, Currency(code: "KWD")!] {
                let written = try? Amount.parseWritten(text, currency: currency)
                guard let plain = Amount.parsePlain(text, scale: Int(currency.scale)) else { continue }
                accepted += 1
                #expect(plain == written, "\(text) in \(currency.code)")
            }
        }
        #expect(accepted > 1_000)
        #expect(Amount.parsePlain("18446744073709551615", scale: 0)?.minorUnits == UInt64.max)
        #expect(Amount.parsePlain("18446744073709551616", scale: 0) == nil)
        #expect(Amount.parsePlain("184467440737095516.16", scale: 2) == nil)
    }
}
