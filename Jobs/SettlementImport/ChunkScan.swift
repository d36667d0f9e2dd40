import Dispatch
import Foundation
import Glibc
import KhataCrypto
import Synchronization

/// libcsv parses one byte after another; to use both cores the file is cut into chunks that are
/// parsed at the same time by two threads, each chunk by a parser of its own, while the caller's
/// thread takes their records in file order. A chunk is guessed to start right after the first
/// line break at or past its offset: a guess that holds unless that line break sits inside a
/// quoted field. It is checked before any record of the chunk is used: the parser of the chunk
/// before must have ended exactly there, between two records. When it did not, the speculative
/// chunks are dropped and that parser simply goes on, reading the rest of the file in order.
final class ChunkScan: @unchecked Sendable {
    /// One chunk: the raw bytes at its offset (hashed and checked by the caller in order), and
    /// the records of the range a parser of its own read, from its start to the next chunk's.
    final class Chunk: @unchecked Sendable {
        let index: Int
        let rawOffset: Int64
        let raw: UnsafeMutableRawBufferPointer
        var rawCount = 0
        /// Where its records start and end in the file; nil when no line break was found to
        /// start at (a line longer than the search allows).
        var start: Int64?
        var end: Int64 = 0
        var stream: CSVStream?
        /// The parser stood between two records at `end`.
        var endedBetweenRecords = false
        var failure: (any Error)?
        /// Its raw bytes checked as UTF-8 text.
        var text = ChunkTextCheck()
        /// What each of its records is, read by the worker once the header was known (line
        /// numbers of refusals relative to the chunk's start); nil: the caller reads them.
        var rows: [SettlementRow]?
        let done = DispatchSemaphore(value: 0)
        /// Signalled once its raw bytes are in the file's hash, which the next chunk waits for:
        /// SHA-256 takes the bytes in file order.
        let hashed = DispatchSemaphore(value: 0)
        var previousHashed: DispatchSemaphore?

        private let pool: ChunkPool

        init(index: Int, rawOffset: Int64, pool: ChunkPool) {
            self.index = index
            self.rawOffset = rawOffset
            self.pool = pool
            raw = pool.buffer()
        }

        deinit {
            pool.recycle(raw)
            if let stream { pool.recycle(stream) }
            if let rows { pool.recycle(rows) }
        }
    }

    let descriptor: Int32
    let sizeBytes: Int64
    let delimiter: UInt8
    /// Where the first record starts: after a byte-order mark, if any.
    let firstRecordOffset: Int64
    let chunkCount: Int
    private let queue = Mutex<[Chunk?]>([])
    /// The file's reader once its header is found: workers then read their chunks' lines too.
    let layout = Mutex<SettlementReader?>(nil)
    /// The file's SHA-256, fed chunk after chunk by the workers (see `Chunk.hashed`) when
    /// `hashing`.
    let hash = SHA256Stream()
    let hashing: Bool
    /// Chunks' buffers and parsers, used again by later chunks: a large file would otherwise
    /// ask the system for fresh memory, and fault it in, for every chunk.
    private let pool = ChunkPool()
    private var lastHashed: DispatchSemaphore?
    private let queued = DispatchSemaphore(value: 0)
    private let cancelled = Atomic<Bool>(false)
    private let workers: Int

    /// How far past a chunk's offset a line break is looked for.
    static let boundarySearchBytes = 1 << 20

    init(
        descriptor: Int32, sizeBytes: Int64, delimiter: UInt8, firstRecordOffset: Int64, hashing: Bool = true,
        workers: Int = 2
    ) {
        self.hashing = hashing
        self.descriptor = descriptor
        self.sizeBytes = sizeBytes
        self.delimiter = delimiter
        self.firstRecordOffset = firstRecordOffset
        let chunk = Int64(SettlementFileScan.chunkBytes)
        chunkCount = Int((sizeBytes + chunk - 1) / chunk)
        self.workers = workers
        for _ in 0..<workers { Thread { [self] in runWorker() }.start() }
    }

    /// Queues chunk `index` for a worker; answers it, to be waited for with `done`.
    func schedule(_ index: Int) -> Chunk {
        let chunk = Chunk(index: index, rawOffset: Int64(index) * Int64(SettlementFileScan.chunkBytes), pool: pool)
        chunk.previousHashed = lastHashed
        lastHashed = chunk.hashed
        queue.withLock { $0.append(chunk) }
        queued.signal()
        return chunk
    }

    /// Stops the workers once the chunks queued so far are done.
    func stop() {
        cancelled.store(true, ordering: .sequentiallyConsistent)
        queue.withLock { for _ in 0..<workers { $0.append(nil) } }
        for _ in 0..<workers { queued.signal() }
    }

    private func runWorker() {
        while true {
            queued.wait()
            guard let chunk = queue.withLock({ $0.removeFirst() }) else { return }
            if cancelled.load(ordering: .relaxed) {
                chunk.hashed.signal()
            } else {
                parse(chunk)
            }
            chunk.done.signal()
        }
    }

