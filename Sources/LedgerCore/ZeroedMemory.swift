#if canImport(Glibc)
    import Glibc
#endif

/// Large zero-filled memory straight from the kernel: pages are mapped (and zeroed) on first
/// touch, and regions of 2 MiB or more are aligned to 2 MiB and offered transparent huge pages.
/// Random lookups over gigabytes of records otherwise miss the TLB on nearly every access, and
/// fault a 4 KiB page at a time.
struct ZeroedMemory {
    /// Where the caller's bytes start.
    let base: UnsafeMutableRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappingBytes: Int

    static let hugePageBytes = 2 << 20

    init(bytes: Int) {
        precondition(bytes > 0)
        let huge = bytes >= Self.hugePageBytes
        let alignment = huge ? Self.hugePageBytes : Int(getpagesize())
        let mappingBytes = bytes + (huge ? alignment : 0)
        let raw = mmap(nil, mappingBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        // Safe: failing to map memory means it is exhausted, where the process cannot go on.
        guard let raw, raw != MAP_FAILED else { fatalError("cannot map \(bytes) bytes of memory") }
        let address = (Int(bitPattern: raw) + alignment - 1) & ~(alignment - 1)
        // Safe: address lies inside the mapping just made.
        base = UnsafeMutableRawPointer(bitPattern: address)!
        if huge { _ = madvise(base, bytes, MADV_HUGEPAGE) }
        mapping = raw
        self.mappingBytes = mappingBytes
    }

    func release() { munmap(mapping, mappingBytes) }
}
