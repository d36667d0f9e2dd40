import Dispatch
import LedgerStorage
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Measures the segment store against the disk's physical limit in one run: durable appends of
/// 128-byte records in groups, and the same bytes written with one `pwrite` and one `fdatasync`
/// per group over a zero-filled file. Runs alternate so that both see the same machine weather.
public struct StorageBench: Sendable {
    public struct Options: Sendable {
        public var records = 4_000_000
        public var groupRecords = 8192
        public var runs = 3
        public var segmentSizeBytes = Format.defaultSegmentSizeBytes
        /// Scratch directory; removed afterwards.
        public var directory: String
        public init(directory: String) { self.directory = directory }
    }

    /// The medians over all runs.
    public struct Result: Sendable, Codable {
        public var records: Int
        public var groupRecords: Int
        public var runs: Int
        public var recordsPerSecond: Double
        public var limitRecordsPerSecond: Double
        public var ratio: Double
        public var bytesPerSecond: Double
        public var limitBytesPerSecond: Double
        /// Seconds to open (recover) the store with a checkpoint at its end.
        public var openWithCheckpointSeconds: Double
        /// Seconds to open the same store with its checkpoints removed: recovery verifies and
        /// replays every record, which is what checkpoints spare.
        public var openWithoutCheckpointSeconds: Double
        /// Bytes per second of a full verification of every segment.
        public var checkBytesPerSecond: Double
        public var crc32cHardware: Bool
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    public func run() throws(StorageError) -> Result {
        let options = options
        var storeRates: [Double] = []
        var limitRates: [Double] = []
        var openSeconds: [Double] = []
        var checkRates: [Double] = []
        var fullOpenSeconds: [Double] = []
        try? removeTree(options.directory)
        for run in 0..<options.runs {
            let limitPath = options.directory + "/limit-\(run).dat"
            limitRates.append(try physicalLimit(path: limitPath))
            try? removeTree(limitPath)
            let storePath = options.directory + "/store-\(run)"
            storeRates.append(try durableAppend(directory: storePath))
            let started = Clock.now()
            var reopen = StoreConfiguration()
            reopen.segmentSizeBytes = options.segmentSizeBytes
            reopen.spareSegmentCount = 0
            let store = try SegmentStore.open(directory: storePath, configuration: reopen)
            openSeconds.append(Clock.seconds(since: started))
            precondition(store.committedSequence == UInt64(options.records), "reopened store lost records")
            store.close()
            let checkStarted = Clock.now()
            let report = try StoreVerifier.verify(directory: storePath)
            checkRates.append(Double(report.bytesVerified) / Clock.seconds(since: checkStarted))
            for name in try directoryEntries(storePath) where name.hasPrefix("checkpoint-") {
                try? removeTree(storePath + "/" + name)
            }
            let fullStarted = Clock.now()
            var replayed = 0
            let full = try SegmentStore.open(directory: storePath, configuration: reopen) { _, _, _ in replayed += 1 }
            fullOpenSeconds.append(Clock.seconds(since: fullStarted))
            precondition(replayed == options.records, "full replay saw \(replayed) records")
            full.close()
            try? removeTree(storePath)
        }
        try? removeTree(options.directory)
        let rate = median(storeRates)
        let limit = median(limitRates)
        return Result(
            records: options.records, groupRecords: options.groupRecords, runs: options.runs,
            recordsPerSecond: rate, limitRecordsPerSecond: limit,
            ratio: median(zip(storeRates, limitRates).map { $0 / $1 }),
            bytesPerSecond: rate * Double(Format.recordSizeBytes),
            limitBytesPerSecond: limit * Double(Format.recordSizeBytes),
            openWithCheckpointSeconds: median(openSeconds), openWithoutCheckpointSeconds: median(fullOpenSeconds),
            checkBytesPerSecond: median(checkRates),
            crc32cHardware: CRC32C.isHardwareAccelerated)
    }

