import LedgerCore

/// The transfer and batch bodies read with `JSONScanner`, and the transfer and batch answers
/// written by hand: these are the routes that carry the load. The problems are the same as those
/// of the `Codable` readers of the other bodies.
extension TransferRequest {
    /// Reads one transfer object; `place` prefixes its fields in problems (`transfers[3].`).
    init(scanner: inout JSONScanner, place: String, what: String) throws {
        var id: String?
        var debitAccount: String?
        var creditAccount: String?
        var amount: AmountValue?
        var pendingId: String?
        var timeoutSeconds: UInt32?
        var code: UInt16?
        var reference: String?
        var flags: [String]?
        func wrongType(_ key: String) -> Problem {
            Problem.badRequest("invalid-field", "Invalid field", "\(what): field \"\(place)\(key)\" has the wrong type")
        }
        try scanner.readObject { (scanner: inout JSONScanner, key: String) throws in
            do {
                if try scanner.readNull() {
                    guard CodingKeys(rawValue: key) != nil else { throw TransferRequest.unknown(key, what) }
                    guard key != "id" else { throw wrongType(key) }
                    return
                }
                switch key {
                case "id": id = try scanner.readString()
                case "debitAccount": debitAccount = try scanner.readString()
                case "creditAccount": creditAccount = try scanner.readString()
                case "amount": amount = try AmountValue(scanner: &scanner)
                case "pendingId": pendingId = try scanner.readString()
                case "timeoutSeconds": timeoutSeconds = UInt32(try scanner.readUnsigned(maximum: UInt64(UInt32.max)))
                case "code": code = UInt16(try scanner.readUnsigned(maximum: UInt64(UInt16.max)))
                case "reference": reference = try scanner.readString()
                case "flags":
                    guard try scanner.peekKind() == .array else {
                        try scanner.skipValue()
                        throw JSONScanner.WrongType()
                    }
                    var names: [String] = []
                    try scanner.readArray { (scanner: inout JSONScanner, _: Int) throws in
                        names.append(try scanner.readString())
                    }
                    flags = names
                default: throw TransferRequest.unknown(key, what)
                }
            } catch is JSONScanner.WrongType {
                throw wrongType(key)
            }
        }
        guard let id else {
            throw Problem.badRequest("missing-field", "Missing field", "\(what) needs the field \"\(place)id\"")
        }
        self.init(
            id: id, debitAccount: debitAccount, creditAccount: creditAccount, amount: amount, pendingId: pendingId,
            timeoutSeconds: timeoutSeconds, code: code, reference: reference, flags: flags)
    }

    static func unknown(_ key: String, _ what: String) -> Problem {
        let known = CodingKeys.allCases.map(\.rawValue).sorted().joined(separator: ", ")
        return Problem.badRequest(
            "unknown-field", "Unknown field", "\(what) has no field \"\(key)\" (known: \(known))")
    }

    /// `POST /v1/transfers`.
    static func parse(_ bytes: [UInt8]) throws -> TransferRequest {
        try JSONScanner.reading(bytes, what: "a transfer") { scanner in
            try TransferRequest(scanner: &scanner, place: "", what: "a transfer")
        }
    }
}

extension BatchRequest {
    /// `POST /v1/transfers/batch`.
    static func parse(_ bytes: [UInt8]) throws -> BatchRequest {
        try JSONScanner.reading(bytes, what: "a batch") { scanner in
            var transfers: [TransferRequest]?
            try scanner.readObject { (scanner: inout JSONScanner, key: String) throws in
                guard key == "transfers" else {
                    throw Problem.badRequest(
                        "unknown-field", "Unknown field", "a batch has no field \"\(key)\" (known: transfers)")
                }
                guard try scanner.peekKind() == .array else {
                    throw Problem.badRequest(
                        "invalid-field", "Invalid field", "a batch: field \"transfers\" has the wrong type")
                }
                var list: [TransferRequest] = []
                try scanner.readArray { (scanner: inout JSONScanner, index: Int) throws in
                    guard try scanner.peekKind() == .object else {
                        throw Problem.badRequest(
                            "invalid-field", "Invalid field",
                            "a batch: field \"transfers[\(index)]\" has the wrong type")
                    }
                    list.append(try TransferRequest(scanner: &scanner, place: "transfers[\(index)].", what: "a batch"))
                }
                transfers = list
            }
            guard let transfers else {
                throw Problem.badRequest("missing-field", "Missing field", "a batch needs the field \"transfers\"")
            }
            return BatchRequest(transfers: transfers)
        }
    }
}

extension AmountValue {
    init(scanner: inout JSONScanner) throws {
        switch try scanner.peekKind() {
        case .string: self = .text(try scanner.readString())
        case .number:
            do {
                self = .whole(try scanner.readUnsigned())
            } catch is JSONScanner.WrongType {
                throw AmountValue.notAnAmount
            }
        default:
            try scanner.skipValue()
            throw AmountValue.notAnAmount
        }
    }
}

extension JSONScanner {
    /// Reads a whole body with `read`, which must consume exactly one top-level object; text
    /// that is not JSON is `/problems/malformed-json`.
    static func reading<T>(_ bytes: [UInt8], what: String, _ read: (inout JSONScanner) throws -> T) throws -> T {
        var scanner = JSONScanner(bytes)
        do {
            guard try scanner.peekKind() == .object else {
                try scanner.skipValue()
                try scanner.expectEnd()
                throw Problem.badRequest("invalid-field", "Invalid field", "\(what) must be a JSON object")
            }
            let value = try read(&scanner)
            try scanner.expectEnd()
            return value
        } catch let problem as Problem {
            // A body that is not JSON at all is malformed, whatever was found wrong first.
            var check = JSONScanner(bytes)
            if (try? check.skipValue()) == nil || (try? check.expectEnd()) == nil {
                throw Problem.badRequest("malformed-json", "Malformed JSON", "\(what) is not valid JSON")
            }
            throw problem
        } catch {
            throw Problem.badRequest("malformed-json", "Malformed JSON", "\(what) is not valid JSON")
        }
    }
}
