import Foundation
import JobStore
import Scheduler
import SettlementImport
import TestSupport

/// A scratch job store and folder to import settlement files into, on one backend.
final class ImportHarness {
    let scratch: Backend.Scratch
    let database: JobDatabase
    let store: SettlementLines
    let importer: SettlementImporter

    init(_ backend: Backend = .sqlite) throws {
        scratch = try backend.scratch()
        database = try scratch.open()
        store = SettlementLines(database: database)
        // A fixed clock: 2023-02-01T00:00:00Z.
        importer = SettlementImporter(store: store, clock: { 1_675_209_600_000_000_000 })
    }

    deinit { scratch.remove() }

    /// Writes `bytes` to a file called `name` in the scratch folder; answers its path.
    func write(_ bytes: [UInt8], name: String) throws -> String {
        let path = scratch.directory.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func write(_ text: String, name: String) throws -> String { try write(Array(text.utf8), name: name) }

    /// Imports `text` as a file in `dialect`; answers the summary and the stored lines.
    func importText(
        _ text: String, dialect: SettlementDialect, name: String = "settlement.csv", settlementDate: CivilDate? = nil
    ) async throws -> (summary: SettlementImportSummary, lines: [SettlementLine]) {
        try await importBytes(Array(text.utf8), dialect: dialect, name: name, settlementDate: settlementDate)
    }

    func importBytes(
        _ bytes: [UInt8], dialect: SettlementDialect, name: String = "settlement.csv", settlementDate: CivilDate? = nil
    ) async throws -> (summary: SettlementImportSummary, lines: [SettlementLine]) {
        let path = try write(bytes, name: name)
        let summary = try await importer.importFile(
            path: path, fileName: name, dialect: dialect, settlementDate: settlementDate, importedBy: "test")
        return (summary, try await store.lines(fileId: summary.fileId))
    }
}

/// The providers' header lines, as docs/SETTLEMENT-FORMATS.md gives them.
enum Headers {
    static let bkash =
        "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,customerMsisdn,"
        + "paymentExecuteTime,transactionStatus,originalTrxID"
    static let nagad =
        "orderId,paymentRefId,issuerPaymentRefNo,type,amount,fee,netAmount,currency,clientMobileNo,orderDateTime,"
        + "status,originalIssuerPaymentRefNo"
    static let sslcommerz =
        "tran_id,val_id,bank_tran_id,tran_type,amount,store_amount,currency,card_type,tran_date,status,risk_level,"
        + "original_tran_id"
}
