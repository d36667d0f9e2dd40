import ArgumentParser
import Dispatch
import LedgerStorage

#if canImport(Glibc)
    import Glibc
#endif

/// A writer for crash tests: appends groups of records whose bodies are a function of their
/// sequence number and prints `ack <sequence>` once each group is durable. Tests kill it with
/// SIGKILL and check that every acknowledged record survives.
struct DebugAppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-append",
        abstract: "Append deterministic test records, acknowledging each durable group (for crash tests).",
        shouldDisplay: false
    )

    @OptionGroup var global: DataDirectoryOptions

    @Option(help: "Groups to append.")
    var groups: Int = 1000

    @Option(help: "Records per group.")
    var groupRecords: Int = 64

    @Option(help: "Segment size in bytes (small values exercise segment rolls).")
    var segmentSizeBytes: Int = 256 * 1024

    @Option(help: "Write a checkpoint every N groups (0: never).")
    var checkpointEvery: Int = 0

    func run() async throws {
        let (settings, _) = try await global.load(label: "khata.debug-append")
        var configuration = settings.storage
        configuration.segmentSizeBytes = segmentSizeBytes
        configuration.groupCapacityRecords = groupRecords
        let store = try SegmentStore.open(directory: settings.ledgerDirectory, configuration: configuration)
        var sequence = store.committedSequence + 1
        emit("open \(store.committedSequence)")
        for groupIndex in 0..<groups {
            let buffer = store.beginGroup()
            for _ in 0..<groupRecords {
                TestRecords.fill(buffer.appendSlot(kind: TestRecords.kind), sequence: sequence)
                sequence += 1
            }
            if checkpointEvery > 0 && groupIndex % checkpointEvery == checkpointEvery - 1 {
                let group = try store.commitAndWait(buffer)
                emit("ack \(group.lastSequence)")
                try store.writeCheckpoint(payload: TestRecords.checkpointPayload(through: group.lastSequence))
                emit("checkpoint \(group.lastSequence)")
            } else {
                store.commit(buffer) { result in
                    switch result {
                    case .success(let group): emit("ack \(group.lastSequence)")
                    case .failure(let error): emit("error \(error)")
                    }
                }
            }
        }
        store.close()
        emit("done")
    }
}

/// The deterministic content of crash-test records.
enum TestRecords {
    static let kind = RecordKind(rawValue: 200)

    static func fill(_ body: UnsafeMutableRawPointer, sequence: UInt64) {
        for word in 0..<14 {
            body.storeBytes(
                of: (sequence &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(word)).littleEndian, toByteOffset: word * 8,
                as: UInt64.self)
        }
    }

    static func checkpointPayload(through sequence: UInt64) -> [UInt8] {
        Array("through \(sequence)".utf8)
    }
}

/// Writes a line to standard output at once (no buffering), so a parent sees it before a kill.
func emit(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    bytes.withUnsafeMutableBytes { raw in _ = write(STDOUT_FILENO, raw.baseAddress, raw.count) }
}
