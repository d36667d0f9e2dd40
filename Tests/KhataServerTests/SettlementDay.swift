import Bookings
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Ledger
import LedgerCore
import Reconciliation
import Scheduler
import TestSupport
import Testing

/// A day of the platform played through the live API on the test server's clock, and the
/// providers' settlement files for it, with known faults: what reconciliation must sort out.
///
/// Three days before the settlement date a few payments are made (one settles late, one never
/// does); on the day itself many reservations are made concurrently, most captured (in ledger
/// batches, some by the confirm route), some cancelled, some left to expire, some refunded in full
/// or in part. The files list every capture of the day but a few (carried to later runs), each
/// refund, and the faults; `expected` says where each fault must land.
struct SettlementDay {
    /// A payment as the day made it.
    struct Payment {
        var bookingId: String
        var holdId: String
        var reference: String
        var provider: String
        var amountMinor: Int64
        var txn: String
        var capturedAtNanoseconds: UInt64?
        var refunds: [(amountMinor: Int64, atNanoseconds: UInt64)] = []
        var cancelled = false
    }

    /// One line of a settlement file, before it is written in the provider's dialect.
    struct Line {
        var txn: String
        var reference: String
        var kind = "payment"
        var grossMinor: Int64
        var feeMinor: Int64
        var netMinor: Int64
        var currency = "BDT"
        var atNanoseconds: UInt64
        var original = ""
    }

    static let basisPoints: [String: Int64] = ["bkash": 185, "nagad": 150, "sslcommerz": 250]
    static let fees = FeeSchedule(rules: basisPoints.mapValues { [FeeRule(basisPoints: $0)] })
    static let merchants = 12

    let server: TestServer
    /// The settlement date: three days after the test clock's start.
    let date: CivilDate
    var payments: [Payment] = []
    /// Per provider, the files' lines (the second file is a resend of one transaction).
    var files: [String: [[Line]]] = [:]
    /// The faults: (provider transaction id or payment reference, category), one per item that
    /// must not be matched.
    var expected: [String: [(String, ReconciliationCategory)]] = [:]
    /// Captured payments left out of the files, per provider: carried to later runs.
    var omitted: [String: Int] = [:]
    private var random: SplitMix

    init(server: TestServer, seed: UInt64) {
        self.server = server
        random = SplitMix(seed: seed)
        let startDays = Int((server.clock.now / 1_000_000_000 + 6 * 3_600) / 86_400)
        date = CivilDate(daysSinceEpoch: startDays + 3)
    }

    /// The nanoseconds at `hour` o'clock in Asia/Dhaka on `date`.
    static func dhaka(_ date: CivilDate, hour: Int) -> UInt64 {
        UInt64(date.daysSinceEpoch * 86_400 + (hour - 6) * 3_600) * 1_000_000_000
    }

    // MARK: Playing the day

