import JobStore

/// The checks of a reservation's texts: ids, phone and email.
enum BookingRules {
    static func checkText(_ text: String, field: String, maximumBytes: Int) throws(BookingError) {
        let valid =
            !text.isEmpty && text.utf8.count <= maximumBytes
            && text.unicodeScalars.allSatisfy { !$0.properties.generalCategory.isControl }
        guard valid else {
            throw BookingError(
                .invalidField, "\(field) must be 1 to \(maximumBytes) bytes of text without control characters")
        }
    }

    /// The customer's phone in E.164, from any usual form (a local `01…` gets +880); the
    /// contact keeps it so, and messages go to it.
    @discardableResult
    static func checkPhone(_ phone: String) throws(BookingError) -> String {
        do {
            return try PhoneNumbers.e164(phone)
        } catch {
            throw BookingError(.invalidPhone, "customerPhone \"\(phone)\" \(error.reason)")
        }
    }

    static func checkEmail(_ email: String) throws(BookingError) {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let valid =
            parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !parts[1].hasPrefix(".")
            && !parts[1].hasSuffix(".") && email.utf8.count <= 254 && !email.contains(where: \.isWhitespace)
        guard valid else { throw BookingError(.invalidEmail, "customerEmail \"\(email)\" is not an address") }
    }
}

extension Unicode.GeneralCategory {
    /// Control, format and line or paragraph separators: characters that must not be in an id.
    var isControl: Bool { self == .control || self == .format || self == .lineSeparator || self == .paragraphSeparator }
}
