import LedgerCore
import Synchronization

/// What readers see: accounts and transfers as of the last durable group, published by the I/O
/// thread after each group is made durable, so nothing uncommitted is ever visible.
///
/// This first version keeps its tables behind a Mutex held only for a dictionary access; the
/// lock-free tables that issue 4 asks for replace it.
final class CommittedView: Sendable {
    private final class Tables: @unchecked Sendable {
        // Safe (@unchecked Sendable): only ever touched inside the Mutex below.
        var accounts: [Account] = []
        var accountSlots: IdTable
        var keys: [String: Int] = [:]
        var transfers: [Transfer] = []
        var transferSlots: IdTable
        /// Per account slot, the slots of the transfers that moved its money, in commit order.
        var history: [[Int32]] = []

        init(expectedAccounts: Int, expectedTransfers: Int) {
            accountSlots = IdTable(minimumCapacity: max(expectedAccounts, 16))
            transferSlots = IdTable(minimumCapacity: max(expectedTransfers, 1_024))
            accounts.reserveCapacity(expectedAccounts)
            history.reserveCapacity(expectedAccounts)
            transfers.reserveCapacity(expectedTransfers)
        }
    }

    private let tables: Mutex<Tables>

    init(expectedAccounts: Int, expectedTransfers: Int) {
        tables = Mutex(Tables(expectedAccounts: expectedAccounts, expectedTransfers: expectedTransfers))
    }

    func publish(accounts: [Account], transfers: [Transfer]) {
        tables.withLock { tables in
            for account in accounts {
                if let slot = tables.accountSlots[account.id] {
                    tables.accounts[slot] = account
                } else {
                    tables.accountSlots[account.id] = tables.accounts.count
                    tables.keys[account.key] = tables.accounts.count
                    tables.accounts.append(account)
                    tables.history.append([])
                }
            }
            for transfer in transfers {
                let id = transfer.fields.id
                if let slot = tables.transferSlots[id] {
                    tables.transfers[slot] = transfer
                    continue
                }
                let slot = tables.transfers.count
                tables.transferSlots[id] = slot
                tables.transfers.append(transfer)
                for accountId in [transfer.fields.debitAccountId, transfer.fields.creditAccountId] {
                    // Safe: a transfer's accounts exist, and accounts are published before it.
                    tables.history[tables.accountSlots[accountId]!].append(Int32(slot))
                }
            }
        }
    }

    func account(id: UInt128) -> Account? {
        tables.withLock { tables in tables.accountSlots[id].map { tables.accounts[$0] } }
    }

    func account(key: String) -> Account? {
        tables.withLock { tables in tables.keys[key].map { tables.accounts[$0] } }
    }

    func transfer(id: UInt128) -> Transfer? {
        tables.withLock { tables in tables.transferSlots[id].map { tables.transfers[$0] } }
    }

    /// Up to `limit` transfers of an account with timestamps after `after`, oldest first.
    func history(accountId: UInt128, after: UInt64, limit: Int) -> [Transfer] {
        tables.withLock { tables in
            guard let account = tables.accountSlots[accountId] else { return [] }
            let slots = tables.history[account]
            // Commit order is timestamp order, so the cursor is found by binary search.
            var low = 0
            var high = slots.count
            while low < high {
                let middle = (low + high) / 2
                if tables.transfers[Int(slots[middle])].timestamp <= after { low = middle + 1 } else { high = middle }
            }
            return slots[low..<min(slots.count, low + limit)].map { tables.transfers[Int($0)] }
        }
    }

    var accountCount: Int { tables.withLock { $0.accounts.count } }

    var allAccounts: [Account] { tables.withLock { $0.accounts } }
}
