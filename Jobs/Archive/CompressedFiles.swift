import CZstd
import KhataCrypto
import LedgerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The size and SHA-256 of a run of bytes, as the manifest records them.
public struct FileDigest: Codable, Equatable, Sendable {
    public var bytes: Int
    public var sha256: String
}

/// Writes one zstd frame to a file through libzstd's streaming interface, so memory stays
/// constant whatever the size. It writes under a temporary name and renames only after fsync:
/// an interrupted export leaves no file that looks complete. Hashes both sides as it goes.
final class CompressedFileWriter {
    let path: String
    private let temporaryPath: String
    private var fd: Int32
    private let context: OpaquePointer
    private let output: UnsafeMutableRawBufferPointer
    private let uncompressedHash = SHA256Stream()
    private let compressedHash = SHA256Stream()
    private(set) var uncompressedBytes = 0
    private(set) var compressedBytes = 0

    init(path: String, level: Int32) throws(ArchiveError) {
        self.path = path
        temporaryPath = path + ".tmp"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError.system("cannot create", path: temporaryPath) }
        // Safe: ZSTD_createCCtx fails only when memory is exhausted.
        context = ZSTD_createCCtx()!
        output = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
        _ = ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        // The frame's own checksum lets `zstd -t` and any reader find damage without the manifest.
        _ = ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        // One worker thread compresses while this thread reads, verifies and lays out the next
        // block (as the zstd command does by default); a library built without threads ignores it.
        _ = ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, 1)
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
        if fd >= 0 {
            close(fd)
            unlink(temporaryPath)
        }
    }

    /// Compresses and writes `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        uncompressedHash.update(bytes)
        uncompressedBytes += bytes.count
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            try step(&input, ZSTD_e_continue)
        }
    }

    /// Ends the frame, makes the file durable and gives it its final name; returns the digests
    /// of the compressed and the uncompressed bytes.
    func finish() throws(ArchiveError) -> (compressed: FileDigest, uncompressed: FileDigest) {
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
        guard fsync(fd) == 0 else { throw ArchiveError.system("cannot sync", path: temporaryPath) }
        close(fd)
        fd = -1
        guard rename(temporaryPath, path) == 0 else { throw ArchiveError.system("cannot rename", path: temporaryPath) }
        return (
            FileDigest(bytes: compressedBytes, sha256: Crypto.hex(compressedHash.finish())),
            FileDigest(bytes: uncompressedBytes, sha256: Crypto.hex(uncompressedHash.finish()))
        )
    }

    /// One call of the compressor; answers what libzstd says remains to flush.
    @discardableResult
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws(ArchiveError) -> Int {
        var out = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &out, &input, directive)
        guard ZSTD_isError(remaining) == 0 else {
            throw ArchiveError(.io, "zstd: \(String(cString: ZSTD_getErrorName(remaining)))", path: path)
        }
        if out.pos > 0 {
            let chunk = UnsafeRawBufferPointer(start: output.baseAddress, count: out.pos)
            compressedHash.update(chunk)
            try writeAll(chunk)
            compressedBytes += out.pos
        }
        return remaining
    }

    private func writeAll(_ chunk: UnsafeRawBufferPointer) throws(ArchiveError) {
        var written = 0
        while written < chunk.count {
            let result = Glibc.write(fd, chunk.baseAddress! + written, chunk.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw ArchiveError.system("cannot write", path: temporaryPath)
            }
            written += result
        }
    }
}

/// Reads one zstd frame from a file, handing out the decompressed bytes in windows of the size
/// asked for. Hashes the compressed bytes as read and the decompressed bytes as produced, and
/// knows how far into the compressed file it is, so that damage can be placed.
final class CompressedFileReader {
    let path: String
    private let fd: Int32
    private let context: OpaquePointer
    private let inputChunk: UnsafeMutableRawBufferPointer
    private var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    /// Huge-page memory (see `ZeroedMemory`): faulting a fresh 4 MiB window in page by page, for
    /// every file, was a visible part of verify.
    private var windowMemory: ZeroedMemory
    private var window: UnsafeMutableRawPointer
    private var windowCapacity: Int
    private var start = 0
    private var end = 0
    private var fileEnded = false
    private var frameEnded = false
    private let compressedHash = SHA256Stream()
    private let uncompressedHash = SHA256Stream()
    private(set) var compressedBytesRead = 0
    /// Compressed bytes the decompressor has consumed: where damage it reports lies (at most one
    /// zstd block further back).
    private(set) var compressedOffset = 0
    private(set) var uncompressedBytes = 0
    /// Decompressed bytes handed out so far.
    private(set) var consumed = 0

