#if canImport(Glibc)
    import Glibc
#endif

/// Memory for one commit group: the data records the caller appends, plus room for the commit
/// record the writer adds. Page-aligned so that the group goes to the kernel in one `pwrite`.
///
/// A buffer belongs to exactly one party at a time: the writer's pool, the caller filling it, or
/// the I/O thread writing it. Ownership moves through the writer's queues, which synchronise.
public final class GroupBuffer: @unchecked Sendable {
    // Safe (@unchecked Sendable): see the ownership rule above; no two threads touch a buffer
    // at once, and every hand-over goes through a Mutex or a semaphore, which orders memory.
    let base: UnsafeMutableRawPointer
    /// How many data records the buffer can take.
    public let capacityRecords: Int
    /// How many data records have been appended since the buffer was handed out.
    public private(set) var count = 0

    init(capacityRecords: Int) {
        precondition(capacityRecords > 0 && capacityRecords <= Format.maximumGroupRecords)
        self.capacityRecords = capacityRecords
        let sizeBytes = (capacityRecords + 1) * Format.recordSizeBytes
        var memory: UnsafeMutableRawPointer?
        // Safe: posix_memalign fails only on exhausted memory, where the process cannot go on.
        guard posix_memalign(&memory, 4096, sizeBytes) == 0, let memory else {
            fatalError("cannot allocate a \(sizeBytes)-byte group buffer")
        }
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: sizeBytes)
        base = memory
    }

    /// Whether another record fits.
    public var isFull: Bool { count == capacityRecords }

    /// Appends a data record whose body is copied from `body` (exactly 112 bytes).
    public func append(kind: RecordKind, body: UnsafeRawBufferPointer) {
        precondition(body.count == Format.recordBodySizeBytes, "a record body is \(Format.recordBodySizeBytes) bytes")
        appendSlot(kind: kind).copyMemory(from: body.baseAddress!, byteCount: Format.recordBodySizeBytes)
    }

    /// Appends a data record and returns its 112-byte body for the caller to fill in place. The
    /// caller must write all 112 bytes: the slot still holds an earlier group's bytes, because
    /// clearing every body costs as much as a tenth of the writer's time.
    public func appendSlot(kind: RecordKind) -> UnsafeMutableRawPointer {
        precondition(kind.isData, "record kind \(kind.rawValue) is reserved for storage")
        precondition(count < capacityRecords, "group buffer is full (\(capacityRecords) records)")
        let slot = base + count * Format.recordSizeBytes
        slot.storeBytes(of: kind.rawValue, toByteOffset: 4, as: UInt8.self)
        count += 1
        return slot + Format.recordBodyOffset
    }

    /// The body of the data record at `index` (below `count`), for reading back what was appended
    /// while the buffer is still in flight: seal threads write only record headers.
    public func body(at index: Int) -> UnsafeRawPointer {
        precondition(index >= 0 && index < count, "record \(index) of a \(count)-record group")
        return UnsafeRawPointer(base + index * Format.recordSizeBytes + Format.recordBodyOffset)
    }

    /// Empties the buffer so it can be handed out again (bodies are overwritten as reused).
    func reset() {
        count = 0
    }

    deinit { free(base) }
}
