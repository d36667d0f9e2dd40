import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Prepares zero-filled segment files ahead of need, so that a segment roll only writes a header
/// and renames. Filling with zeros allocates every block now, which is why each later group
/// commit needs `fdatasync` of data only, without a metadata journal commit.
final class SegmentAllocator: Sendable {
    private struct State {
        var spares: [String] = []
        var counter = 0
        var stopping = false
        var lastFailure: StorageError?
    }

    let directory: String
    let segmentSizeBytes: Int
    let spareTarget: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)

    /// Starts a background thread keeping `spareTarget` spares ready (none when 0).
    init(directory: String, segmentSizeBytes: Int, spareTarget: Int) {
        self.directory = directory
        self.segmentSizeBytes = segmentSizeBytes
        self.spareTarget = spareTarget
        if spareTarget > 0 {
            BackgroundThread(name: "khata-prealloc") { [self] in self.run() }.detach()
            wake.signal()
        } else {
            stopped.signal()
        }
    }

    /// A zero-filled, durable spare segment: a ready one if any, else one created now.
    func take() throws(StorageError) -> String {
        let ready: String? = state.withLock { state in state.spares.isEmpty ? nil : state.spares.removeFirst() }
        wake.signal()
        if let ready { return ready }
        return try createSpare()
    }

    /// Creates spares now until `count` are ready (used before timing a benchmark).
    func reserve(count: Int) throws(StorageError) {
        while state.withLock({ $0.spares.count }) < count {
            let path = try createSpare()
            state.withLock { $0.spares.append(path) }
        }
    }

    /// Stops the background thread and removes unused spares.
    func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
        stopped.wait()
        let leftovers = state.withLock { state in
            defer { state.spares.removeAll() }
            return state.spares
        }
        for path in leftovers { try? Directory.remove(path) }
    }

    private func run() {
        while true {
            wake.wait()
            while true {
                let needed = state.withLock { !$0.stopping && $0.spares.count < spareTarget && $0.lastFailure == nil }
                if !needed { break }
                do throws(StorageError) {
                    let path = try createSpare()
                    state.withLock { $0.spares.append(path) }
                } catch {
                    // A failure here (disk full) is not fatal: the roll retries synchronously
                    // and reports the error to the writer's caller.
                    state.withLock { $0.lastFailure = error }
                }
            }
            if state.withLock({ $0.stopping }) { break }
            state.withLock { $0.lastFailure = nil }
        }
        stopped.signal()
    }

    private func createSpare() throws(StorageError) -> String {
        let number = state.withLock { state in
            state.counter += 1
            return state.counter
        }
        let path = Path.join(directory, "spare-\(number).tmp")
        try Self.createZeroFilled(path: path, sizeBytes: segmentSizeBytes)
        return path
    }

    /// Writes `sizeBytes` of zeros to a new file and syncs it; removes the file on failure.
    static func createZeroFilled(path: String, sizeBytes: Int) throws(StorageError) {
        let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_EXCL)
        do throws(StorageError) {
            let chunkBytes = 1 << 20
            let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 4096)
            defer { zeros.deallocate() }
            zeros.initializeMemory(as: UInt8.self, repeating: 0)
            var offset = 0
            while offset < sizeBytes {
                let length = min(chunkBytes, sizeBytes - offset)
                try file.writeAll(UnsafeRawBufferPointer(rebasing: zeros[0..<length]), at: offset)
                offset += length
            }
            try file.syncAll()
            file.close()
        } catch {
            file.close()
            try? Directory.remove(path)
            throw StorageError(
                error.code, "cannot preallocate a \(sizeBytes)-byte segment: \(error.message)",
                path: path, offset: error.offset, errno: error.errno)
        }
    }
}
