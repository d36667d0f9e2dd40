import JobStore
import Testing

/// Phone numbers in whatever form a booking brings them become E.164, or are refused with why;
/// people see them masked.
@Suite("Phone numbers")
struct PhoneNumberTests {
    @Test("local, international and 00 forms become E.164; anything else is refused with the reason")
    func e164() throws {
        let accepted: [(String, String)] = [
            ("01712345678", "+8801712345678"), ("+8801712345678", "+8801712345678"),
            ("008801912345678", "+8801912345678"), ("017-1234 5678", "+8801712345678"),
            ("(017) 1234.5678", "+8801712345678"), ("+44 20 7946 0958", "+442079460958"),
            ("+1 (415) 555-0100", "+14155550100"),
        ]
        for (text, number) in accepted { #expect(try PhoneNumbers.e164(text) == number, "\(text)") }
        #expect(try PhoneNumbers.e164("0412345678", countryCode: "61") == "+61412345678")
        let refused: [(String, String)] = [
            ("", "must begin with"), ("1712345678", "must begin with"), ("017123456789", "Bangladeshi mobile"),
            ("0171234567", "Bangladeshi mobile"), ("01212345678", "Bangladeshi mobile"), ("+0123456789", "8 to 15"),
            ("+1234567", "8 to 15"), ("+1234567890123456", "8 to 15"), ("017x2345678", "only digits"),
            ("0171+2345678", "only digits"), ("০১৭১২৩৪৫৬৭৮", "only digits"), ("+880\u{0}1712345678", "only digits"),
        ]
        for (text, words) in refused {
            do {
                let number = try PhoneNumbers.e164(text)
                Issue.record("\(text) became \(number)")
            } catch {
                #expect(error.field == "phone" && error.value == text && error.reason.contains(words), "\(error)")
            }
        }
    }

    @Test("masked numbers keep the country and operator and the last three digits")
    func masking() {
        #expect(PhoneNumbers.masked("+8801712345678") == "+880171****678")
        #expect(PhoneNumbers.masked("+14155550100") == "+141555**100")
        #expect(PhoneNumbers.masked("+12345") == "******")
    }
}
