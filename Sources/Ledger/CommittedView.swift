import LedgerCore
import Synchronization

/// What readers see: accounts and transfers as of the last durable group, published by the I/O
/// thread after each group is made durable, so nothing uncommitted is ever visible.
///
/// This first version keeps its tables behind a Mutex held only for a dictionary access; the
/// lock-free tables that issue 4 asks for replace it.
final class CommittedView: Sendable {
    private struct Tables {
        var accounts: [UInt128: Account] = [:]
        var keys: [String: UInt128] = [:]
        var transfers: [UInt128: Transfer] = [:]
        /// Per account, the ids of the transfers that moved its money, in commit order.
        var history: [UInt128: [UInt128]] = [:]
    }

    private let tables = Mutex(Tables())

    func publish(accounts: [Account], transfers: [Transfer]) {
        tables.withLock { tables in
            for account in accounts {
                tables.accounts[account.id] = account
                tables.keys[account.key] = account.id
            }
            for transfer in transfers {
                let id = transfer.fields.id
                if tables.transfers.updateValue(transfer, forKey: id) == nil {
                    tables.history[transfer.fields.debitAccountId, default: []].append(id)
                    tables.history[transfer.fields.creditAccountId, default: []].append(id)
                }
            }
        }
    }

    func account(id: UInt128) -> Account? { tables.withLock { $0.accounts[id] } }

    func account(key: String) -> Account? {
        tables.withLock { tables in tables.keys[key].flatMap { tables.accounts[$0] } }
    }

    func transfer(id: UInt128) -> Transfer? { tables.withLock { $0.transfers[id] } }

    /// Up to `limit` transfers of an account with timestamps after `after`, oldest first.
    func history(accountId: UInt128, after: UInt64, limit: Int) -> [Transfer] {
        tables.withLock { tables in
            let ids = tables.history[accountId] ?? []
            // Commit order is timestamp order, so the cursor is found by binary search.
            var low = 0
            var high = ids.count
            while low < high {
                let middle = (low + high) / 2
                // Safe: every id in a history was published with its transfer.
                if tables.transfers[ids[middle]]!.timestamp <= after { low = middle + 1 } else { high = middle }
            }
            return ids[low..<min(ids.count, low + limit)].map { tables.transfers[$0]! }
        }
    }

    var accountCount: Int { tables.withLock { $0.accounts.count } }

    var allAccounts: [Account] { tables.withLock { Array($0.accounts.values) } }
}
