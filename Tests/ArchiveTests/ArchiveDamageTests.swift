import Archive
import Foundation
import KhataCrypto
import LedgerStorage
import TestSupport
import Testing

/// Archives damaged on purpose: every bit flip, truncation and edit is found, named by file, and
/// refused by restore, which then leaves nothing behind.
@Suite("Archive damage", .serialized)
struct ArchiveDamageTests {
    /// One exported ledger, made once; each test copies its archive before damaging the copy.
    actor Source {
        static let shared = Source()
        private var made: (fixture: ArchiveFixture, manifest: ArchiveManifest)?

        func get() async throws -> (fixture: ArchiveFixture, manifest: ArchiveManifest) {
            if let made { return made }
            let fixture = ArchiveFixture()
            try await fixture.write(transfers: 8_000, seed: 11)
            let manifest = try #require(try await Blocking.export(fixture.request()).manifest)
            made = (fixture, manifest)
            return (fixture, manifest)
        }
    }

    let source: (fixture: ArchiveFixture, manifest: ArchiveManifest)

    init() async throws { source = try await Source.shared.get() }

    /// A copy of the source archive in a new directory; answers the copy's export folder.
    func copy() throws -> (root: TemporaryDirectory, archive: String, export: String) {
        let root = TemporaryDirectory("khata-archive-damage")
        let archive = root.path + "/archive"
        try FileManager.default.copyItem(atPath: source.fixture.archiveDirectory, toPath: archive)
        return (root, archive, archive + "/" + source.manifest.folderName)
    }

