#if canImport(Glibc)
    import Glibc
#endif

/// Large zero-filled memory straight from the kernel. Regions of 2 MiB or more are aligned to
/// 2 MiB and (unless declined) offered transparent huge pages: random lookups over gigabytes of records otherwise
/// miss the TLB on nearly every access. With `populate`, the kernel maps and zeroes every page at
/// once, which costs far less than faulting them in one by one during random access later.
public struct ZeroedMemory {
    /// Where the caller's bytes start.
    package let base: UnsafeMutableRawPointer
    private let mapping: UnsafeMutableRawPointer
    private let mappingBytes: Int

    static let hugePageBytes = 2 << 20

    package init(bytes: Int, populate: Bool = false, hugePages: Bool = true) {
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
        if huge && hugePages { _ = madvise(base, bytes, MADV_HUGEPAGE) }
        if populate { _ = madvise(base, bytes, MADV_POPULATE_WRITE) }
        mapping = raw
        self.mappingBytes = mappingBytes
    }

    package func release() { munmap(mapping, mappingBytes) }

    /// Faults every page of `bytes` at `base` in (zeroed) now, e.g. on a helper thread.
    public static func populate(_ base: UnsafeMutableRawPointer, bytes: Int) {
        _ = madvise(base, bytes, MADV_POPULATE_WRITE)
    }
}
