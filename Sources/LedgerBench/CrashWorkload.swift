import LedgerCore

/// The crash test's workload: every transfer succeeds (accounts have no limits, holds are captured
/// in the same batch), so after a crash each acknowledged transfer must exist exactly as sent.
public enum CrashWorkload {
    public static let accountCount = 50

    public static func accounts() -> [Event] {
        (1...accountCount).map { .createAccount(NewAccount(id: UInt128($0), key: "crash:\($0)", currency: .bdt)) }
    }

    public static func transferId(round: Int, submitter: Int, batch: Int, index: Int) -> UInt128 {
        UInt128(round + 1) << 96 | UInt128(submitter) << 64 | UInt128(batch) << 20 | UInt128(index)
    }

    /// 200 events: postings, and holds each captured by the next event.
    public static func batch(round: Int, submitter: Int, batch: Int) -> [Event] {
        var events: [Event] = []
        var index = 0
        while events.count < 200 {
            let id = transferId(round: round, submitter: submitter, batch: batch, index: index)
            let debit = UInt128((batch * 7 + index * 13 + submitter) % accountCount + 1)
            let credit = UInt128((batch * 11 + index * 3 + submitter + 1) % accountCount + 1)
            let amount = UInt64((batch * 31 + index * 17) % 100_000 + 1)
            if debit == credit {
                index += 1
                continue
            }
            if index % 10 == 0 {
                events.append(
                    .createTransfer(
                        NewTransfer(
                            id: id, debitAccountId: debit, creditAccountId: credit, amountMinor: amount,
                            timeoutSeconds: 3600, flags: .pending)))
                events.append(
                    .createTransfer(
                        NewTransfer(
                            id: id | 1 << 19, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: id,
                            flags: .postPending)))
            } else {
                events.append(
                    .createTransfer(
                        NewTransfer(id: id, debitAccountId: debit, creditAccountId: credit, amountMinor: amount)))
            }
            index += 1
        }
        return events
    }
}
