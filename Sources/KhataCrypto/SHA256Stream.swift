import COpenSSL

/// SHA-256 over bytes that arrive in pieces (a file read in chunks, an upload as it streams), so
/// that hashing needs no copy of the whole input.
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        // Safe: allocating a digest context fails only when memory is exhausted.
        context = EVP_MD_CTX_new()!
        precondition(EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1, "SHA-256 could not start")
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Adds the next piece of the input.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(EVP_DigestUpdate(context, base, bytes.count) == 1, "SHA-256 failed")
    }

    /// The digest of everything added; the stream cannot be used after.
    public func finish() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        precondition(EVP_DigestFinal_ex(context, &digest, &length) == 1 && length == 32, "SHA-256 failed")
        return digest
    }
}
