import LedgerStorage
import PropertyBased
import TestSupport
import Testing

@Suite("Record codec")
struct RecordCodecTests {
    static let bodies = Gen.uint8().array(of: Format.recordBodySizeBytes)
    static let kinds = Gen.uint8(in: RecordKind.firstDataKind...255)
    static let sequences = Gen.uint64()

    /// A data record of random kind, sequence and body.
    static func randomRecord(_ random: inout SeededRandom) -> Record {
        Record(
            kind: RecordKind(rawValue: kinds.run(using: &random)), sequence: sequences.run(using: &random),
            body: bodies.run(using: &random))
    }

    @Test("encode then decode gives back kind, sequence and body (seeded property)")
    func roundTrip() {
        var random = SeededRandom(seed: 20_261_125)
        for _ in 0..<1000 {
            let seed = random.currentSeed
            let record = Self.randomRecord(&random)
            let bytes = RecordCodec.encode(record)
            #expect(bytes.count == Format.recordSizeBytes)
            #expect(RecordCodec.decode(bytes) == .success(record), "seed \(seed)")
        }
    }

    @Test("any single flipped bit is detected (seeded property)")
    func singleBitFlipsAreDetected() {
        var random = SeededRandom(seed: 7_000_001)
        for _ in 0..<1000 {
            let seed = random.currentSeed
            let record = Self.randomRecord(&random)
            var bytes = RecordCodec.encode(record)
            let bit = Int.random(in: 0..<(Format.recordSizeBytes * 8), using: &random)
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            guard case .failure = RecordCodec.decode(bytes) else {
                Issue.record("flip of bit \(bit) went unnoticed (seed \(seed))")
                continue
            }
        }
    }

    @Test("an all-zero slot is empty space, not a record")
    func zeroSlotIsEmpty() {
        #expect(RecordCodec.decode([UInt8](repeating: 0, count: Format.recordSizeBytes)) == .success(nil))
    }

    @Test("the layout is little-endian with the checksum first")
    func layout() {
        let body = (0..<112).map { UInt8($0) }
        let bytes = RecordCodec.encode(
            Record(kind: RecordKind(rawValue: 16), sequence: 0x0102_0304_0506_0708, body: body))
        #expect(bytes[4] == 16)
        #expect(Array(bytes[5..<8]) == [0, 0, 0])
        #expect(Array(bytes[8..<16]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(bytes[16...]) == body)
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4...])) }
        #expect(
            Array(bytes[0..<4]) == [
                UInt8(crc & 0xFF), UInt8(crc >> 8 & 0xFF), UInt8(crc >> 16 & 0xFF), UInt8(crc >> 24),
            ])
    }

    @Test("CRC-32C matches the standard check value")
    func crcCheckValue() {
        let value = Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) }
        #expect(value == 0xE306_9283)
    }
}
