import Hummingbird
import JSONInput
import JobStore
import LedgerCore

/// Every request body, read by one strict reader (`JSONInput`): unknown and repeated fields are
/// refused, `null` is the same as leaving a field out, ids have one spelling, amounts are decimal
/// strings or whole numbers (never floats), and every refusal names the field and the rule.
extension JSONInputError: HTTPResponseError {
    public var status: HTTPResponse.Status { .badRequest }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try Problem(.badRequest, kind.name, kind.title, detail: detail).response(from: request, context: context)
    }
}

/// `POST /v1/accounts`.
struct AccountRequest {
    var id: UInt128?
    var key: String
    var currency: String
    var flags: AccountFlags
    var code: UInt16?

    static let reader = JSONObjectReader(what: "an account", known: ["id", "key", "currency", "flags", "code"])

    static func parse(_ bytes: [UInt8]) throws -> AccountRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var id: UInt128?
            var key: String?
            var currency: String?
            var flags: AccountFlags = []
            var code: UInt16?
            try reader.read(&scanner) { scanner, field in
                switch field {
                case "id": id = try scanner.id(field: field)
                case "key": key = try scanner.accountKey(field: field)
                case "currency": currency = try scanner.text(field: field)
                case "flags": flags = try scanner.accountFlags(field: field)
                default: code = try scanner.code(field: field)
                }
            }
            return AccountRequest(
                id: id, key: try reader.required(key, "key"), currency: try reader.required(currency, "currency"),
                flags: flags, code: code)
        }
    }
}

extension TransferDraft {
    /// `POST /v1/transfers`.
    static func parse(_ bytes: [UInt8]) throws -> TransferDraft {
        try JSONInput.read(bytes, what: "a transfer") { scanner in
            try TransferDraft(scanner: &scanner, what: "a transfer")
        }
    }
}

/// `POST /v1/transfers/batch`.
struct BatchRequest {
    var transfers: [TransferDraft]

    static let reader = JSONObjectReader(what: "a batch", known: ["transfers"])

    /// At most `maximumEvents` transfers: a longer list is refused as soon as it is seen.
    static func parse(_ bytes: [UInt8], maximumEvents: Int) throws -> BatchRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var transfers: [TransferDraft]?
            try reader.read(&scanner) { scanner, _ in
                guard try scanner.peekKind() == .array else {
                    try scanner.skipValue()
                    throw JSONInputError(.invalidField, field: "transfers", "transfers must be an array of transfers")
                }
                var list: [TransferDraft] = []
                try scanner.readArray { (scanner: inout JSONScanner, index: Int) throws in
                    guard index < maximumEvents else { throw BatchRequest.sizeProblem(count: index + 1, maximumEvents) }
                    let place = "transfers[\(index)]."
                    list.append(try TransferDraft(scanner: &scanner, place: place, what: "a batch"))
                }
                transfers = list
            }
            let list = try reader.required(transfers, "transfers")
            guard !list.isEmpty else { throw sizeProblem(count: 0, maximumEvents) }
            return BatchRequest(transfers: list)
        }
    }

    static func sizeProblem(count: Int, _ maximum: Int) -> Problem {
        Problem.badRequest(
            "invalid-batch-size", "Invalid batch size",
            count == 0 ? "a batch holds 1 to \(maximum) transfers, not 0" : "a batch holds at most \(maximum) transfers"
        )
    }
}

/// `POST /v1/refunds`.
struct RefundRequest {
    var id: UInt128
    var transferId: UInt128
    var amount: AmountInput?
    var reference: TransferReference?
    var code: UInt16?

    static let reader = JSONObjectReader(what: "a refund", known: ["id", "transferId", "amount", "reference", "code"])

    static func parse(_ bytes: [UInt8]) throws -> RefundRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var id: UInt128?
            var transferId: UInt128?
            var amount: AmountInput?
            var reference: TransferReference?
            var code: UInt16?
            try reader.read(&scanner) { scanner, field in
                switch field {
                case "id": id = try scanner.id(field: field)
                case "transferId": transferId = try scanner.id(field: field)
                case "amount": amount = try scanner.amount(field: field)
                case "reference": reference = try scanner.reference(field: field)
                default: code = try scanner.code(field: field)
                }
            }
            return RefundRequest(
                id: try reader.required(id, "id"), transferId: try reader.required(transferId, "transferId"),
                amount: amount, reference: reference, code: code)
        }
    }
}

/// `POST /v1/reservations`.
struct ReservationRequest {
    var bookingId: String
    var customerId: String
    var serviceId: String
    var amount: AmountInput
    var currency: String
    var provider: String
    var customerPhone: String
    var customerEmail: String
    var paymentWindowSeconds: Int?
    var language: ContactLanguage?
    var preferredChannel: NotificationChannel?

    static let reader = JSONObjectReader(
        what: "a reservation",
        known: [
            "bookingId", "customerId", "serviceId", "amount", "currency", "provider", "customerPhone", "customerEmail",
            "paymentWindowSeconds", "language", "preferredChannel",
        ])

