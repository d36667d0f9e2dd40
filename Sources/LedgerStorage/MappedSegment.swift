#if canImport(Glibc)
    import Glibc
#endif

/// A segment file mapped read-only. The mapping serves recovery, checks and reads; appends go
/// through `pwrite` on a separate descriptor, which Linux keeps coherent with the mapping.
final class MappedSegment: @unchecked Sendable {
    // Safe (@unchecked Sendable): every field is immutable after init and the mapping is
    // read-only; it is unmapped only in deinit, when no reference remains.
    let path: String
    let header: SegmentHeader
    let base: UnsafeRawPointer
    let sizeBytes: Int

    /// Maps `path` and validates its header and its size against the header.
    init(path: String) throws(StorageError) {
        let file = try FileDescriptor.open(path, flags: O_RDONLY)
        defer { file.close() }
        let fileSize = try file.sizeBytes()
        guard fileSize >= Format.segmentHeaderSizeBytes else {
            throw StorageError(
                .corrupted,
                "segment file is \(fileSize) bytes, shorter than its \(Format.segmentHeaderSizeBytes)-byte header",
                path: path, offset: fileSize)
        }
        guard let mapping = mmap(nil, fileSize, PROT_READ, MAP_SHARED, file.fd, 0), mapping != MAP_FAILED else {
            throw StorageError.system("cannot map segment", path: path)
        }
        let header: SegmentHeader
        do throws(StorageError) {
            header = try SegmentHeader.decode(UnsafeRawPointer(mapping), path: path)
        } catch {
            munmap(mapping, fileSize)
            throw error
        }
        guard header.segmentSizeBytes == fileSize else {
            munmap(mapping, fileSize)
            throw StorageError(
                .corrupted, "segment file is \(fileSize) bytes but its header says \(header.segmentSizeBytes)",
                path: path, offset: min(fileSize, header.segmentSizeBytes))
        }
        let expectedName = Format.segmentFileName(firstSequence: header.firstSequence)
        guard Path.fileName(of: path) == expectedName else {
            munmap(mapping, fileSize)
            throw StorageError(
                .corrupted,
                "segment header says first sequence \(header.firstSequence), which belongs in \(expectedName)",
                path: path, offset: 24)
        }
        self.path = path
        self.header = header
        self.base = UnsafeRawPointer(mapping)
        self.sizeBytes = fileSize
    }

    /// Tells the kernel the mapping will be read front to back.
    func adviseSequential() {
        _ = madvise(UnsafeMutableRawPointer(mutating: base), sizeBytes, MADV_SEQUENTIAL)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), sizeBytes) }
}
