import Hummingbird

/// JSON text written by hand for the answers of the hot routes (a transfer, a batch's results),
/// where `JSONEncoder` cost as much as the rest of the request. Keys come out sorted, as
/// `JSONResponse` sorts them for the other answers.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                let digits: StaticString = "0123456789abcdef"
                bytes.append(digits.utf8Start[Int(byte >> 4)])
                bytes.append(digits.utf8Start[Int(byte & 0x0F)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func number(_ value: some BinaryInteger) { bytes.append(contentsOf: String(value).utf8) }

    /// `"key":` before a member; `first` leaves out the comma.
    mutating func key(_ key: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(key)
        raw("\":")
    }

    func response(status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension TransferBody {
    func write(to json: inout JSONWriter) {
        json.raw("{")
        json.key("amount", first: true)
        json.string(amount)
        json.key("code")
        json.number(code)
        json.key("creditAccount")
        json.string(creditAccount)
        json.key("currency")
        json.string(currency)
        json.key("debitAccount")
        json.string(debitAccount)
        if let expiresAt {
            json.key("expiresAt")
            json.string(expiresAt)
        }
        json.key("flags")
        json.raw("[")
        for (index, flag) in flags.enumerated() {
            if index > 0 { json.raw(",") }
            json.string(flag)
        }
        json.raw("]")
        json.key("id")
        json.string(id)
        if let pendingId {
            json.key("pendingId")
            json.string(pendingId)
        }
        json.key("reference")
        json.string(reference)
        json.key("refunded")
        json.string(refunded)
        json.key("state")
        json.string(state)
        json.key("timeoutSeconds")
        json.number(timeoutSeconds)
        json.key("timestamp")
        json.number(timestamp)
        json.raw("}")
    }
}

extension BatchAnswer {
    func response() -> Response { json().response() }

    func json() -> JSONWriter {
        var json = JSONWriter(capacity: 64 + results.count * 80)
        json.raw("{\"results\":[")
        for (index, item) in results.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.key("code", first: true)
            json.number(item.code)
            json.key("id")
            json.string(item.id)
            json.key("result")
            json.string(item.result)
            if let timestamp = item.timestamp {
                json.key("timestamp")
                json.number(timestamp)
            }
            json.raw("}")
        }
        json.raw("]}")
        return json
    }
}
