import LedgerCore
import TestSupport
import Testing

@Suite("State snapshots")
struct SnapshotTests {
    /// A state built from the reference-model workload: every kind of account and transfer.
    static func busyState() -> (LedgerState<Unshared>, Workload, UInt64) {
        var workload = Workload(accountCount: 30, seed: 77)
        let state = LedgerState<Unshared>()
        var now: UInt64 = 1_764_000_000 * 1_000_000_000
        for batch in workload.setup() { _ = state.apply(batch, now: now) }
        for _ in 0..<300 {
            now += UInt64.random(in: 0...60, using: &workload.random) * 1_000_000_000
            _ = state.apply(workload.nextBatch(engine: state, now: now), now: now)
        }
        return (state, workload, now)
    }

    @Test("a restored snapshot is the same state and behaves the same afterwards")
    func roundTrip() throws {
        var (state, workload, now) = Self.busyState()
        let bytes = state.snapshot()
        let restored = try LedgerState<Unshared>(snapshot: bytes)
        #expect(restored.snapshot() == bytes)
        #expect(restored.allAccounts == state.allAccounts)
        #expect(restored.lastTimestamp == state.lastTimestamp)
        #expect(restored.transferCount == state.transferCount)
        #expect(
            restored.dueHolds(at: now + 1_000 * 1_000_000_000, limit: 1_000)
                == state.dueHolds(at: now + 1_000 * 1_000_000_000, limit: 1_000))
        for _ in 0..<50 {
            now += 30 * 1_000_000_000
            let batch = workload.nextBatch(engine: state, now: now)
            #expect(restored.apply(batch, now: now) == state.apply(batch, now: now))
        }
        #expect(restored.snapshot() == state.snapshot())
    }

    @Test("a damaged or foreign snapshot is refused")
    func refusals() {
        let (state, _, _) = Self.busyState()
        var bytes = state.snapshot()
        #expect(throws: SnapshotError.self) { try LedgerState<Unshared>(snapshot: Array(bytes.dropLast(3))) }
        #expect(throws: SnapshotError.self) { try LedgerState<Unshared>(snapshot: bytes + [0]) }
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: SnapshotError.self) { try LedgerState<Unshared>(snapshot: bytes) }
        #expect(throws: SnapshotError.self) { try LedgerState<Unshared>(snapshot: []) }
    }
}
