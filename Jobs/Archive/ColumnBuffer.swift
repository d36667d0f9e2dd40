/// A growable run of bytes: one column of an archive block while it is encoded, or a block while
/// it is assembled. Appends check capacity only; the hot loops of export run through them.
final class ColumnBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 64 * 1024) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func removeAll() { count = 0 }

    @inline(__always)
    func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    func append(byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    /// LEB128: seven bits a byte, low bits first.
    @inline(__always)
    func append(varint value: UInt64) {
        reserve(10)
        var remaining = value
        while remaining >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: remaining) | 0x80, toByteOffset: count, as: UInt8.self)
            count += 1
            remaining >>= 7
        }
        base.storeBytes(of: UInt8(remaining), toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    func append(_ source: UnsafeRawPointer, count length: Int) {
        reserve(length)
        (base + count).copyMemory(from: source, byteCount: length)
        count += length
    }

    func append(_ source: UnsafeRawBufferPointer) {
        guard let address = source.baseAddress else { return }
        append(address, count: source.count)
    }

    func append(_ other: ColumnBuffer) { append(UnsafeRawPointer(other.base), count: other.count) }
}

/// Reads what `ColumnBuffer` wrote, checking every length: archive bytes are untrusted until
/// their chain proves them. Errors name the column; the caller adds the file and offset.
struct ColumnReader {
    let base: UnsafeRawPointer
    let count: Int
    private(set) var position = 0
    let name: String

    init(_ bytes: UnsafeRawBufferPointer, name: String) {
        // A zero-length column may have no address; any valid pointer serves, nothing is read.
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 16)!
        count = bytes.count
        self.name = name
    }

    var isAtEnd: Bool { position == count }

    @inline(__always)
    mutating func byte() throws(ColumnDamage) -> UInt8 {
        guard position < count else { throw ColumnDamage("column \(name) ends early") }
        defer { position += 1 }
        return base.load(fromByteOffset: position, as: UInt8.self)
    }

    @inline(__always)
    mutating func varint() throws(ColumnDamage) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < count else { throw ColumnDamage("column \(name) ends inside a number") }
            let byte = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            guard shift < 64, shift < 63 || byte <= 1 else {
                throw ColumnDamage("column \(name) holds a number over 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    /// The next `length` bytes, in place.
    @inline(__always)
    mutating func take(_ length: Int) throws(ColumnDamage) -> UnsafeRawPointer {
        guard length >= 0, count - position >= length else { throw ColumnDamage("column \(name) ends early") }
        defer { position += length }
        return base + position
    }
}

/// What is wrong inside a block's columns.
struct ColumnDamage: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
