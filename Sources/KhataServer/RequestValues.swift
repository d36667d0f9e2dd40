import Scheduler

/// The rules for the values a request names in its path or query, shared by the API (which
/// refuses with a problem document) and the review pages (which refuse with a page): one rule,
/// each caller wording its own refusal.
enum RequestValues {
    /// A positive whole number in plain decimal digits (no sign, no leading zero, no spaces);
    /// nil for anything else.
    static func positiveNumber(_ text: some StringProtocol) -> Int64? {
        guard let value = Int64(text), value > 0, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), text.first != "0"
        else { return nil }
        return value
    }

    /// A calendar date written `YYYY-MM-DD`, as it is stored; nil for anything else.
    static func date(_ text: some StringProtocol) -> String? {
        CivilDate.parse(String(text))?.description
    }
}
