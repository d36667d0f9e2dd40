import HTTPTypes
import Hummingbird
import NIOCore

/// A refused form or query: what was wrong, in words for the page that shows it.
struct WebFormError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// The fields of an `application/x-www-form-urlencoded` body or a query string, read strictly:
/// malformed percent-encoding, bytes that are not UTF-8, control characters other than line
/// breaks and tabs, and a field named twice are each refused with what and where.
struct WebForm {
    private(set) var fields: [String: String] = [:]

    /// The largest form body the pages take: a note is at most 2,000 bytes, and encoding can
    /// triple it.
    static let maximumBytes = 16 * 1024

    init(encoded bytes: some Collection<UInt8>) throws(WebFormError) {
        guard !bytes.isEmpty else { return }
        for pair in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = try Self.decode(parts[0], what: "a field name")
            let value = parts.count > 1 ? try Self.decode(parts[1], what: "the field \(Self.echo(name))") : ""
            guard fields[name] == nil else { throw WebFormError("the field \(Self.echo(name)) is sent twice") }
            fields[name] = value
        }
    }

    /// The form of `request`'s body, which must be form-encoded and at most `maximumBytes`.
    static func read(_ request: Request) async throws -> WebForm {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/x-www-form-urlencoded") else {
            throw WebFormError("the form must be sent as application/x-www-form-urlencoded")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maximumBytes)
        } catch is NIOTooManyBytesError {
            throw WebFormError("the form is larger than \(maximumBytes) bytes")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw WebFormError("the form is larger than \(maximumBytes) bytes")
        }
        return try WebForm(encoded: buffer.readableBytesView)
    }

    /// The query string of `request` read as a form.
    static func query(_ request: Request) throws(WebFormError) -> WebForm {
        try WebForm(encoded: Array((request.uri.query ?? "").utf8))
    }

    subscript(name: String) -> String? { fields[name] }

    /// The field's value, nil when it is absent or empty.
    func nonEmpty(_ name: String) -> String? {
        guard let value = fields[name], !value.isEmpty else { return nil }
        return value
    }

    static func decode(_ bytes: some Collection<UInt8>, what: String) throws(WebFormError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            index = bytes.index(after: index)
            switch byte {
            case UInt8(ascii: "+"): out.append(0x20)
            case UInt8(ascii: "%"):
                guard index != bytes.endIndex, let high = hex(bytes[index]) else {
                    throw WebFormError("\(what) has a malformed percent-escape")
                }
                index = bytes.index(after: index)
                guard index != bytes.endIndex, let low = hex(bytes[index]) else {
                    throw WebFormError("\(what) has a malformed percent-escape")
                }
                index = bytes.index(after: index)
                out.append(high << 4 | low)
            default: out.append(byte)
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw WebFormError("\(what) is not valid UTF-8")
        }
        // Browsers send a textarea's line breaks as CRLF; they are kept as \n.
        let normalized =
            text.contains("\r\n")
            ? text.split(separator: "\r\n", omittingEmptySubsequences: false)
                .joined(separator: "\n") : text
        let printable = normalized.unicodeScalars.allSatisfy { scalar in
            scalar == "\n" || scalar == "\t"
                || (scalar.value >= 0x20 && !(0x7F...0x9F).contains(scalar.value) && scalar.value != 0x2028
                    && scalar.value != 0x2029)
        }
        guard printable else { throw WebFormError("\(what) holds a control character") }
        return normalized
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A name quoted for a message, shortened.
    static func echo(_ text: String) -> String {
        "\"" + (text.count > 40 ? String(text.prefix(40)) + "…" : text) + "\""
    }
}

/// The cookies of a request, and `Set-Cookie` values for the review pages' own.
enum WebCookies {
    /// The value of cookie `name`, from any `Cookie` header of `request`.
    static func value(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                if pair[0].trimmingSpaces == name { return String(pair[1].trimmingSpaces) }
            }
        }
        return nil
    }

    /// A cookie the page's scripts cannot read, that no other site's page sends, on `path`,
    /// living `maxAgeSeconds` (0 deletes it), `Secure` when the browser reached us over TLS.
    static func setCookie(_ name: String, _ value: String, path: String, maxAgeSeconds: Int, secure: Bool) -> String {
        var text = "\(name)=\(value); Path=\(path); Max-Age=\(maxAgeSeconds); HttpOnly; SameSite=Strict"
        if secure { text += "; Secure" }
        return text
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return text
    }
}
