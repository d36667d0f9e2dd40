import Ledger
import LedgerCore
import LedgerStorage
import TestSupport
import Testing

@Suite("Event codec")
struct EventCodecTests {
    static func randomEvent(_ random: inout SplitMix) -> Event {
        func id() -> UInt128 { UInt128(random.next()) << 64 | UInt128(random.next()) }
        let text = { (limit: Int, random: inout SplitMix) -> String in
            let alphabet = Array("abcXYZ019:-_ ৳বাংলা")
            var result = ""
            for _ in 0..<Int.random(in: 0...limit, using: &random) {
                let next = result + String(alphabet.randomElement(using: &random)!)
                if next.utf8.count > limit { break }
                result = next
            }
            return result
        }
        switch Int.random(in: 0..<3, using: &random) {
        case 0:
            let currency = [Currency.bdt, Currency(code: "USD")!, Currency(code: "KWD")!].randomElement(using: &random)!
            return .createAccount(
                NewAccount(
                    id: id(), key: text(64, &random), currency: currency,
                    flags: AccountFlags(rawValue: UInt16.random(in: 0...3, using: &random)),
                    code: UInt16.random(in: 0...UInt16.max, using: &random)))
        case 1:
            return .createTransfer(
                NewTransfer(
                    id: id(), debitAccountId: id(), creditAccountId: id(), amountMinor: random.next(), pendingId: id(),
                    timeoutSeconds: UInt32.random(in: 0...UInt32.max, using: &random),
                    code: UInt16.random(in: 0...UInt16.max, using: &random),
                    reference: TransferReference(text(32, &random))!,
                    flags: TransferFlags(rawValue: UInt16.random(in: 0...UInt16.max, using: &random))))
        default:
            return .expirePending(pendingId: id())
        }
    }

    @Test("every event survives encode and decode (seeded property)")
    func roundTrip() throws {
        var random = SplitMix(seed: 112)
        var body = [UInt8](repeating: 0xAA, count: Format.recordBodySizeBytes)
        for _ in 0..<5_000 {
            let seed = random.currentSeed
            let event = Self.randomEvent(&random)
            #expect(EventCodec.validateForLog(event) == nil)
            body.withUnsafeMutableBytes { EventCodec.encode(event, into: $0.baseAddress!) }
            let decoded = try body.withUnsafeBytes {
                try EventCodec.decode(kind: EventCodec.kind(of: event), $0.baseAddress!)
            }
            #expect(decoded == event, "seed \(seed)")
        }
    }

    @Test("a transfer's bytes are laid out as documented")
    func transferLayout() {
        let transfer = NewTransfer(
            id: 0x0102, debitAccountId: 3, creditAccountId: 4, amountMinor: 123_450, pendingId: 5, timeoutSeconds: 1800,
            code: 7, reference: "PAY-1", flags: .pending)
        var body = [UInt8](repeating: 0xAA, count: Format.recordBodySizeBytes)
        body.withUnsafeMutableBytes { EventCodec.encode(.createTransfer(transfer), into: $0.baseAddress!) }
        #expect(Array(body[0..<3]) == [0x02, 0x01, 0])
        #expect(body[16] == 3 && body[32] == 4)
        #expect(Array(body[48..<52]) == [0x3A, 0xE2, 0x01, 0])
        #expect(body[56] == 5)
        #expect(Array(body[72..<74]) == [0x08, 0x07])
        #expect(body[76] == 7 && body[78] == 2)
        #expect(Array(body[80..<85]) == Array("PAY-1".utf8))
        #expect(body[85...].allSatisfy { $0 == 0 })
    }

    @Test("batch records carry the sequencer time and the event count")
    func batchRecord() throws {
        var body = [UInt8](repeating: 0xAA, count: Format.recordBodySizeBytes)
        body.withUnsafeMutableBytes {
            EventCodec.encodeBatch(now: 1_764_000_000_000_000_000, eventCount: 8190, into: $0.baseAddress!)
        }
        let decoded = try body.withUnsafeBytes { try EventCodec.decodeBatch($0.baseAddress!) }
        #expect(decoded.now == 1_764_000_000_000_000_000 && decoded.eventCount == 8190)
    }

    @Test("records that are not events, or name unknown currencies, are refused")
    func refusals() {
        var body = [UInt8](repeating: 0, count: Format.recordBodySizeBytes)
        #expect(throws: EventDecodingError.self) {
            try body.withUnsafeBytes { try EventCodec.decode(kind: RecordKind(rawValue: 99), $0.baseAddress!) }
        }
        body[16] = 0xFF
        body[17] = 0xFF
        #expect(throws: EventDecodingError.self) {
            try body.withUnsafeBytes { try EventCodec.decode(kind: EventCodec.createAccountKind, $0.baseAddress!) }
        }
        #expect(
            EventCodec.validateForLog(
                .createAccount(NewAccount(id: 1, key: String(repeating: "k", count: 65), currency: .bdt)))
                == .accountKeyTooLong)
    }
}
