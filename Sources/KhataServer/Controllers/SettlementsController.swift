import Foundation
import Hummingbird
import JobStore
import Scheduler
import SettlementImport

/// `/v1/settlements/{provider}`: a provider's settlement file uploaded by the finance team's
/// tools, imported exactly as `khata settlements import` imports it.
struct SettlementsController: APIController {
    typealias D = OpenAPIDocument
    let store: SettlementLines
    let auth: Authenticator
    let maximumBytes: Int
    let now: @Sendable () -> UInt64

    var routes: [APIRoute] {
        [
            APIRoute(
                .post, "/v1/settlements/{provider}", scope: .finance,
                OpenAPIOperation(
                    summary: "Import a settlement file (the CSV as the body, streamed), as khata settlements import",
                    parameters: [
                        D.pathParameter("provider", ["type": "string", "enum": ["bkash", "nagad", "sslcommerz"]]),
                        D.queryParameter(
                            "settlementDate",
                            [
                                "type": "string", "format": "date",
                                "description": "The day the file settles, for lines without a date of their own",
                            ]),
                        D.queryParameter(
                            "fileName", ["type": "string", "description": "The name the import is recorded under"]),
                    ], body: "SettlementFile", bodyType: "text/csv",
                    answers: [(200, D.answer("What the import did", "SettlementImport"))],
                    problems: [400, 404, 413, 415, 422, 503])
            ) { request, context in try await upload(request, provider: context.pathParameter("provider")) }
        ]
    }

    private func upload(_ request: Request, provider: String) async throws -> Response {
        guard let dialect = SettlementDialect.named(provider) else {
            throw Problem(
                .notFound, "provider-not-found", "Provider not found",
                detail: "\"\(provider.prefix(40))\" is not a provider: bkash, nagad or sslcommerz")
        }
        let media = request.headers[.contentType].map { $0.split(separator: ";")[0].lowercased() } ?? ""
        guard ["text/csv", "text/plain", "application/csv", "application/octet-stream"].contains(media) else {
            throw Problem(
                .unsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                detail: "send the settlement file as text/csv (got \"\(media.prefix(60))\")")
        }
        let query = request.uri.queryParameters
        var settlementDate: CivilDate?
        if let text = query["settlementDate"] {
            guard let date = CivilDate.parse(String(text)) else {
                throw Problem.badRequest(
                    "invalid-date", "Invalid date", "settlementDate \"\(text.prefix(40))\" is not a date (YYYY-MM-DD)")
            }
            settlementDate = date
        }
        let fileName = query["fileName"].map(String.init) ?? "\(provider)-upload.csv"
        guard !fileName.isEmpty, fileName.utf8.count <= 200,
            !fileName.unicodeScalars.contains(where: { $0.value < 0x20 })
        else {
            throw Problem.badRequest(
                "invalid-file-name", "Invalid file name", "fileName must be 1 to 200 bytes without control characters")
        }
        let key = try await auth.authorize(request, .finance)
        let path = FileManager.default.temporaryDirectory.path + "/khata-upload-\(UUID().uuidString).csv"
        defer { unlink(path) }
        try await save(request.body, to: path)
        do {
            let summary = try await SettlementImporter(store: store, clock: now).importFile(
                path: path, fileName: fileName, dialect: dialect, settlementDate: settlementDate,
                importedBy: key.name.isEmpty ? key.id : key.name)
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: summary.json)))
            response.headers[.contentType] = "application/json"
            return response
        } catch let error as SettlementFileError {
            throw Problem(
                .unprocessableContent, "settlement-file-refused", "Settlement file refused",
                detail: "\(error.message); nothing was imported (\(error.code))")
        } catch let error as DatabaseError {
            throw Problem(
                .serviceUnavailable, "store-unavailable", "Store unavailable",
                detail: "the job store could not take the file (\(error.code)); retry")
        }
    }

    /// Writes the body to `path` as it arrives, refusing it with 413 past the settlement limit.
    private func save(_ body: RequestBody, to path: String) async throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Problem(
                .serviceUnavailable, "store-unavailable", "Store unavailable",
                detail: "no room for the upload (\(String(cString: strerror(errno)))); retry")
        }
        defer { close(descriptor) }
        var written = 0
        for try await buffer in body {
            written += buffer.readableBytes
            guard written <= maximumBytes else {
                throw Problem(
                    .contentTooLarge, "body-too-large", "Body too large",
                    detail: "the settlement file is larger than \(maximumBytes) bytes "
                        + "(khata serve --maximum-settlement-bytes)")
            }
            try buffer.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else {
                        throw Problem(
                            .serviceUnavailable, "store-unavailable", "Store unavailable",
                            detail: "the upload could not be written (\(String(cString: strerror(errno)))); retry")
                    }
                    offset += count
                }
            }
        }
    }
}
