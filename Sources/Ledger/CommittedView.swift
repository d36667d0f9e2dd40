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
    }

    private let tables = Mutex(Tables())

    func publish(accounts: [Account], transfers: [Transfer]) {
        tables.withLock { tables in
            for account in accounts {
                tables.accounts[account.id] = account
                tables.keys[account.key] = account.id
            }
            for transfer in transfers {
                tables.transfers[transfer.fields.id] = transfer
            }
        }
    }

    func account(id: UInt128) -> Account? { tables.withLock { $0.accounts[id] } }

    func account(key: String) -> Account? {
        tables.withLock { tables in tables.keys[key].flatMap { tables.accounts[$0] } }
    }

    func transfer(id: UInt128) -> Transfer? { tables.withLock { $0.transfers[id] } }

    var accountCount: Int { tables.withLock { $0.accounts.count } }

    var allAccounts: [Account] { tables.withLock { Array($0.accounts.values) } }
}