    static func flip(_ path: String, at offset: Int, bit: Int) throws {
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: [byte ^ UInt8(1 << bit)])
    }

    static func size(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    }

    /// Verify must fail as damage naming `file`; restore must refuse and leave no ledger.
    func expectDamage(in archive: String, file: String, root: TemporaryDirectory) async throws {
        let key = source.fixture.key.publicKey
        do {
            _ = try await Blocking.verify(directory: archive, trustedKey: key)
            Issue.record("verify passed a damaged \(file)")
        } catch let error as ArchiveError {
            #expect(error.kind == .damaged, "\(error)")
            #expect(error.path?.contains(file) == true, "\(error) names \(error.path ?? "no file"), not \(file)")
        }
        let target = root.path + "/restored"
        await #expect(throws: ArchiveError.self) {
            _ = try await Blocking.restore(archiveDirectory: archive, dataDirectory: target, trustedKey: key)
        }
        #expect(!FileManager.default.fileExists(atPath: target + "/ledger"))
        #expect(!FileManager.default.fileExists(atPath: target + "/ledger.restoring"))
    }

    @Test("the intact copy verifies, and its files are standard zstd frames")
    func intact() async throws {
        let (root, archive, export) = try copy()
        defer { root.remove() }
        let check = try await Blocking.verify(directory: archive, trustedKey: source.fixture.key.publicKey)
        #expect(check.lastSequence == source.manifest.lastSequence)
        guard let zstd = ["/usr/bin/zstd", "/bin/zstd"].first(where: FileManager.default.isExecutableFile) else {
            return
        }
        for file in source.manifest.files {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: zstd)
            process.arguments = ["-q", "-t", export + "/" + file.name]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "zstd -t \(file.name)")
        }
    }

    @Test("seeded bit flips anywhere in any log file are found, named, and refused by restore")
    func bitFlips() async throws {
        var random = SplitMix(seed: 17)
        for round in 0..<24 {
            let (root, archive, export) = try copy()
            defer { root.remove() }
            let files = source.manifest.logFiles
            let file = files[Int(random.next() % UInt64(files.count))].name
            let path = export + "/" + file
            let offset = Int(random.next() % UInt64(try Self.size(path)))
            try Self.flip(path, at: offset, bit: Int(random.next() % 8))
            try await expectDamage(in: archive, file: file, root: root)
            _ = round
        }
    }

    @Test("a truncated file, a missing file and bytes appended are found")
    func truncations() async throws {
        let file = source.manifest.logFiles[1].name
        for cut in [1, 100, 4_096] {
            let (root, archive, export) = try copy()
            defer { root.remove() }
            let path = export + "/" + file
            try FileHandle(forUpdatingAtPath: path)?.truncate(atOffset: UInt64(try Self.size(path) - cut))
            try await expectDamage(in: archive, file: file, root: root)
        }
        do {
            let (root, archive, export) = try copy()
            defer { root.remove() }
            let handle = try #require(FileHandle(forUpdatingAtPath: export + "/" + file))
            try handle.seekToEnd()
            try handle.write(contentsOf: [0x28, 0xB5, 0x2F, 0xFD])
            try handle.close()
            try await expectDamage(in: archive, file: file, root: root)
        }
        do {
            let (root, archive, export) = try copy()
            defer { root.remove() }
            try FileManager.default.removeItem(atPath: export + "/" + file)
            try await expectDamage(in: archive, file: file, root: root)
        }
    }

    @Test("an edited manifest or signature fails the signature; a re-signed one fails the trusted key")
    func manifests() async throws {
        for target in ["manifest.json", "manifest.sig"] {
            let (root, archive, export) = try copy()
            defer { root.remove() }
            let path = export + "/" + target
            try Self.flip(path, at: try Self.size(path) / 2, bit: 1)
            // A changed signature is found in manifest.sig, or as the signature failing over
            // manifest.json, depending on which character the flip hit.
            try await expectDamage(in: archive, file: "/manifest.", root: root)
        }
        // Someone rewrites a manifest (here: one digit of a hash) and signs it with their own key.
        let (root, archive, export) = try copy()
        defer { root.remove() }
        var manifest = source.manifest
        manifest.files[0].compressed.sha256 = String(repeating: "0", count: 64)
        manifest.signingKey = Ed25519.PrivateKey.generate().publicKey.hex
        let forger = Ed25519.PrivateKey.generate()
        manifest.signingKey = forger.publicKey.hex
        let bytes = try JSONEncoder().encode(manifest)
        try bytes.write(to: URL(fileURLWithPath: export + "/manifest.json"))
        let signature =
            "{\"algorithm\":\"ed25519\",\"publicKey\":\"\(forger.publicKey.hex)\",\"signature\":\""
            + Crypto.hex(forger.sign(Array(bytes))) + "\"}"
        try Data(signature.utf8).write(to: URL(fileURLWithPath: export + "/manifest.sig"))
        await #expect(throws: ArchiveError.self) {
            _ = try await Blocking.verify(directory: archive, trustedKey: source.fixture.key.publicKey)
        }
        // Without the trusted key the forged signature holds, but the files still betray the edit.
        await #expect(throws: ArchiveError.self) { _ = try await Blocking.verify(directory: archive, trustedKey: nil) }
    }

    @Test("a signed manifest cannot name a file outside its folder")
    func paths() async throws {
        for name in ["../evil.zst", "/etc/passwd", "log-1.zst", "log-00000000000000000001.zst/../x", "LOG.zst"] {
            let (root, archive, export) = try copy()
            defer { root.remove() }
            var manifest = source.manifest
            manifest.files[0].name = name
            let key = source.fixture.key
            let bytes = try JSONEncoder().encode(manifest)
            try bytes.write(to: URL(fileURLWithPath: export + "/manifest.json"))
            let signature =
                "{\"algorithm\":\"ed25519\",\"publicKey\":\"\(key.publicKey.hex)\",\"signature\":\""
                + Crypto.hex(key.sign(Array(bytes))) + "\"}"
            try Data(signature.utf8).write(to: URL(fileURLWithPath: export + "/manifest.sig"))
            do {
                _ = try await Blocking.verify(directory: archive, trustedKey: key.publicKey)
                Issue.record("a manifest naming \(name) passed")
            } catch let error as ArchiveError {
                #expect(error.kind == .damaged)
                #expect(error.message.contains("not one this version writes"), "\(error)")
            }
        }
    }

    @Test("restore refuses a non-empty directory and a partial history, changing nothing")
    func refusals() async throws {
        let (root, archive, _) = try copy()
        defer { root.remove() }
        let target = root.path + "/busy"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target + "/notes.txt"))
        do {
            _ = try await Blocking.restore(archiveDirectory: archive, dataDirectory: target, trustedKey: nil)
            Issue.record("restore wrote into a non-empty directory")
        } catch let error as ArchiveError {
            #expect(error.kind == .refused)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["notes.txt"])

        // A partial export (from the middle of the log) verifies but cannot restore.
        let partial = root.path + "/partial"
        var request = source.fixture.request()
        request.archiveDirectory = partial
        request.fromSequence = source.manifest.lastSequence / 2
        let manifest = try #require(try await Blocking.export(request).manifest)
        #expect(manifest.firstSequence <= source.manifest.lastSequence / 2)
        #expect(manifest.firstSequence > 1)
        let check = try await Blocking.verify(directory: partial, trustedKey: nil)
        #expect(!check.startsAtFirstSequence)
        do {
            _ = try await Blocking.restore(
                archiveDirectory: partial, dataDirectory: root.path + "/new", trustedKey: nil)
            Issue.record("restore accepted a partial history")
        } catch let error as ArchiveError {
            #expect(error.kind == .refused)
        }
        // An overlapping export into the same folder is refused.
        await #expect(throws: ArchiveError.self) { _ = try await Blocking.export(request) }
    }
}
