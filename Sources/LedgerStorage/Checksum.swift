import CKhataSupport

/// CRC-32C (Castagnoli), the per-record and per-header checksum of the format.
public enum CRC32C {
    /// The checksum of `count` bytes at `pointer`.
    @inline(__always)
    public static func checksum(_ pointer: UnsafeRawPointer, count: Int) -> UInt32 {
        khata_crc32c(0, pointer, count)
    }

    /// The checksum of a byte buffer.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress else { return khata_crc32c(0, nil, 0) }
        return khata_crc32c(0, base, bytes.count)
    }

    /// Whether the CPU's CRC32 instruction is in use.
    public static var isHardwareAccelerated: Bool { khata_crc32c_is_hardware() != 0 }
}
