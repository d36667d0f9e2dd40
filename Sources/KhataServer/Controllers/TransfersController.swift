import Hummingbird
import JSONInput
import JobStore
import Ledger
import LedgerCore

/// `/v1/transfers`: one transfer, a batch of them, and a transfer by id.
struct TransfersController: APIController {
    typealias D = OpenAPIDocument
    let ledger: ServedLedger
    let bodies: BodyReader

    var routes: [APIRoute] {
        [
            APIRoute(
                .post, "/v1/transfers", scope: .post,
                OpenAPIOperation(
                    summary: "Create one transfer (idempotent by id)", body: "TransferRequest",
                    answers: [
                        (201, D.answer("Created", "Transfer")), (200, D.answer("Existed already", "Transfer")),
                    ], problems: [400, 404, 409, 413, 422, 500, 503])
            ) { request, _ in try await create(request) },
            APIRoute(
                .post, "/v1/transfers/batch", scope: .post,
                OpenAPIOperation(
                    summary: "Apply up to 8,190 events as one batch, linked chains allowed", body: "BatchRequest",
                    answers: [(200, D.answer("A result per event", "BatchAnswer"))],
                    problems: [400, 404, 413, 500, 503])
            ) { request, _ in try await createBatch(request) },
            APIRoute(
                .get, "/v1/transfers/{id}", scope: .read,
                OpenAPIOperation(
                    summary: "A transfer", parameters: [D.idParameter],
                    answers: [(200, D.answer("The transfer", "Transfer"))], problems: [400, 404, 500])
            ) { _, context in
                try ledger.describe(try PathValues.id(context.pathParameter("id"), field: "transfer id"), status: .ok)
            },
        ]
    }

    func create(_ request: Request) async throws -> Response {
        let body = try TransferDraft.parse(try await bodies.read(request))
        var memory = TransferResolver.Memory()
        let transfer = try ledger.resolve(body, at: "", memory: &memory)
        let result = try await ledger.submit(.createTransfer(transfer))
        // A new single-phase transfer is exactly what was asked, at the result's timestamp: the
        // answer needs no read back from the log. Everything else is read as committed.
        if result.code == .ok, transfer.flags.subtracting(.linked).isEmpty, let debitKey = body.debitAccount,
            let creditKey = body.creditAccount, let currency = memory.accounts[debitKey]?.currency
        {
            var json = JSONWriter()
            TransferBody(
                posted: transfer, debitKey: debitKey, creditKey: creditKey, currency: currency,
                timestamp: result.timestamp
            ).write(to: &json)
            return json.response(status: .created)
        }
        return try ledger.describe(transfer.id, status: result.code == .exists ? .ok : .created)
    }

    /// Up to the ledger's batch size of events, applied in order as one batch (linked chains
    /// allowed), with a result per event. A malformed event refuses the whole batch before
    /// anything is applied.
    func createBatch(_ request: Request) async throws -> Response {
        let body = try BatchRequest.parse(
            try await bodies.read(request), maximumEvents: ledger.ledger.configuration.maximumBatchEvents)
        var memory = TransferResolver.Memory()
        var transfers: [NewTransfer] = []
        transfers.reserveCapacity(body.transfers.count)
        for (index, transfer) in body.transfers.enumerated() {
            transfers.append(try ledger.resolve(transfer, at: "transfers[\(index)].", memory: &memory))
        }
        let results = try await ledger.submitBatch(transfers.map { .createTransfer($0) })
        let items = zip(transfers, results).map { transfer, result in
            BatchItem(
                id: String(transfer.id), result: String(describing: result.code), code: result.code.rawValue,
                timestamp: result.code.succeeded ? result.timestamp : nil)
        }
        return BatchAnswer(results: items).response()
    }
}

/// `POST /v1/refunds`: all that remains refundable of a posted transfer, or `amount` of it.
struct RefundsController: APIController {
    typealias D = OpenAPIDocument
    let ledger: ServedLedger
    let bodies: BodyReader

    var routes: [APIRoute] {
        [
            APIRoute(
                .post, "/v1/refunds", scope: .finance,
                OpenAPIOperation(
                    summary: "Refund a posted transfer in full or in part (never more than remains)",
                    body: "RefundRequest",
                    answers: [
                        (201, D.answer("Refunded", "Transfer")), (200, D.answer("Existed already", "Transfer")),
                    ], problems: [400, 404, 409, 413, 422, 500, 503])
            ) { request, _ in try await refund(request) }
        ]
    }

    func refund(_ request: Request) async throws -> Response {
        let body = try RefundRequest.parse(try await bodies.read(request))
        let id = body.id
        let originalId = body.transferId
        guard let original = try ledger.committedTransfer(originalId) else {
            throw Problem.notFound("transfer", "transferId: no transfer has the id \(originalId)")
        }
        // The amount is read in the original's currency; without one, all that remains.
        let draft = TransferDraft(
            id: id, amount: body.amount, pendingId: originalId, code: body.code, reference: body.reference,
            flags: .refund)
        var memory = TransferResolver.Memory()
        var transfer = try ledger.resolve(draft, at: "", memory: &memory)
        if body.amount == nil {
            transfer.amountMinor =
                original.fields.amountMinor - min(original.fields.amountMinor, original.refundedMinor)
        }
        let result = try await ledger.submit(.createTransfer(transfer))
        return try ledger.describe(id, status: result.code == .exists ? .ok : .created)
    }
}