    init(path: String) throws(ArchiveError) {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw ArchiveError(.damaged, "a file the manifest lists is missing", path: path) }
            throw ArchiveError.system("cannot open", path: path)
        }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        // Safe: ZSTD_createDCtx fails only when memory is exhausted.
        context = ZSTD_createDCtx()!
        inputChunk = .allocate(byteCount: 1 << 20, alignment: 16)
        windowCapacity = 1 << 22
        windowMemory = ZeroedMemory(bytes: windowCapacity)
        window = windowMemory.base
    }

    deinit {
        close(fd)
        ZSTD_freeDCtx(context)
        inputChunk.deallocate()
        windowMemory.release()
    }

    /// The next `count` decompressed bytes, or `nil` when the stream ends cleanly before any of
    /// them; a stream that ends part-way through is damage.
    func next(_ count: Int) throws(ArchiveError) -> UnsafeRawBufferPointer? {
        while end - start < count {
            if frameEnded {
                if end == start { return nil }
                throw damage("the decompressed stream ends inside a block")
            }
            try decompressMore(room: count)
        }
        defer {
            start += count
            consumed += count
        }
        return UnsafeRawBufferPointer(start: window + start, count: count)
    }

    /// Whatever decompressed bytes are ready, at least one and at most `limit`; `nil` at the
    /// stream's end.
    func nextAvailable(upTo limit: Int) throws(ArchiveError) -> UnsafeRawBufferPointer? {
        while end == start {
            if frameEnded { return nil }
            try decompressMore(room: 1)
        }
        let count = min(limit, end - start)
        defer {
            start += count
            consumed += count
        }
        return UnsafeRawBufferPointer(start: window + start, count: count)
    }

    /// A LEB128 number from the stream; `nil` at a clean end.
    func varint() throws(ArchiveError) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = try next(1)?.first else {
                if shift == 0 { return nil }
                throw damage("the decompressed stream ends inside a number")
            }
            guard shift < 63 || byte <= 1 else { throw damage("a length over 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// After the last block: the frame must end exactly, and nothing may follow it.
    func finish() throws(ArchiveError) -> (compressed: FileDigest, uncompressed: FileDigest) {
        while !frameEnded { try decompressMore(room: 1) }
        guard end == start else { throw damage("bytes follow the end of the last block") }
        guard input.pos == input.size else {
            throw ArchiveError(.damaged, "bytes follow the end of the zstd frame", path: path, offset: compressedOffset)
        }
        var probe: UInt8 = 0
        guard read(fd, &probe, 1) == 0 else {
            throw ArchiveError(.damaged, "bytes follow the end of the zstd frame", path: path, offset: compressedOffset)
        }
        return (
            FileDigest(bytes: compressedBytesRead, sha256: Crypto.hex(compressedHash.finish())),
            FileDigest(bytes: uncompressedBytes, sha256: Crypto.hex(uncompressedHash.finish()))
        )
    }

    /// Damage in the decompressed stream, placed by both offsets.
    func damage(_ reason: String) -> ArchiveError {
        ArchiveError(
            .damaged, "\(reason) (decompressed offset \(consumed))", path: path, offset: compressedOffset)
    }

    private func decompressMore(room: Int) throws(ArchiveError) {
        if start > 0 && windowCapacity - end < max(room, 1 << 17) {
            window.copyMemory(from: window + start, byteCount: end - start)
            end -= start
            start = 0
        }
        if windowCapacity - end < max(room, 1 << 17) {
            let capacity = max(windowCapacity * 2, end + room + (1 << 17))
            let grown = ZeroedMemory(bytes: capacity)
            grown.base.copyMemory(from: window + start, byteCount: end - start)
            windowMemory.release()
            windowMemory = grown
            window = grown.base
            windowCapacity = capacity
            end -= start
            start = 0
        }
        if input.pos == input.size && !fileEnded {
            let count = read(fd, inputChunk.baseAddress, inputChunk.count)
            guard count >= 0 else { throw ArchiveError.system("cannot read", path: path) }
            if count == 0 {
                fileEnded = true
            } else {
                compressedHash.update(UnsafeRawBufferPointer(start: inputChunk.baseAddress, count: count))
                compressedBytesRead += count
                input = ZSTD_inBuffer(src: inputChunk.baseAddress, size: count, pos: 0)
            }
        }
        if input.pos == input.size && fileEnded {
            throw ArchiveError(
                .damaged, "the compressed file ends before its zstd frame does (truncated?)", path: path,
                offset: compressedBytesRead)
        }
        let before = input.pos
        var out = ZSTD_outBuffer(dst: window + end, size: windowCapacity - end, pos: 0)
        let result = ZSTD_decompressStream(context, &out, &input)
        compressedOffset += input.pos - before
        guard ZSTD_isError(result) == 0 else {
            throw ArchiveError(
                .damaged, "zstd cannot decompress: \(String(cString: ZSTD_getErrorName(result)))", path: path,
                offset: compressedOffset)
        }
        if out.pos > 0 {
            uncompressedHash.update(UnsafeRawBufferPointer(start: window + end, count: out.pos))
            uncompressedBytes += out.pos
            end += out.pos
        }
        if result == 0 { frameEnded = true }
    }
}

extension ArchiveError {
    /// A failed system call, with `errno`'s text.
    static func system(_ what: String, path: String) -> ArchiveError {
        ArchiveError(.io, "\(what): \(String(cString: strerror(errno)))", path: path)
    }
}
