import KhataCrypto
import Testing

@Suite("Cryptography")
struct CryptoTests {
    @Test("HMAC-SHA256 matches RFC 4231 test case 2, and comparison is exact")
    func hmac() {
        let digest = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Crypto.hex(digest) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Crypto.bytes(hex: Crypto.hex(digest)) == digest)
        #expect(Crypto.bytes(hex: "zz") == nil)
        #expect(Crypto.bytes(hex: "abc") == nil)
        #expect(Crypto.constantTimeEqual(digest, digest))
        #expect(!Crypto.constantTimeEqual(digest, Array(digest.dropLast())))
        #expect(!Crypto.constantTimeEqual(digest, digest.map { $0 ^ 1 }))
        #expect(Crypto.constantTimeEqual([], []))
    }

    @Test("SHA-256 matches the FIPS 180-2 vectors")
    func sha256() {
        #expect(
            Crypto.hex(Crypto.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Crypto.hex(Crypto.sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("random bytes have the asked length and differ between calls")
    func random() {
        let first = Crypto.randomBytes(32)
        let second = Crypto.randomBytes(32)
        #expect(first.count == 32 && second.count == 32)
        #expect(first != second)
    }
}