    /// Plays the day with `perProvider` reservations of each provider on the settlement date.
    /// With `inProcess`, the day's reservations are made by the booking rules the reservation
    /// route calls, in this process (a hundred thousand requests to a debug build take minutes);
    /// everything else still goes through the API.
    mutating func play(perProvider: Int, inProcess: Bool = false) async throws {
        for index in 1...Self.merchants {
            let body = #"{"key": "merchant:SVC-\#(index)", "currency": "BDT"}"#
            try await server.client.execute(uri: "/v1/accounts", method: .post, body: ByteBuffer(string: body)) {
                #expect($0.status == .created)
            }
        }
        // Three days before: one payment per provider settles late, one never settles.
        var early = try await reserve(prefix: "E", count: 2 * 3)
        try await capture(&early, routeCount: 0)
        payments += early
        // The settlement date, from 09:00 in Dhaka.
        let target = Self.dhaka(date, hour: 9)
        server.clock.advance(seconds: (target - server.clock.now) / 1_000_000_000)
        var day = try await reserve(prefix: "D", count: perProvider * 3, inProcess: inProcess)
        // Of each provider's, the last 2% stay open and expire, 2% before them are cancelled.
        let open = max(3, perProvider / 50)
        let keep = day.indices.filter { $0 / 3 < perProvider - 2 * open }
        let cancelled = day.indices.filter { $0 / 3 >= perProvider - 2 * open && $0 / 3 < perProvider - open }
        server.clock.advance(seconds: 60)
        var captured = keep.map { day[$0] }
        try await capture(&captured, routeCount: 150)
        for (position, index) in keep.enumerated() { day[index] = captured[position] }
        for index in cancelled {
            try await server.client.execute(uri: "/v1/reservations/\(day[index].holdId)/cancel", method: .post) {
                #expect($0.status == .ok)
            }
            day[index].cancelled = true
        }
        server.clock.advance(seconds: 31 * 60)
        try await expireDue()
        // Refunds, among each provider's last captures (the ledger finds a refund by walking the
        // history after its capture): every 5th in full, every 7th other in two equal parts.
        server.clock.advance(seconds: 9 * 60)
        let refundFrom = perProvider - 2 * open - max(40, perProvider / 100)
        for index in keep where index / 3 >= refundFrom {
            let position = index / 3
            if position % 5 == 0 {
                try await refund(&day[index], amountMinor: day[index].amountMinor)
            } else if position % 7 == 0 {
                let half = day[index].amountMinor / 2
                try await refund(&day[index], amountMinor: half)
                server.clock.advance(seconds: 1)
                try await refund(&day[index], amountMinor: half)
            }
        }
        payments += day
    }

    /// Reserves `count` bookings (providers in turn) through the API, `lanes` at a time, or with
    /// the booking rules directly.
    private mutating func reserve(prefix: String, count: Int, inProcess: Bool = false) async throws -> [Payment] {
        let providers = ["bkash", "nagad", "sslcommerz"]
        let drafts = (0..<count).map { index in
            (
                bookingId: "\(prefix)-\(index)", provider: providers[index % 3],
                amountMinor: Int64.random(in: 10_000...2_000_000, using: &random),
                merchant: Int.random(in: 1...Self.merchants, using: &random)
            )
        }
        let client = server.client
        let desk = BookingDesk(
            ledger: server.ledger, records: ReservationRecords(database: server.database), now: server.clock.read)
        var made: [Payment] = []
        var start = 0
        while start < drafts.count {
            let chunk = drafts[start..<min(start + 2_048, drafts.count)]
            // More at once fill the ledger's group commits (one durable write for many holds).
            let lanes = inProcess ? 64 : 16
            made += try await withThrowingTaskGroup(of: [Payment].self) { group in
                for lane in 0..<lanes {
                    let mine = chunk.enumerated().filter { $0.offset % lanes == lane }.map(\.element)
                    group.addTask {
                        var answers: [Payment] = []
                        for draft in mine where inProcess {
                            let (reservation, created) = try await desk.reserve(
                                ReservationDraft(
                                    bookingId: draft.bookingId, customerId: "C\(draft.bookingId)",
                                    serviceId: "SVC-\(draft.merchant)",
                                    provider: Provider(pathName: draft.provider)!, currency: .bdt,
                                    amountMinor: UInt64(draft.amountMinor), customerPhone: "01711000000",
                                    customerEmail: "c@example.com", paymentWindowSeconds: nil))
                            #expect(created)
                            answers.append(
                                Payment(
                                    bookingId: draft.bookingId, holdId: String(reservation.record.holdId),
                                    reference: reservation.record.paymentReference, provider: draft.provider,
                                    amountMinor: draft.amountMinor, txn: "TX\(draft.bookingId.uppercased())"))
                        }
                        for draft in mine where !inProcess {
                            let amount = Amount(minorUnits: UInt64(draft.amountMinor)).formatted(.bdt, grouping: false)
                            let body =
                                #"{"bookingId": "\#(draft.bookingId)", "customerId": "C\#(draft.bookingId)", "#
                                + #""serviceId": "SVC-\#(draft.merchant)", "amount": "\#(amount)", "currency": "BDT", "#
                                + #""provider": "\#(draft.provider.uppercased())", "customerPhone": "01711000000", "#
                                + #""customerEmail": "c@example.com"}"#
                            let object = try await client.execute(
                                uri: "/v1/reservations", method: .post, body: ByteBuffer(string: body)
                            ) { response in
                                #expect(response.status == .created)
                                return try APITests.object(response)
                            }
                            answers.append(
                                Payment(
                                    bookingId: draft.bookingId, holdId: object["id"] as? String ?? "",
                                    reference: object["paymentReference"] as? String ?? "", provider: draft.provider,
                                    amountMinor: draft.amountMinor, txn: "TX\(draft.bookingId.uppercased())"))
                        }
                        return answers
                    }
                }
                var all: [Payment] = []
                for try await part in group { all += part }
                return all
            }
            start += chunk.count
        }
        return made.sorted { Int($0.bookingId.split(separator: "-")[1])! < Int($1.bookingId.split(separator: "-")[1])! }
    }

