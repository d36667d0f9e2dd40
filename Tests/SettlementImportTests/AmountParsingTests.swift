import LedgerCore
import PropertyBased
import SettlementImport
import TestSupport
import Testing

/// Settlement amounts are read digit by digit into integers: no `Double` anywhere, so formatting
/// then parsing is the identity in every scale, and rounding below the minor unit is half-even
/// exactly as an integer reference says.
@Suite("Settlement amounts")
struct AmountParsingTests {
    static func parse(
        _ text: String, scale: Int = 2, style: DecimalStyle = .pointDecimals, rounding: SubunitRounding = .reject
    ) -> Result<DecimalAmount, AmountProblem> {
        Array(text.utf8).withUnsafeBufferPointer {
            DecimalAmount.parse($0, scale: scale, style: style, rounding: rounding)
        }
    }

    @Test("format then parse gives back the amount, in every scale and written form (seeded property)")
    func roundTrip() throws {
        var random = SplitMix(seed: 14_2026)
        let magnitudes = Gen.int64(in: 0...999_999_999_999_999)
        let currencies = try ["JPY", "BDT", "KWD", "CLF"].map { try #require(Currency(code: $0)) }
        for _ in 0..<3_000 {
            let seed = random.currentSeed
            let minor = magnitudes.run(using: &random)
            let currency = currencies[Int(random.next() % UInt64(currencies.count))]
            let scale = Int(currency.scale)
            let plain = DecimalAmount.format(minor, scale: scale)
            let grouped = Amount(minorUnits: UInt64(minor)).formatted(currency, grouping: true)
            let padded = scale > 0 ? plain + "00" : plain
            for text in [
                plain, grouped, "৳" + grouped, " \(plain) ", "\"\(plain)\"".dropFirst().dropLast() + "", padded,
            ] {
                let parsed = Self.parse(String(text), scale: scale)
                #expect(
                    parsed == .success(DecimalAmount(minor: minor, isNegative: false, wasRounded: false)),
                    "\(text), seed \(seed)")
            }
            let negative = Self.parse("-" + plain, scale: scale)
            #expect((try? negative.get())?.signedMinor == -minor, "-\(plain), seed \(seed)")
            let parenthesized = Self.parse("(" + grouped + ")", scale: scale)
            #expect((try? parenthesized.get())?.signedMinor == -minor, "(\(grouped)), seed \(seed)")
        }
    }

    @Test("digits below the minor unit round half-even as the integer reference does (seeded property)")
    func halfEven() {
        var random = SplitMix(seed: 7_2026)
        for _ in 0..<3_000 {
            let seed = random.currentSeed
            let kept = Int64(random.next() % 10_000_000)
            let droppedDigits = Int(random.next() % 4) + 1
            var dropped: Int64 = 1
            for _ in 0..<droppedDigits { dropped *= 10 }
            let below = Int64(random.next() % UInt64(dropped))
            let text =
                DecimalAmount.format(kept, scale: 2)
                + String(repeating: "0", count: droppedDigits - String(below).count) + String(below)
            // The reference: compare twice the dropped part with one unit.
            let twice = below * 2
            let expected = twice > dropped || (twice == dropped && kept % 2 == 1) ? kept + 1 : kept
            let parsed = Self.parse(text, rounding: .halfEven)
            #expect((try? parsed.get())?.minor == expected, "\(text), seed \(seed)")
            #expect((try? parsed.get())?.wasRounded == (below != 0), "\(text), seed \(seed)")
            if below != 0 {
                #expect(Self.parse(text) == .failure(.belowMinorUnit(scale: 2)), "\(text), seed \(seed)")
            }
        }
    }

    @Test(
        "written forms: lakh grouping, decimal commas, and every refusal named",
        arguments: [
            ("1,50,000.00", Int64(15_000_000)), ("12,50,000", 125_000_000), ("1,50,00,000.50", 1_500_000_050),
            ("1,250,000.00", 125_000_000), ("৳ 1,250.00", 125_000), ("-৳12.00", -1_200), ("৳-12.00", -1_200),
            ("0.00", 0), ("-0.00", 0), ("+5", 500), ("\u{A0}7.10\u{A0}", 710),
        ])
    func writtenForms(_ text: String, _ minor: Int64) {
        #expect((try? Self.parse(text).get())?.signedMinor == minor, "\(text)")
    }

    @Test(
        "refusals",
        arguments: [
            ("", AmountProblem.empty), ("1,5,000", .badGrouping), ("1,250,00,000", .badGrouping),
            ("12,500,00", .badGrouping), (",100", .badGrouping), ("1e3", .exponent), ("1.2.3", .secondPoint),
            (".5", .noDigitsBeforePoint), ("5.", .noDigitsAfterPoint), ("(5", .unbalancedParenthesis),
            ("99999999999999999999", .tooLarge), ("12a", .unexpected(UInt8(ascii: "a"))), ("-", .noDigits),
            ("1.005", .belowMinorUnit(scale: 2)), ("NaN", .unexpected(UInt8(ascii: "N"))),
        ])
    func refusals(_ text: String, _ problem: AmountProblem) {
        #expect(Self.parse(text) == .failure(problem), "\(text)")
    }

    @Test("a decimal comma with points or spaces grouping")
    func decimalComma() {
        let comma = DecimalStyle(decimalSeparator: UInt8(ascii: ","), groupingSeparator: UInt8(ascii: "."))
        #expect((try? Self.parse("1.250,50", style: comma).get())?.minor == 125_050)
        let spaced = DecimalStyle(decimalSeparator: UInt8(ascii: ","), groupingSeparator: UInt8(ascii: " "))
        #expect((try? Self.parse("1 250,5", style: spaced).get())?.minor == 125_050)
        #expect(Self.parse("1,250.50", style: comma) == .failure(.unexpected(UInt8(ascii: "."))))
    }
}