    /// Durable appends through the store, in records per second; segments are created before
    /// the clock starts, as the limit's file is. Leaves the store (with a checkpoint) behind.
    public func durableAppend(directory: String) throws(StorageError) -> Double {
        var configuration = StoreConfiguration()
        configuration.segmentSizeBytes = options.segmentSizeBytes
        configuration.groupCapacityRecords = options.groupRecords
        configuration.groupBufferCount = 4
        configuration.spareSegmentCount = 0
        let store = try SegmentStore.open(directory: directory, configuration: configuration)
        defer { store.close() }
        let groupBytes = (options.groupRecords + 1) * Format.recordSizeBytes
        let perSegment = (options.segmentSizeBytes - Format.segmentHeaderSizeBytes) / groupBytes * options.groupRecords
        try store.reserveSegments((options.records + perSegment - 1) / perSegment)
        let outstanding = DispatchSemaphore(value: 0)
        let failure = Mutex<StorageError?>(nil)
        var groups = 0
        var remaining = options.records
        var sequence: UInt64 = 1
        let started = Clock.now()
        while remaining > 0 {
            let buffer = store.beginGroup()
            let count = min(options.groupRecords, remaining)
            for _ in 0..<count {
                let body = buffer.appendSlot(kind: RecordKind(rawValue: RecordKind.firstDataKind))
                fillBody(body, sequence: sequence)
                sequence += 1
            }
            store.commit(buffer) { result in
                if case .failure(let error) = result { failure.withLock { $0 = error } }
                outstanding.signal()
            }
            groups += 1
            remaining -= count
        }
        for _ in 0..<groups { outstanding.wait() }
        let seconds = Clock.seconds(since: started)
        if let error = failure.withLock({ $0 }) { throw error }
        try store.writeCheckpoint(payload: Array("bench".utf8))
        return Double(options.records) / seconds
    }

    /// The physical limit in records per second: the same bytes as the store's data records,
    /// one `pwrite` and one `fdatasync` per group, over a file filled with zeros (and synced)
    /// before the clock starts.
    public func physicalLimit(path: String) throws(StorageError) -> Double {
        try? removeTree(options.directory)
        try makeDirectory(options.directory)
        let totalBytes = options.records * Format.recordSizeBytes
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError(.io, "cannot create", path: path, errno: errno) }
        defer { close(fd) }
        let groupBytes = options.groupRecords * Format.recordSizeBytes
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(groupBytes, 1 << 20), alignment: 4096)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        var offset = 0
        while offset < totalBytes {
            let length = min(buffer.count, totalBytes - offset)
            guard pwrite(fd, buffer.baseAddress!, length, off_t(offset)) == length else {
                throw StorageError(.io, "zero-fill failed", path: path, offset: offset, errno: errno)
            }
            offset += length
        }
        guard fsync(fd) == 0 else { throw StorageError(.io, "fsync failed", path: path, errno: errno) }
        for index in 0..<options.groupRecords {
            fillBody(buffer.baseAddress! + index * Format.recordSizeBytes, sequence: UInt64(index))
        }
        let started = Clock.now()
        offset = 0
        while offset < totalBytes {
            let length = min(groupBytes, totalBytes - offset)
            guard pwrite(fd, buffer.baseAddress!, length, off_t(offset)) == length else {
                throw StorageError(.io, "write failed", path: path, offset: offset, errno: errno)
            }
            guard fdatasync(fd) == 0 else { throw StorageError(.io, "fdatasync failed", path: path, errno: errno) }
            offset += length
        }
        return Double(options.records) / Clock.seconds(since: started)
    }

    /// Bench bodies are not all zero (so nothing compresses or short-cuts), cheap to make.
    @inline(__always)
    private func fillBody(_ body: UnsafeMutableRawPointer, sequence: UInt64) {
        for word in 0..<(Format.recordBodySizeBytes / 8) {
            body.storeBytes(
                of: sequence &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(word), toByteOffset: word * 8, as: UInt64.self)
        }
    }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

/// A monotonic clock in nanoseconds.
public enum Clock {
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    public static func seconds(since start: UInt64) -> Double {
        Double(now() - start) / 1e9
    }
}

/// Creates a directory if it is not there.
public func makeDirectory(_ path: String) throws(StorageError) {
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
        throw StorageError(.io, "cannot create directory", path: path, errno: errno)
    }
}

func directoryEntries(_ path: String) throws(StorageError) -> [String] {
    guard let dir = opendir(path) else { throw StorageError(.io, "cannot list", path: path, errno: errno) }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) {
            String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// Removes a file or a directory tree (the bench's own scratch files only).
public func removeTree(_ path: String) throws(StorageError) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if (info.st_mode & S_IFMT) == S_IFDIR {
        for name in try directoryEntries(path) { try removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}
