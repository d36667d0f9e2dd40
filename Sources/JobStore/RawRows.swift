/// Rows read as bytes: every value's text (integers in decimal, as both databases give them) in
/// one buffer, with where each starts and how long it is. For readers that write rows out
/// again (a report streams every mismatch of a run): no value becomes a `String` or a
/// `SQLValue` on the way, so reading a page is little more than the database's own work.
public struct RawRows: Sendable {
    public let columnCount: Int
    public private(set) var rowCount = 0
    private var bytes: [UInt8] = []
    /// Per value: its start in `bytes` and its length, -1 for NULL.
    private var spans: [Int32] = []

    init(columnCount: Int, reservingRows rows: Int = 0) {
        self.columnCount = columnCount
        spans.reserveCapacity(rows * columnCount * 2)
        bytes.reserveCapacity(rows * columnCount * 16)
    }

    /// Adds the next value of the current row; nil is NULL.
    mutating func append(_ value: UnsafeRawBufferPointer?) {
        guard let value else {
            spans.append(0)
            spans.append(-1)
            return
        }
        // Two appends, not `+= [a, b]`: an array literal per value would allocate.
        spans.append(Int32(bytes.count))
        spans.append(Int32(value.count))
        bytes.append(contentsOf: value)
    }

    /// Ends the current row (`columnCount` values were appended).
    mutating func endRow() {
        rowCount += 1
        precondition(spans.count == rowCount * columnCount * 2, "a row has one value per column")
    }

    /// Runs `body` with a view that reads values in place.
    public func withView<T>(_ body: (View) throws -> T) rethrows -> T {
        try bytes.withUnsafeBytes { buffer in
            try spans.withUnsafeBufferPointer { spans in
                try body(View(bytes: buffer, spans: spans, columnCount: columnCount, rowCount: rowCount))
            }
        }
    }

    /// The values of the rows, in place; valid inside `withView` only.
    public struct View {
        let bytes: UnsafeRawBufferPointer
        let spans: UnsafeBufferPointer<Int32>
        public let columnCount: Int
        public let rowCount: Int

        /// The bytes of a value, nil for NULL.
        @inline(__always)
        public func value(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
            let index = (row * columnCount + column) * 2
            let count = Int(spans[index + 1])
            guard count >= 0 else { return nil }
            let start = Int(spans[index])
            return UnsafeRawBufferPointer(rebasing: bytes[start..<start + count])
        }

        /// A value read as a decimal integer; nil for NULL or anything else.
        public func integer(_ row: Int, _ column: Int) -> Int64? {
            guard let text = value(row, column), !text.isEmpty, text.count <= 20 else { return nil }
            var index = 0
            let negative = text[0] == 0x2D
            if negative { index = 1 }
            guard index < text.count else { return nil }
            var magnitude: UInt64 = 0
            while index < text.count {
                let digit = text[index] &- 48
                guard digit < 10 else { return nil }
                let (times, overflowTimes) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflowSum) = times.addingReportingOverflow(UInt64(digit))
                guard !overflowTimes, !overflowSum else { return nil }
                magnitude = sum
                index += 1
            }
            if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
            return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
        }

        /// A value as text (making a `String`); nil for NULL.
        public func text(_ row: Int, _ column: Int) -> String? {
            value(row, column).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
