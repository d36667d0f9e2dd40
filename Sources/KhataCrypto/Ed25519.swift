import COpenSSL

/// Ed25519 signatures through OpenSSL: archive manifests are signed with them. Keys are kept in
/// the PEM files `openssl genpkey -algorithm ed25519` writes and reads (PKCS #8 private keys,
/// SubjectPublicKeyInfo public keys), so operators can make and inspect them with either tool.
public enum Ed25519 {
    /// Why a key could not be read.
    public struct KeyError: Error, Equatable, Sendable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// A private key: the 32-byte seed.
    public struct PrivateKey: Sendable {
        let seed: [UInt8]

        /// A new key from the system's secure random source.
        public static func generate() -> PrivateKey { PrivateKey(seed: Crypto.randomBytes(32)) }

        /// Reads a PEM private key (`-----BEGIN PRIVATE KEY-----`) holding an Ed25519 key.
        public init(pem: String) throws(KeyError) {
            let der = try Ed25519.decodePEM(pem, label: "PRIVATE KEY")
            guard der.count == Ed25519.privatePrefix.count + 32, der.starts(with: Ed25519.privatePrefix) else {
                throw KeyError(reason: "the PEM private key is not an Ed25519 key (PKCS #8, 48 bytes)")
            }
            seed = Array(der.suffix(32))
        }

        init(seed: [UInt8]) {
            precondition(seed.count == 32)
            self.seed = seed
        }

        /// The key as PEM, as `openssl genpkey -algorithm ed25519` writes it.
        public var pem: String { Ed25519.encodePEM(Ed25519.privatePrefix + seed, label: "PRIVATE KEY") }

        /// The matching public key.
        public var publicKey: PublicKey {
            let key = rawKey()
            defer { EVP_PKEY_free(key) }
            var raw = [UInt8](repeating: 0, count: 32)
            var length = 32
            precondition(EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1 && length == 32, "Ed25519 failed")
            return PublicKey(checkedRaw: raw)
        }

        /// The 64-byte signature of `message`.
        public func sign(_ message: [UInt8]) -> [UInt8] {
            let key = rawKey()
            defer { EVP_PKEY_free(key) }
            // Safe: allocation fails only when memory is exhausted.
            let context = EVP_MD_CTX_new()!
            defer { EVP_MD_CTX_free(context) }
            precondition(EVP_DigestSignInit(context, nil, nil, nil, key) == 1, "Ed25519 signing could not start")
            var signature = [UInt8](repeating: 0, count: 64)
            var length = 64
            let status = message.withUnsafeBufferPointer {
                EVP_DigestSign(context, &signature, &length, $0.baseAddress, $0.count)
            }
            precondition(status == 1 && length == 64, "Ed25519 signing failed")
            return signature
        }

        private func rawKey() -> OpaquePointer {
            // Safe: a 32-byte seed is always a valid Ed25519 private key.
            seed.withUnsafeBufferPointer { EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)! }
        }
    }

    /// A public key: 32 bytes.
    public struct PublicKey: Equatable, Sendable {
        /// The raw key.
        public let raw: [UInt8]

        /// A key from its 32 raw bytes.
        public init(raw: [UInt8]) throws(KeyError) {
            guard raw.count == 32 else { throw KeyError(reason: "an Ed25519 public key is 32 bytes, not \(raw.count)") }
            self.raw = raw
        }

        init(checkedRaw raw: [UInt8]) {
            precondition(raw.count == 32)
            self.raw = raw
        }

        /// Reads a public key from PEM (`-----BEGIN PUBLIC KEY-----`) or 64 hexadecimal digits.
        public init(text: String) throws(KeyError) {
            let trimmed = text.trimmingSpaces
            if let raw = Crypto.bytes(hex: trimmed), raw.count == 32 {
                self.raw = raw
                return
            }
            let der = try Ed25519.decodePEM(trimmed, label: "PUBLIC KEY")
            guard der.count == Ed25519.publicPrefix.count + 32, der.starts(with: Ed25519.publicPrefix) else {
                throw KeyError(reason: "the PEM public key is not an Ed25519 key")
            }
            raw = Array(der.suffix(32))
        }

        /// Lower-case hexadecimal of the 32 bytes.
        public var hex: String { Crypto.hex(raw) }

        /// The key as PEM, as `openssl pkey -pubout` writes it.
        public var pem: String { Ed25519.encodePEM(Ed25519.publicPrefix + raw, label: "PUBLIC KEY") }

        /// Whether `signature` is this key's signature of `message`.
        public func verify(signature: [UInt8], of message: [UInt8]) -> Bool {
            guard signature.count == 64,
                let key = raw.withUnsafeBufferPointer({
                    EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
                })
            else { return false }
            defer { EVP_PKEY_free(key) }
            // Safe: allocation fails only when memory is exhausted.
            let context = EVP_MD_CTX_new()!
            defer { EVP_MD_CTX_free(context) }
            guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
            let status = message.withUnsafeBufferPointer { messageBytes in
                signature.withUnsafeBufferPointer {
                    EVP_DigestVerify(context, $0.baseAddress, 64, messageBytes.baseAddress, messageBytes.count)
                }
            }
            return status == 1
        }
    }

    /// DER prefixes of the two key encodings, followed by the 32 key bytes (RFC 8410).
    static let privatePrefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]
    static let publicPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    static func encodePEM(_ der: [UInt8], label: String) -> String {
        var encoded = [UInt8](repeating: 0, count: (der.count + 2) / 3 * 4 + 1)
        let length = der.withUnsafeBufferPointer { EVP_EncodeBlock(&encoded, $0.baseAddress, Int32($0.count)) }
        let base64 = String(decoding: encoded.prefix(Int(length)), as: UTF8.self)
        return "-----BEGIN \(label)-----\n\(base64)\n-----END \(label)-----\n"
    }

    static func decodePEM(_ text: String, label: String) throws(KeyError) -> [UInt8] {
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { String($0).trimmingSpaces }
        guard let begin = lines.firstIndex(of: "-----BEGIN \(label)-----"),
            let end = lines.firstIndex(of: "-----END \(label)-----"), end > begin + 1
        else { throw KeyError(reason: "not a PEM \(label.lowercased()) (no BEGIN/END \(label) lines)") }
        let base64 = Array(lines[(begin + 1)..<end].joined().utf8)
        guard !base64.isEmpty, base64.count % 4 == 0, base64.count <= 4096 else {
            throw KeyError(reason: "the PEM \(label.lowercased()) is not valid base64")
        }
        var decoded = [UInt8](repeating: 0, count: base64.count / 4 * 3)
        let length = base64.withUnsafeBufferPointer { EVP_DecodeBlock(&decoded, $0.baseAddress, Int32($0.count)) }
        guard length >= 0 else { throw KeyError(reason: "the PEM \(label.lowercased()) is not valid base64") }
        // EVP_DecodeBlock counts padding as zero bytes; drop them.
        let padding = base64.reversed().prefix(while: { $0 == UInt8(ascii: "=") }).count
        return Array(decoded.prefix(Int(length) - padding))
    }
}

extension String {
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
