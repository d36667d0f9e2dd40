/// Settings of the segment store, with their units in their names.
public struct StoreConfiguration: Sendable, Equatable {
    /// Size of each segment file; preallocated with zeros when created.
    public var segmentSizeBytes: Int = Format.defaultSegmentSizeBytes
    /// The most data records in one commit group (one buffer, one `pwrite`, one `fdatasync`).
    public var groupCapacityRecords: Int = 8192
    /// Group buffers: one being written and synced, the others being filled meanwhile.
    public var groupBufferCount: Int = 3
    /// Threads that checksum and hash groups in parallel, off the caller's thread.
    public var sealThreadCount: Int = 2
    /// Zero-filled segments kept ready by a background thread.
    public var spareSegmentCount: Int = 1
    /// Checkpoint files kept; older ones are removed after a new one is durable.
    public var checkpointsKept: Int = 2

    public init() {}

    /// Checks the settings against the format's limits; the error names the setting.
    public func validate() throws(StorageError) {
        guard segmentSizeBytes >= Format.minimumSegmentSizeBytes, segmentSizeBytes % 4096 == 0 else {
            throw StorageError(
                .invalidArgument,
                "segmentSizeBytes must be a multiple of 4096 and at least \(Format.minimumSegmentSizeBytes), "
                    + "got \(segmentSizeBytes)"
            )
        }
        let recordsPerSegment = (segmentSizeBytes - Format.segmentHeaderSizeBytes) / Format.recordSizeBytes
        guard groupCapacityRecords >= 1, groupCapacityRecords <= Format.maximumGroupRecords,
            groupCapacityRecords + 1 <= recordsPerSegment
        else {
            throw StorageError(
                .invalidArgument,
                "groupCapacityRecords must be 1...\(min(Format.maximumGroupRecords, recordsPerSegment - 1)) "
                    + "for \(segmentSizeBytes)-byte segments, got \(groupCapacityRecords)"
            )
        }
        guard groupBufferCount >= 1, groupBufferCount <= 16 else {
            throw StorageError(.invalidArgument, "groupBufferCount must be 1...16, got \(groupBufferCount)")
        }
        guard sealThreadCount >= 1, sealThreadCount <= 16 else {
            throw StorageError(.invalidArgument, "sealThreadCount must be 1...16, got \(sealThreadCount)")
        }
        guard spareSegmentCount >= 0, spareSegmentCount <= 8 else {
            throw StorageError(.invalidArgument, "spareSegmentCount must be 0...8, got \(spareSegmentCount)")
        }
        guard checkpointsKept >= 1 else {
            throw StorageError(.invalidArgument, "checkpointsKept must be at least 1, got \(checkpointsKept)")
        }
    }
}