    static func parse(_ bytes: [UInt8]) throws -> ReservationRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var texts: [String: String] = [:]
            var amount: AmountInput?
            var window: Int?
            try reader.read(&scanner) { scanner, field in
                switch field {
                case "amount": amount = try scanner.amount(field: field)
                case "paymentWindowSeconds": window = Int(try scanner.whole(field: field, in: 0...UInt64(Int32.max)))
                default: texts[field] = try scanner.text(field: field)
                }
            }
            return ReservationRequest(
                bookingId: try reader.required(texts["bookingId"], "bookingId"),
                customerId: try reader.required(texts["customerId"], "customerId"),
                serviceId: try reader.required(texts["serviceId"], "serviceId"),
                amount: try reader.required(amount, "amount"),
                currency: try reader.required(texts["currency"], "currency"),
                provider: try reader.required(texts["provider"], "provider"),
                customerPhone: try reader.required(texts["customerPhone"], "customerPhone"),
                customerEmail: try reader.required(texts["customerEmail"], "customerEmail"),
                paymentWindowSeconds: window,
                language: try texts["language"].map { text in
                    guard let language = ContactLanguage(rawValue: text) else {
                        throw JSONInputError(.invalidField, field: "language", "language must be bn or en")
                    }
                    return language
                },
                preferredChannel: try texts["preferredChannel"].map {
                    try ContactUpdate.channel($0, "preferredChannel")
                })
        }
    }
}

/// `POST /v1/reservations/{id}/confirm`, and the confirmation a provider's webhook carries.
struct ConfirmRequest {
    var providerTransactionId: String
    var amount: AmountInput?

    static let reader = JSONObjectReader(what: "a confirmation", known: ["providerTransactionId", "amount"])

    static func parse(_ bytes: [UInt8]) throws -> ConfirmRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var transactionId: String?
            var amount: AmountInput?
            try reader.read(&scanner) { scanner, field in
                if field == "amount" {
                    amount = try scanner.amount(field: field)
                } else {
                    transactionId = try scanner.text(field: field)
                }
            }
            return ConfirmRequest(
                providerTransactionId: try reader.required(transactionId, "providerTransactionId"), amount: amount)
        }
    }
}

/// A provider's payment notification.
struct WebhookRequest {
    var paymentReference: String
    var providerTransactionId: String
    var amount: AmountInput
    /// `COMPLETED` confirms; any other (`FAILED`, `CANCELLED`…) is recorded and changes nothing,
    /// since an unpaid hold simply runs out its window.
    var status: String

    static let maximumStatusBytes = 32

    static let reader = JSONObjectReader(
        what: "a webhook", known: ["paymentReference", "providerTransactionId", "amount", "status"])

    static func parse(_ bytes: [UInt8]) throws -> WebhookRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var texts: [String: String] = [:]
            var amount: AmountInput?
            try reader.read(&scanner) { scanner, field in
                switch field {
                case "amount": amount = try scanner.amount(field: field)
                case "status": texts[field] = try scanner.text(field: field)
                // Both are stored with the delivery: bounded like every reference.
                default: texts[field] = try scanner.reference(field: field).string
                }
            }
            let status = try reader.required(texts["status"], "status")
            let validStatus =
                (1...maximumStatusBytes).contains(status.utf8.count)
                && status.utf8.allSatisfy { byte in
                    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                        || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "_")
                }
            guard validStatus else {
                throw JSONInputError(
                    .invalidField, field: "status",
                    "status must be 1 to \(maximumStatusBytes) letters or underscores (COMPLETED, FAILED, …)")
            }
            return WebhookRequest(
                paymentReference: try reader.required(texts["paymentReference"], "paymentReference"),
                providerTransactionId: try reader.required(texts["providerTransactionId"], "providerTransactionId"),
                amount: try reader.required(amount, "amount"), status: status)
        }
    }
}

/// `POST /v1/holds/expire`: the holds to expire, by id.
struct ExpireRequest {
    var ids: [UInt128]

    static let reader = JSONObjectReader(what: "an expiry", known: ["ids"])

    /// At most `maximumEvents` ids: a longer list is refused as soon as it is seen.
    static func parse(_ bytes: [UInt8], maximumEvents: Int) throws -> ExpireRequest {
        try JSONInput.read(bytes, what: reader.what) { scanner in
            var ids: [UInt128]?
            try reader.read(&scanner) { scanner, _ in
                guard try scanner.peekKind() == .array else {
                    try scanner.skipValue()
                    throw JSONInputError(.invalidField, field: "ids", "ids must be an array of hold ids")
                }
                var list: [UInt128] = []
                try scanner.readArray { (scanner: inout JSONScanner, index: Int) throws in
                    guard index < maximumEvents else {
                        throw Problem.badRequest(
                            "invalid-batch-size", "Invalid batch size", "an expiry holds at most \(maximumEvents) ids")
                    }
                    list.append(try scanner.id(field: "ids[\(index)]"))
                }
                ids = list
            }
            let list = try reader.required(ids, "ids")
            guard !list.isEmpty else {
                throw Problem.badRequest(
                    "invalid-batch-size", "Invalid batch size", "an expiry holds 1 to \(maximumEvents) ids, not 0")
            }
            return ExpireRequest(ids: list)
        }
    }
}