    /// Reads `count` bytes at `offset` into `buffer`; answers how many there were.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        try Self.read(descriptor, into: buffer, count: count, at: offset)
    }

    /// Fills `buffer` from `offset` of the file, as far as the file goes; answers the bytes read.
    static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        // Safe: callers pass allocated buffers.
        try read(descriptor, into: buffer.baseAddress!, count: buffer.count, at: offset)
    }

    static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws
        -> Int
    {
        var done = 0
        while done < count {
            let got = pread(descriptor, buffer + done, count - done, off_t(offset) + off_t(done))
            if got < 0 {
                if errno == EINTR { continue }
                throw SettlementFileError(.unreadable, "the file cannot be read: \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            done += got
        }
        return done
    }

    /// Up to `count` bytes of the file at `offset` (fewer at its end).
    func bytes(_ count: Int, at offset: Int64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = try bytes.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: count, at: offset) }
        return Array(bytes.prefix(got))
    }

    /// The offset right after the first line feed at or past chunk `index`'s offset: where its
    /// records are guessed to start. The first chunk starts at the first record; past the end
    /// of the file, the end. Nil when no line feed comes within the search.
    func boundary(_ index: Int) throws -> Int64? {
        if index == 0 { return firstRecordOffset }
        let offset = Int64(index) * Int64(SettlementFileScan.chunkBytes)
        if offset >= sizeBytes { return sizeBytes }
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { window.deallocate() }
        var position = offset
        while position < sizeBytes && position - offset < Int64(Self.boundarySearchBytes) {
            // Safe: allocated just above.
            let got = try read(into: window.baseAddress!, count: window.count, at: position)
            if got == 0 { break }
            // Safe: allocated just above.
            let base = window.baseAddress!
            if let found = memchr(base, 0x0A, got) { return position + Int64(base.distance(to: found)) + 1 }
            position += Int64(got)
        }
        return position >= sizeBytes ? sizeBytes : nil
    }

    /// A worker's part: the raw bytes, then the records from this chunk's start to the next's.
    private func parse(_ chunk: Chunk) {
        var hashedYet = false
        // However this ends, the next chunk must not wait for this one's hash forever.
        defer { if !hashedYet { chunk.hashed.signal() } }
        do {
            // Safe: a chunk's buffer is allocated with it.
            chunk.rawCount = try read(
                into: chunk.raw.baseAddress!, count: min(chunk.raw.count, Int(sizeBytes - chunk.rawOffset)),
                at: chunk.rawOffset)
            if hashing {
                chunk.previousHashed?.wait()
                hash.update(UnsafeRawBufferPointer(rebasing: chunk.raw[0..<chunk.rawCount]))
            }
            chunk.hashed.signal()
            hashedYet = true
            let raw = UnsafeRawBufferPointer(rebasing: chunk.raw[0..<chunk.rawCount])
            chunk.text = try ChunkTextCheck(
                raw, offset: chunk.rawOffset, textStart: chunk.index == 0 ? Int(firstRecordOffset) : 0
            ) { count in try bytes(count, at: chunk.rawOffset + Int64(chunk.rawCount)) }
            guard let start = try boundary(chunk.index) else { return }
            chunk.start = start
            let next = try boundary(chunk.index + 1)
            let end = next ?? min(sizeBytes, chunk.rawOffset + Int64(SettlementFileScan.chunkBytes))
            chunk.end = max(start, end)
            let stream = pool.stream(delimiter: delimiter)
            chunk.stream = stream
            // The part of the range inside this chunk's raw bytes, then what lies past them.
            let rawEnd = chunk.rawOffset + Int64(chunk.rawCount)
            if start < rawEnd {
                let from = Int(start - chunk.rawOffset)
                let to = Int(min(chunk.end, rawEnd) - chunk.rawOffset)
                try stream.parseOnly(UnsafeRawBufferPointer(rebasing: chunk.raw[from..<to]))
            }
            var position = max(start, rawEnd)
            if position < chunk.end {
                let extra = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
                defer { extra.deallocate() }
                while position < chunk.end {
                    let want = Int(min(Int64(extra.count), chunk.end - position))
                    // Safe: allocated just above.
                    let got = try read(into: extra.baseAddress!, count: want, at: position)
                    if got == 0 { break }
                    try stream.parseOnly(UnsafeRawBufferPointer(rebasing: extra[0..<got]))
                    position += Int64(got)
                }
            }
            if chunk.end >= sizeBytes { try stream.finishOnly() }
            chunk.endedBetweenRecords = stream.isBetweenRecords
            // With the header known, the lines are read here, beside the next chunk's parse.
            if let reader = layout.withLock({ $0?.copyForThread() }) {
                var rows = pool.rows()
                try stream.completedRecords { rows.append(reader.readLine($0)) }
                chunk.rows = rows
            }
        } catch {
            chunk.failure = error
        }
    }
}

/// Buffers and parsers of chunks that are done, for the next chunks of the same file.
final class ChunkPool: @unchecked Sendable {
    /// Guards the lists below: the workers recycle while the caller's thread takes.
    private let lock = Mutex(())
    private var buffers: [UnsafeMutableRawBufferPointer] = []
    private var streams: [CSVStream] = []
    private var rowLists: [[SettlementRow]] = []

    /// A chunk's buffer of `SettlementFileScan.chunkBytes`.
    func buffer() -> UnsafeMutableRawBufferPointer {
        lock.withLock { _ in buffers.popLast() }
            ?? .allocate(byteCount: SettlementFileScan.chunkBytes, alignment: 16)
    }

    func recycle(_ buffer: UnsafeMutableRawBufferPointer) {
        lock.withLock { _ in buffers.append(buffer) }
    }

    /// A parser at the start of its input, splitting at `delimiter`.
    func stream(delimiter: UInt8) -> CSVStream {
        if let stream = lock.withLock({ _ in streams.popLast() }), stream.delimiter == delimiter {
            stream.reset()
            return stream
        }
        return CSVStream(delimiter: delimiter)
    }

    /// An empty list with room for a chunk's rows.
    func rows() -> [SettlementRow] {
        lock.withLock { _ in rowLists.popLast() } ?? []
    }

    func recycle(_ rows: [SettlementRow]) {
        var emptied = rows
        emptied.removeAll(keepingCapacity: true)
        lock.withLock { _ in rowLists.append(emptied) }
    }

    func recycle(_ stream: CSVStream) {
        lock.withLock { _ in streams.append(stream) }
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
    }
}
