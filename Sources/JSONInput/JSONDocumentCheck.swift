/// Checks a whole JSON document the way the strict reader reads bodies, for configuration files
/// read with Foundation afterwards: it must be JSON, nest at most `JSONScanner.maximumDepth`
/// levels, name no key twice in one object, and have nothing after the value. Foundation's
/// reader would keep the last of two equal keys silently, and a mapping or fee file whose
/// `"basisPoints"` appears twice must not mean whichever came last.
public enum JSONDocumentCheck {
    /// Nil when the document passes; else why not, with the byte offset where it is known.
    /// With `wholeNumbers`, every number must be written in digits only (no fraction, no
    /// exponent: `1e2` is refused rather than read as 100).
    public static func problem(_ bytes: [UInt8], wholeNumbers: Bool = true) -> String? {
        var scanner = JSONScanner(bytes)
        do {
            try walk(&scanner, path: "", wholeNumbers: wholeNumbers)
            try scanner.expectEnd()
            return nil
        } catch let error as RepeatedKey {
            return "the key \"\(error.path)\" appears twice"
        } catch let error as NotWhole {
            return "\(error.path) is \(error.text): amounts and basis points are whole numbers, written in digits"
        } catch let error as JSONScanner.Malformed {
            return "not valid JSON at byte \(error.offset): \(error.reason)"
        } catch {
            return "not valid JSON"
        }
    }

    struct RepeatedKey: Error { let path: String }
    struct NotWhole: Error {
        let path: String
        let text: String
    }

    private static func walk(_ scanner: inout JSONScanner, path: String, wholeNumbers: Bool) throws {
        switch try scanner.peekKind() {
        case .object:
            var seen: Set<String> = []
            try scanner.readObject { (inner: inout JSONScanner, key: String) throws in
                let keyPath = path.isEmpty ? key : path + "." + key
                guard seen.insert(key).inserted else { throw RepeatedKey(path: keyPath) }
                try walk(&inner, path: keyPath, wholeNumbers: wholeNumbers)
            }
        case .array:
            try scanner.readArray { (inner: inout JSONScanner, position: Int) throws in
                try walk(&inner, path: path + "[\(position)]", wholeNumbers: wholeNumbers)
            }
        case .number where wholeNumbers:
            let text = try scanner.readNumberText()
            if text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
                throw NotWhole(path: path.isEmpty ? "the value" : path, text: text)
            }
        default:
            try scanner.skipValue()
        }
    }
}
