import CKhataSupport
import LedgerCore

/// Refunded amounts of committed transfers, for readers: one writer (the I/O thread, or the
/// opening thread while restoring), readers without locks, through a tag index over slots that
/// never move; an amount is stored atomically.
final class CommittedRefunds: @unchecked Sendable {
    // Safe (@unchecked Sendable): one writer at a time, as above; slots are appended before the
    // index entry that publishes them, and amounts are written and read atomically.
    struct Slot {
        var transfer: UInt64
        var amountMinor: UInt64
    }

    private let index = TagIndex<ReleaseAcquire>(minimumCapacity: 1_024)
    private let slots = ChunkedArray<Slot>(hugePages: false)

    func set(_ amount: UInt64, transfer: UInt32) {
        let hash = idHash(UInt128(transfer))
        let probe = index.find(hash) { slots.pointer($0).pointee.transfer == UInt64(transfer) }
        if let existing = probe.record {
            khata_store_release_u64(amountAddress(existing), amount)
        } else {
            let slot = slots.append(Slot(transfer: UInt64(transfer), amountMinor: amount))
            index.insert(hash, record: slot, at: probe)
        }
    }

    func amount(transfer: UInt32) -> UInt64 {
        let found = index.read(idHash(UInt128(transfer))) { slots.pointer($0).pointee.transfer == UInt64(transfer) }
        return found.map { khata_load_acquire_u64(amountAddress($0)) } ?? 0
    }

    private func amountAddress(_ slot: Int) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutableRawPointer(slots.pointer(slot)).advanced(by: MemoryLayout<Slot>.offset(of: \Slot.amountMinor)!)
            .assumingMemoryBound(to: UInt64.self)
    }
}
