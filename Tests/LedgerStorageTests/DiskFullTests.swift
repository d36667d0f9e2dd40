import Foundation
import LedgerStorage
import TestSupport
import Testing

/// A real ENOSPC from a small tmpfs (mounting needs root, which CI has).
@Suite("Disk full", .enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
struct DiskFullTests {
    @Test("running out of space stops the writer with a clear error and the store still opens")
    func diskFull() throws {
        let directory = TemporaryDirectory("khata-full")
        defer { directory.remove() }
        // 200 KiB holds three 64 KiB segments; the fourth cannot be preallocated.
        let mounted = Process()
        mounted.executableURL = URL(fileURLWithPath: "/bin/mount")
        mounted.arguments = ["-t", "tmpfs", "-o", "size=200k", "tmpfs", directory.path]
        try mounted.run()
        mounted.waitUntilExit()
        try #require(mounted.terminationStatus == 0, "mount failed")
        defer {
            let unmount = Process()
            unmount.executableURL = URL(fileURLWithPath: "/bin/umount")
            unmount.arguments = [directory.path]
            try? unmount.run()
            unmount.waitUntilExit()
        }
        let ledger = directory.path + "/ledger"
        let store = try SegmentStore.open(directory: ledger, configuration: Bodies.small)
        var acknowledged: UInt64 = 0
        var failure: (any Error)?
        for _ in 0..<100 where failure == nil {
            switch Result(catching: { try Bodies.append(store, count: 100, groupSize: 100) }) {
            case .success(let last): acknowledged = last
            case .failure(let error): failure = error
            }
        }
        let error = try #require(failure as? StorageError)
        #expect(error.code == .diskFull, "\(error)")
        #expect(error.description.contains("cannot preallocate"), "\(error)")
        #expect(error.description.contains("No space left on device"), "\(error)")
        #expect(acknowledged >= 1_000)
        // The writer stays stopped: nothing more is accepted until the store is reopened.
        #expect(store.writerFailure != nil)
        let again = Result(catching: { try store.append([(kind: Bodies.kind, body: Bodies.body(1))]) })
        #expect((again.failureValue as? StorageError)?.code == .writerFailed)
        store.close()

        let (reopened, seen) = try Bodies.replayAll(ledger)
        #expect(reopened.committedSequence == acknowledged)
        #expect(seen.count == Int(acknowledged))
        reopened.close()
        #expect(try StoreVerifier.verify(directory: ledger).lastSequence == acknowledged)
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: ledger).contains { $0.hasSuffix(".tmp") }))
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
