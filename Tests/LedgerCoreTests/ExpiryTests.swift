import TestSupport
import Testing

@testable import LedgerCore

@Suite("Holds by expiry")
struct ExpiryTests {
    @Test("resolved holds leave the expiry queue; due holds come out earliest first")
    func resolvedHoldsLeave() {
        let state = LedgerStateTests.ledger()
        var random = SplitMix(seed: 5)
        var windows: [UInt128: UInt32] = [:]
        for batch in 0..<30 {
            let events: [Event] = (0..<100).map { index in
                let id = UInt128(10_000 + batch * 100 + index)
                let window = UInt32(60 + random.next() % 3_600)
                windows[id] = window
                return LedgerStateTests.hold(id, amount: 100, windowSeconds: window)
            }
            #expect(LedgerStateTests.codes(state, events).allSatisfy { $0 == .ok })
        }
        // Capture all but every 30th hold.
        let open = windows.keys.filter { $0 % 30 == 0 }.sorted()
        var next: UInt128 = 100_000
        let captures: [Event] = windows.keys.sorted().filter { $0 % 30 != 0 }.map { hold in
            next += 1
            return .createTransfer(
                NewTransfer(
                    id: next, debitAccountId: 0, creditAccountId: 0, amountMinor: 0, pendingId: hold,
                    flags: .postPending))
        }
        for chunk in stride(from: 0, to: captures.count, by: 500) {
            let codes = LedgerStateTests.codes(state, Array(captures[chunk..<min(chunk + 500, captures.count)]))
            #expect(codes.allSatisfy { $0 == .ok })
        }
        // The queue is compacted when a hold is added: then it holds no more than twice the open
        // holds (plus slack), not every hold ever made.
        #expect(LedgerStateTests.codes(state, [LedgerStateTests.hold(99_999, amount: 100, windowSeconds: 60)]) == [.ok])
        #expect(state.expiry.count <= 2 * (open.count + 1) + 1_024)
        let due = state.dueHolds(at: LedgerStateTests.start + 10_000 * LedgerStateTests.second, limit: 10_000)
        #expect(Set(due) == Set(open + [99_999]))
        let deadlines = due.map { state.transfer(id: $0)!.expiresAt }
        #expect(deadlines == deadlines.sorted())
        #expect(state.brokenInvariant() == nil)
    }
}