    /// Captures every payment: the first `routeCount` by the confirm route, the rest as ledger
    /// batches of captures (the same transfer the route posts).
    private func capture(_ list: inout [Payment], routeCount: Int) async throws {
        let at = server.clock.now
        for index in list.indices.prefix(routeCount) {
            let body = #"{"providerTransactionId": "\#(list[index].txn)"}"#
            try await server.client.execute(
                uri: "/v1/reservations/\(list[index].holdId)/confirm", method: .post, body: ByteBuffer(string: body)
            ) { #expect($0.status == .ok) }
            list[index].capturedAtNanoseconds = at
        }
        var start = routeCount
        while start < list.count {
            let end = min(start + 2_000, list.count)
            let events = list[start..<end].map { payment in
                let ids = BookingIds(bookingId: payment.bookingId)
                return #"{"id": "\#(ids.confirmId)", "pendingId": "\#(ids.holdId)", "code": 1, "#
                    + #""reference": "\#(payment.txn)", "flags": ["postPending"]}"#
            }
            let body = #"{"transfers": ["# + events.joined(separator: ",") + "]}"
            try await server.client.execute(
                uri: "/v1/transfers/batch", method: .post, body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .ok)
                let results = try APITests.object(response)["results"] as? [[String: Any]] ?? []
                #expect(results.count == end - start && results.allSatisfy { $0["result"] as? String == "ok" })
            }
            for index in start..<end { list[index].capturedAtNanoseconds = at }
            start = end
        }
    }

    /// Expires every hold whose window has closed, through the holds routes.
    private func expireDue() async throws {
        let due = try await server.client.execute(uri: "/v1/holds/due?limit=8000", method: .get) { response in
            try APITests.object(response)["ids"] as? [String] ?? []
        }
        guard !due.isEmpty else { return }
        let body = #"{"ids": ["# + due.map { "\"\($0)\"" }.joined(separator: ",") + "]}"
        try await server.client.execute(uri: "/v1/holds/expire", method: .post, body: ByteBuffer(string: body)) {
            #expect($0.status == .ok)
        }
    }

    private func refund(_ payment: inout Payment, amountMinor: Int64) async throws {
        let ids = BookingIds(bookingId: payment.bookingId)
        // One id per booking and refund: the booking's number, then the refund's.
        let number = UInt128(Int(payment.bookingId.dropFirst(2)) ?? 0)
        let id: UInt128 = (1 << 100) + number * 10 + UInt128(payment.refunds.count)
        let amount = Amount(minorUnits: UInt64(amountMinor)).formatted(.bdt, grouping: false)
        let body = #"{"id": "\#(id)", "transferId": "\#(ids.confirmId)", "amount": "\#(amount)"}"#
        try await server.client.execute(uri: "/v1/refunds", method: .post, body: ByteBuffer(string: body)) {
            #expect($0.status == .created)
        }
        payment.refunds.append((amountMinor, server.clock.now))
    }

