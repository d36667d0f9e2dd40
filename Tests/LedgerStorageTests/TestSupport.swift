import Foundation
import LedgerStorage
import PropertyBased
import TestSupport
import Testing

typealias SeededRandom = SplitMix

/// Test record bodies: a function of the sequence number, so any record can be checked alone.
enum Bodies {
    static let kind = RecordKind(rawValue: 42)

    static func body(_ sequence: UInt64) -> [UInt8] {
        (0..<Format.recordBodySizeBytes).map { UInt8(truncatingIfNeeded: sequence &* 31 &+ UInt64($0) &* 7) }
    }

    /// Appends `count` records in groups of `groupSize`, returning the last sequence.
    @discardableResult
    static func append(_ store: SegmentStore, count: Int, groupSize: Int) throws -> UInt64 {
        var next = store.committedSequence + 1
        var remaining = count
        var last: UInt64 = store.committedSequence
        while remaining > 0 {
            let size = min(groupSize, remaining)
            let records = (0..<size).map { index in (kind: kind, body: body(next + UInt64(index))) }
            let group = try store.append(records)
            #expect(group.firstSequence == next)
            next = group.lastSequence + 1
            last = group.lastSequence
            remaining -= size
        }
        return last
    }

    /// Every record the store replays on open, in order.
    static func replayAll(_ directory: String, configuration: StoreConfiguration = small) throws -> (
        SegmentStore, [(UInt64, [UInt8])]
    ) {
        var seen: [(UInt64, [UInt8])] = []
        let store = try SegmentStore.open(directory: directory, configuration: configuration) { kind, sequence, body in
            #expect(kind == Bodies.kind)
            seen.append((sequence, Array(body)))
        }
        return (store, seen)
    }

    /// Small segments so that tests roll segments quickly.
    static var small: StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.segmentSizeBytes = 64 * 1024
        configuration.groupCapacityRecords = 100
        configuration.spareSegmentCount = 0
        return configuration
    }
}

/// Byte-level edits of store files, for corruption tests.
enum FileBytes {
    static func read(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func write(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func flipBit(_ path: String, offset: Int, bit: Int = 0) throws {
        var bytes = try read(path)
        bytes[offset] ^= UInt8(1 << bit)
        try write(path, bytes)
    }

    static func segments(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("segment-") }.sorted().map { directory + "/" + $0 }
    }

    static func checkpoints(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("checkpoint-") && !$0.hasSuffix(".tmp") }.sorted().map { directory + "/" + $0 }
    }
}
