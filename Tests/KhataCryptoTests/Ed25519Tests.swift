import Foundation
import KhataCrypto
import Testing

/// Ed25519 keys and signatures: RFC 8032's vector, the PEM files openssl reads and writes, and
/// key files a stranger could hand over.
@Suite("Ed25519")
struct Ed25519Tests {
    static let privatePrefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    static func pem(_ der: [UInt8], label: String) -> String {
        "-----BEGIN \(label)-----\n\(Data(der).base64EncodedString())\n-----END \(label)-----\n"
    }

    @Test("RFC 8032 test 1: the public key and the signature of the empty message, byte for byte")
    func rfcVector() throws {
        let seed = try #require(Crypto.bytes(hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        let key = try Ed25519.PrivateKey(pem: Self.pem(Self.privatePrefix + seed, label: "PRIVATE KEY"))
        #expect(key.publicKey.hex == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = key.sign([])
        #expect(
            Crypto.hex(signature)
                == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
                + "d25bf5f0595bbe24655141438e7a100b")
        let publicKey = try Ed25519.PublicKey(text: key.publicKey.hex)
        #expect(publicKey.verify(signature: signature, of: []))
        #expect(try Ed25519.PublicKey(text: key.publicKey.pem) == publicKey)
        #expect(try Ed25519.PrivateKey(pem: key.pem).publicKey == publicKey)
        var flipped = signature
        flipped[10] ^= 1
        #expect(!publicKey.verify(signature: flipped, of: []))
        #expect(!publicKey.verify(signature: signature, of: [0]))
        #expect(!publicKey.verify(signature: Array(signature.prefix(63)), of: []))
        #expect(!Ed25519.PrivateKey.generate().publicKey.verify(signature: signature, of: []))
    }

    @Test("keys made by openssl are read, and keys written here are read by openssl")
    func openssl() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { return }
        let directory = NSTemporaryDirectory() + "khata-ed25519-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output, as: UTF8.self))
        }
        #expect(try openssl(["genpkey", "-algorithm", "ed25519", "-out", directory + "/theirs.pem"]).status == 0)
        let theirs = try Ed25519.PrivateKey(pem: String(contentsOfFile: directory + "/theirs.pem", encoding: .utf8))
        let theirPublic = try openssl(["pkey", "-in", directory + "/theirs.pem", "-pubout"])
        #expect(try Ed25519.PublicKey(text: theirPublic.output) == theirs.publicKey)

        let ours = Ed25519.PrivateKey.generate()
        try ours.pem.write(toFile: directory + "/ours.pem", atomically: true, encoding: .utf8)
        let ourPublic = try openssl(["pkey", "-in", directory + "/ours.pem", "-pubout"])
        #expect(ourPublic.status == 0)
        #expect(ourPublic.output == ours.publicKey.pem)
    }

    @Test("a key file that is not an Ed25519 key is refused, saying why")
    func hostileKeys() throws {
        let seed = [UInt8](repeating: 7, count: 32)
        var otherAlgorithm = Self.privatePrefix + seed
        otherAlgorithm[11] = 0x6e  // X25519's OID, 1.3.101.110
        let cases: [(String, String)] = [
            ("", "no BEGIN/END"),
            ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "no BEGIN/END"),
            ("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", "no BEGIN/END"),
            ("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "base64"),
            ("-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n", "base64"),
            ("-----BEGIN PRIVATE KEY-----\nAA\u{0}A\n-----END PRIVATE KEY-----\n", "base64"),
            (Self.pem(Self.privatePrefix + seed.prefix(31), label: "PRIVATE KEY"), "not an Ed25519 key"),
            (Self.pem(otherAlgorithm, label: "PRIVATE KEY"), "not an Ed25519 key"),
            (Self.pem(Self.privatePrefix + seed + [0], label: "PRIVATE KEY"), "not an Ed25519 key"),
            (Ed25519.PrivateKey.generate().publicKey.pem, "no BEGIN/END"),
            (String(repeating: "A", count: 10_000), "no BEGIN/END"),
        ]
        for (text, reason) in cases {
            do {
                _ = try Ed25519.PrivateKey(pem: text)
                Issue.record("accepted \(text.debugDescription.prefix(80)) as a private key")
            } catch {
                #expect(error.reason.contains(reason), "\(error.reason) for \(text.debugDescription.prefix(60))")
            }
        }
        for text in [
            "", "ab", String(repeating: "a", count: 62), String(repeating: "a", count: 66),
            "zz"
                + String(
                    repeating: "a", count: 62), Ed25519.PrivateKey.generate().pem,
        ] {
            #expect(throws: Ed25519.KeyError.self) { _ = try Ed25519.PublicKey(text: text) }
        }
        #expect(throws: Ed25519.KeyError.self) { _ = try Ed25519.PublicKey(raw: [1, 2, 3]) }
    }
}