    // MARK: The files

    /// Writes the day's lines per provider, with the faults, and records where each must land.
    mutating func makeFiles() {
        for provider in ["bkash", "nagad", "sslcommerz"] {
            var lines: [Line] = []
            var faults: [(String, ReconciliationCategory)] = []
            let mine = payments.filter { $0.provider == provider }
            let early = mine.filter { $0.bookingId.hasPrefix("E") }
            let captured = mine.filter { $0.bookingId.hasPrefix("D") && $0.capturedAtNanoseconds != nil }
            // The first early payment settles today, three days late; the second never does.
            lines.append(line(for: early[0]))
            faults.append((early[0].txn, .lateSettlement))
            faults.append((early[1].reference, .missingAtProvider))
            // The last five captures are not in today's file: carried.
            omitted[provider] = 5
            for payment in captured.dropLast(5) {
                lines.append(line(for: payment))
                for (number, refund) in payment.refunds.enumerated() {
                    lines.append(
                        Line(
                            txn: "RF\(number)\(payment.txn)", reference: payment.reference, kind: "refund",
                            grossMinor: refund.amountMinor, feeMinor: 0, netMinor: refund.amountMinor,
                            atNanoseconds: refund.atNanoseconds, original: payment.txn))
                }
            }
            // Faults, each on a capture of its own (from the tenth on, never a refunded one).
            var spare = captured.dropLast(5).filter { $0.refunds.isEmpty }.dropFirst(10).makeIterator()
            func take() -> Int {
                // Safe: every day has far more captures than faults.
                let payment = spare.next()!
                return lines.firstIndex { $0.txn == payment.txn && $0.kind == "payment" }!
            }
            let offByOne = take()
            lines[offByOne].grossMinor += 1
            lines[offByOne].netMinor += 1
            faults.append((lines[offByOne].txn, .amountMismatch))
            let feeOff = take()
            lines[feeOff].feeMinor += 1
            lines[feeOff].netMinor -= 1
            faults.append((lines[feeOff].txn, .feeMismatch))
            let twice = take()
            lines.append(lines[twice])
            faults.append((lines[twice].txn, .duplicateSettlement))
            let foreign = take()
            lines[foreign].currency = "USD"
            faults.append((lines[foreign].txn, .currencyMismatch))
            // A payment the ledger never saw.
            lines.append(
                Line(
                    txn: "GHOST\(provider.uppercased())", reference: "KH0000000000GHOST", grossMinor: 50_000,
                    feeMinor: Self.contracted(provider, 50_000), netMinor: 50_000 - Self.contracted(provider, 50_000),
                    atNanoseconds: Self.dhaka(date, hour: 11)))
            faults.append(("GHOST\(provider.uppercased())", .missingInLedger))
            // Paid at the provider after the hold expired, and after it was cancelled.
            for gone in [mine.last { $0.capturedAtNanoseconds == nil && !$0.cancelled }!, mine.last { $0.cancelled }!] {
                var paid = line(for: gone)
                paid.atNanoseconds = Self.dhaka(date, hour: 10)
                lines.append(paid)
                faults.append((gone.txn, .statusMismatch))
            }
            // A chargeback, for a person to review.
            let disputed = captured[3]
            lines.append(
                Line(
                    txn: "CB\(disputed.txn)", reference: disputed.reference, kind: "chargeback",
                    grossMinor: disputed.amountMinor, feeMinor: 0, netMinor: disputed.amountMinor,
                    atNanoseconds: Self.dhaka(date, hour: 12)))
            faults.append(("CB\(disputed.txn)", .adjustment))
            // The same transaction again in a second file (a resend).
            let resent = lines[take()]
            faults.append((resent.txn, .duplicateSettlement))
            files[provider] = [lines, [resent]]
            expected[provider] = faults
        }
    }

