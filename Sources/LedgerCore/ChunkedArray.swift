#if canImport(Glibc)
    import Glibc
#endif

/// An append-only array of plain values in fixed-size chunks of raw memory that never move, so
/// that reader threads can hold pointers into it while the one writer appends. The chunk
/// directory is allocated once at its full size (zeroed memory the kernel maps lazily), so it
/// never moves either.
///
/// Only the writer appends, removes the last element or changes values; readers may read the
/// elements below a count the writer published to them, as the engine's readers do.
package final class ChunkedArray<Element: BitwiseCopyable>: @unchecked Sendable {
    // Safe (@unchecked Sendable): see the rule above; element memory is never freed or moved
    // before deinit, and readers only touch published elements (through atomics where the
    // writer may still change a field).
    /// 2^17 elements a chunk: 14 MiB of 112-byte or 24 MiB of 192-byte records, whole huge
    /// pages.
    static var chunkShift: Int { 17 }
    static var chunkCount: Int { 1 << 15 }
    private static var chunkMask: Int { (1 << chunkShift) - 1 }

    private let directory: UnsafeMutablePointer<UnsafeMutablePointer<Element>?>
    /// How many elements the writer has appended (and not removed).
    package private(set) var count = 0
    private var allocatedChunks = 0
    private var chunkMemory: [ZeroedMemory] = []
    /// The next chunk, mapped ahead of need so that it can be faulted in off the writer's thread.
    private var spare: ZeroedMemory?
    /// Called with each spare chunk's memory when it is mapped: the engine hands it to a thread
    /// that faults it in, so that the writer does not stall zeroing huge pages. Without it, the
    /// writer faults pages in itself as it appends.
    private let prepareMemory: (@Sendable (UnsafeMutableRawPointer, Int) -> Void)?

    /// Whether chunks get transparent huge pages: fewer TLB misses on random reads, but each
    /// first touch zeroes 2 MiB, which showed in tail latency for the transfers, appended by
    /// the million; accounts are few and read at random, and take them.
    private let hugePages: Bool

    package init(hugePages: Bool, prepareMemory: (@Sendable (UnsafeMutableRawPointer, Int) -> Void)? = nil) {
        self.hugePages = hugePages
        self.prepareMemory = prepareMemory
        // Safe: calloc fails only when memory is exhausted, where the process cannot go on.
        guard let raw = calloc(Self.chunkCount, MemoryLayout<UnsafeMutablePointer<Element>?>.stride) else {
            fatalError("cannot allocate a chunk directory")
        }
        directory = raw.bindMemory(to: UnsafeMutablePointer<Element>?.self, capacity: Self.chunkCount)
    }

    deinit {
        for memory in chunkMemory { memory.release() }
        spare?.release()
        free(directory)
    }

    private static var chunkBytes: Int { MemoryLayout<Element>.stride << chunkShift }

    /// The most elements the array can hold.
    static var maximumCount: Int { chunkCount << chunkShift }

    /// The element's memory. Valid until deinit, for any index below `count` (or below a count
    /// published to readers).
    @inline(__always)
    package func pointer(_ index: Int) -> UnsafeMutablePointer<Element> {
        // Safe: callers pass indexes of appended elements, whose chunk exists.
        directory[index >> Self.chunkShift].unsafelyUnwrapped + (index & Self.chunkMask)
    }

    @inline(__always)
    package subscript(index: Int) -> Element {
        get { pointer(index).pointee }
        set { pointer(index).pointee = newValue }
    }

    /// Appends `element` and returns its index.
    @discardableResult
    package func append(_ element: Element) -> Int {
        let index = count
        let chunk = index >> Self.chunkShift
        if chunk == allocatedChunks {
            precondition(chunk < Self.chunkCount, "more than \(Self.maximumCount) elements")
            // Aligned to huge pages (so to cache lines too: records whose size is a multiple of
            // 64 bytes each start a line).
            // Faulted in lazily, a huge page at a time, unless `prepareMemory` had it faulted in
            // ahead: records are appended in order, and populating a whole chunk at once here
            // stalled the sequencer for milliseconds, which showed in latency percentiles.
            let memory = spare.take() ?? ZeroedMemory(bytes: Self.chunkBytes, hugePages: hugePages)
            if let prepareMemory, chunk + 1 < Self.chunkCount {
                let next = ZeroedMemory(bytes: Self.chunkBytes, hugePages: hugePages)
                spare = next
                prepareMemory(next.base, Self.chunkBytes)
            }
            chunkMemory.append(memory)
            let elements = memory.base.bindMemory(to: Element.self, capacity: 1 << Self.chunkShift)
            directory[chunk] = elements
            allocatedChunks += 1
        }
        pointer(index).initialize(to: element)
        count += 1
        return index
    }

    /// Removes the newest element (its memory stays allocated for the next append).
    func removeLast() {
        precondition(count > 0, "removeLast on an empty array")
        count -= 1
    }

    /// Bytes of element memory allocated so far.
    package var allocatedBytes: Int { allocatedChunks * (MemoryLayout<Element>.stride << Self.chunkShift) }
}
