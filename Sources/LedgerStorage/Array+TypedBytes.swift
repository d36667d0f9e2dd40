extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for closures that throw `StorageError` (the standard one only rethrows
    /// untyped errors).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StorageError) -> R) throws(StorageError) -> R {
        let result: Result<R, StorageError> = withUnsafeBytes { raw in
            Result { () throws(StorageError) in try body(raw) }
        }
        return try result.get()
    }

    /// `withUnsafeMutableBytes` for closures that throw `StorageError`.
    mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(StorageError) -> R)
        throws(StorageError) -> R
    {
        let result: Result<R, StorageError> = withUnsafeMutableBytes { raw in
            Result { () throws(StorageError) in try body(raw) }
        }
        return try result.get()
    }
}