    func line(for payment: Payment) -> Line {
        let fee = Self.contracted(payment.provider, payment.amountMinor)
        return Line(
            txn: payment.txn, reference: payment.reference, grossMinor: payment.amountMinor, feeMinor: fee,
            netMinor: payment.amountMinor - fee, atNanoseconds: payment.capturedAtNanoseconds ?? 0)
    }

    static func contracted(_ provider: String, _ grossMinor: Int64) -> Int64 {
        // Safe: every provider has a rule from the beginning.
        fees.rule(provider: provider, on: CivilDate(year: 2000, month: 1, day: 1))!.fee(onGrossMinor: grossMinor)
    }

    /// The file's text in the provider's dialect: bKash with a BOM and CRLF, Nagad after a
    /// title line and with a totals line, SSLCommerz with the fee as what the store keeps.
    func text(provider: String, lines: [Line]) -> String {
        func amount(_ minor: Int64) -> String {
            (minor < 0 ? "-" : "") + Amount(minorUnits: minor.magnitude).formatted(.bdt, grouping: false)
        }
        switch provider {
        case "bkash":
            let header =
                "trxID,paymentID,merchantInvoiceNumber,transactionType,amount,charge,netAmount,currency,"
                + "customerMsisdn,paymentExecuteTime,transactionStatus,originalTrxID,settlementDate"
            let rows = lines.map { line in
                [
                    line.txn, "P\(line.txn)", line.reference, line.kind, amount(line.grossMinor),
                    amount(line.feeMinor), amount(line.netMinor), line.currency, "01711XXX000",
                    Self.local(line.atNanoseconds, "bkash"), "Completed", line.original, date.description,
                ].joined(separator: ",")
            }
            return "\u{FEFF}" + ([header] + rows).joined(separator: "\r\n") + "\r\n"
        case "nagad":
            let header =
                "orderId,paymentRefId,issuerPaymentRefNo,type,amount,fee,netAmount,currency,clientMobileNo,"
                + "orderDateTime,status,originalIssuerPaymentRefNo,settlementDate"
            let rows = lines.map { line in
                [
                    line.reference, "P\(line.txn)", line.txn, line.kind.capitalized, "\"\(amount(line.grossMinor))\"",
                    amount(line.feeMinor), amount(line.netMinor), line.currency, "017XXXXX618",
                    Self.local(line.atNanoseconds, "nagad"), "Success", line.original, date.description,
                ].joined(separator: ",")
            }
            let total = lines.reduce(Int64(0)) { $0 + $1.grossMinor }
            return (["Nagad Merchant Settlement Report", "", header] + rows + ["Total,,,,\(amount(total))"])
                .joined(separator: "\n") + "\n"
        default:
            let header =
                "tran_id,val_id,bank_tran_id,tran_type,amount,store_amount,currency,card_type,tran_date,status,"
                + "risk_level,original_tran_id,settlement_date"
            let rows = lines.map { line in
                [
                    line.reference, "V\(line.txn)", line.txn, line.kind, amount(line.grossMinor),
                    amount(line.netMinor), line.currency, "\"VISA-City Bank, PLC\"",
                    Self.local(line.atNanoseconds, "sslcommerz"), "VALID", "0", line.original, date.description,
                ].joined(separator: ",")
            }
            return ([header] + rows).joined(separator: "\n") + "\n"
        }
    }

    /// A time in Asia/Dhaka as the provider writes it.
    static func local(_ nanoseconds: UInt64, _ provider: String) -> String {
        let seconds = Int(nanoseconds / 1_000_000_000) + 6 * 3_600
        let day = CivilDate(daysSinceEpoch: seconds / 86_400)
        let rest = seconds % 86_400
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let clock = "\(two(rest / 3_600)):\(two(rest / 60 % 60)):\(two(rest % 60))"
        switch provider {
        case "bkash": return "\(day)T\(clock):000 GMT+0600"
        case "nagad": return "\(day) \(clock).0"
        default: return "\(day) \(clock)"
        }
    }
}
