/// Where the state reads transfer requests back by sequence number: the request as the client
/// sent it is what a retry is compared with, and what readers and refunds resolve a transfer's
/// accounts and amount from.
///
/// Under the engine, the log holds every request: the state keeps only a ring of the most recent
/// ones (those that may not be written yet) and reads older ones through `older`, which the
/// engine points at the mapped log. Standing alone (tests, tools), the state keeps every request
/// here, since there is no log to read them from.
final class RequestLog {
    private var ring: [NewTransfer] = []
    private var ringSequences: [UInt64] = []
    private var mask = 0
    /// Every request, at index sequence - 1, when there is no log (`keepsAll`).
    private(set) var all: [NewTransfer] = []
    private(set) var keepsAll = true
    /// Reads a request the ring no longer holds; set by the engine.
    var older: ((UInt64) -> NewTransfer?)?

    static let placeholder = NewTransfer(id: 0, debitAccountId: 0, creditAccountId: 0, amountMinor: 0)

    /// Keeps only the newest `capacity` requests (rounded up to a power of two) from now on.
    func keepRecent(_ capacity: Int, older: @escaping (UInt64) -> NewTransfer?) {
        var size = 1
        while size < capacity { size <<= 1 }
        ring = [NewTransfer](repeating: Self.placeholder, count: size)
        ringSequences = [UInt64](repeating: 0, count: size)
        mask = size - 1
        keepsAll = false
        all = []
        self.older = older
    }

    /// Restores the requests of a state standing alone (from its snapshot).
    func restoreAll(_ requests: [NewTransfer]) {
        if keepsAll { all = requests }
    }

    /// Notes the request logged at `sequence` (sequences arrive in increasing order).
    @inline(__always)
    func record(_ request: NewTransfer, sequence: UInt64) {
        if keepsAll {
            precondition(sequence >= 1, "sequences start at 1")
            while all.count < Int(sequence) - 1 { all.append(Self.placeholder) }
            if all.count == Int(sequence) - 1 { all.append(request) } else { all[Int(sequence) - 1] = request }
        } else {
            let slot = Int(truncatingIfNeeded: sequence) & mask
            ring[slot] = request
            ringSequences[slot] = sequence
        }
    }

    /// The request logged at `sequence`.
    func request(_ sequence: UInt64) -> NewTransfer {
        if keepsAll {
            precondition(sequence >= 1 && Int(sequence) <= all.count, "no request at sequence \(sequence)")
            return all[Int(sequence) - 1]
        }
        let slot = Int(truncatingIfNeeded: sequence) & mask
        if ringSequences[slot] == sequence { return ring[slot] }
        // Safe: a transfer's request is in the ring until it is surely in the log, and the log
        // keeps every record; a miss means the log was lost under a running ledger.
        guard let request = older?(sequence) else {
            preconditionFailure("the request at sequence \(sequence) is in neither memory nor the log")
        }
        return request
    }
}
