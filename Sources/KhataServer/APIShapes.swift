import Foundation
import Ledger
import LedgerCore

/// The API's JSON forms of accounts and transfers, for the command line's `--json`, so that a
/// script sees the same shapes from `khata` as from the HTTP API (amounts as ungrouped decimal
/// strings at the currency's scale, flags by name).
public enum APIShapes {
    /// An account as `GET /v1/accounts/{key}` answers it, on one line.
    public static func account(_ account: Account) -> String {
        line(AccountBody(account))
    }

    /// A transfer as `GET /v1/transfers/{id}` answers it, on one line; nil when one of its
    /// accounts is not in `ledger` (never, for a committed transfer).
    public static func transfer(_ transfer: Transfer, in ledger: Ledger) -> String? {
        guard let debit = ledger.account(id: transfer.fields.debitAccountId),
            let credit = ledger.account(id: transfer.fields.creditAccountId)
        else { return nil }
        return line(TransferBody(transfer, debitKey: debit.key, creditKey: credit.key, currency: debit.currency))
    }

    /// A transfer state as the API names it (`PENDING_POSTED`), for text that people compare with
    /// the API's answers.
    public static func stateName(_ state: TransferState) -> String { Names.state(state) }

    private static func line(_ value: some Encodable) -> String {
        // Safe: these bodies hold only strings, integers and arrays of strings, which always encode.
        String(decoding: try! JSONResponse.encoder.encode(value), as: UTF8.self)
    }
}
