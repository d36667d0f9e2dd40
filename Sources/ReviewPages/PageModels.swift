import Foundation
import JobStore
import Mustache

/// Who is looking: the signed-in key's name and scopes, the session's CSRF token that every form
/// carries, and whether the key may change mismatches (scope `finance` or `admin`).
public struct Viewer: Sendable {
    public var name: String
    public var scopes: String
    public var csrf: String
    public var canReview: Bool
    /// May see customers' messages (the `admin` scope): the pages link to them.
    public var isAdmin: Bool

    public init(name: String, scopes: String, csrf: String, canReview: Bool, isAdmin: Bool = false) {
        self.name = name
        self.scopes = scopes
        self.csrf = csrf
        self.canReview = canReview
        self.isAdmin = isAdmin
    }
}

/// A message at the top of a page: what a change did, or why it was refused.
public struct Flash: Sendable {
    public var kind: String
    public var text: String
    public var role: String

    /// A change that was made.
    public static func done(_ text: String) -> Flash { Flash(kind: "done", text: text, role: "status") }
    /// A request that was refused, and why.
    public static func error(_ text: String) -> Flash { Flash(kind: "error", text: text, role: "alert") }
}

/// The parts every page shares: its title, the header's viewer and search box, a message, and
/// whether the stylesheet is inlined (the saved HTML report) or linked (the served pages).
struct Chrome {
    var title: String
    var viewer: Viewer?
    var query = ""
    var flash: Flash?
    var inline = false
    var stylesheet = ""
}

/// A labelled value shown in a definition list.
public struct LabelledValue: Sendable {
    public var label: String
    public var value: String

    public init(_ label: String, _ value: String) {
        self.label = label
        self.value = value
    }
}

/// One choice of a `<select>`.
struct Choice {
    var value: String
    var label: String
    var selected: Bool
    var effect = ""
}

/// What a reviewer typed into a refused form, shown again so that nothing typed is lost.
public struct ReviewFormEcho: Sendable {
    public var acknowledgeNote = ""
    public var resolveNote = ""
    public var reopenNote = ""
    public var resolution: ResolutionKind?

    public init() {}
}

/// One row of a mismatch table. Looked up by name (not by reflection): the HTML report renders
/// one per mismatch, and reflection was most of its time.
struct MismatchRow: MustacheParent {
    let mismatch: Mismatch

    func child(named name: String) -> Any? {
        let found = mismatch.found
        switch name {
        case "id": return String(mismatch.id)
        case "link": return "/ui/mismatches/\(mismatch.id)"
        case "category": return Display.category(found.category.rawValue)
        case "state": return mismatch.state.rawValue
        case "stateLabel": return Display.state(mismatch.state)
        case "rowResolution":
            return mismatch.resolution.map { ResolutionKind(rawValue: $0).map(Display.resolution) ?? $0 }
        case "providerTxnId": return found.providerTxnId ?? ""
        case "reference": return found.ourReference ?? ""
        case "ledger": return Display.money(found.ledgerMinor, found.currency)
        case "providerAmount": return Display.money(found.providerMinor, found.currency)
        case "differs": return MismatchRow.differs(found)
        default: return nil
        }
    }

    /// The differing fields in one line (`MismatchField.summary`), else the finding's detail.
    static func differs(_ found: NewMismatch) -> String {
        found.fields.isEmpty ? found.detail : MismatchField.summary(found.fields)
    }
}

/// Rows of mismatches, the context of the `rows` template.
struct MismatchRows {
    var rows: [MismatchRow]
}

/// A query string (`?a=1&b=2`, or empty) of the pairs whose values are present and not empty,
/// percent-encoded: the pages' links and the server's redirects alike.
public func queryString(_ pairs: [(String, String?)]) -> String {
    var allowed = CharacterSet.urlQueryAllowed
    allowed.remove(charactersIn: "&=+#?")
    let parts = pairs.compactMap { name, value -> String? in
        guard let value, !value.isEmpty else { return nil }
        return name + "=" + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")
    }
    return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
}
