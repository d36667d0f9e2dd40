import Foundation
import JobStore
import Synchronization
import TestSupport
import Testing

/// `khata notify` as a real child process, against an SMS provider on 127.0.0.1.
@Suite("khata notify")
struct NotifyCommandTests {
    static func message(_ number: Int) -> NewNotification {
        NewNotification(
            idempotencyKey: "\(number):payment_confirmed:sms", ledgerSequence: Int64(number),
            event: "payment_confirmed",
            customerId: "CUS-\(number)", channel: .sms, recipient: "+8801770000618", language: .en,
            body: "Booking BK-\(number) is confirmed.")
    }

    /// The settings that send SMS through `provider`.
    static func environment(_ provider: FlakyProvider, schema: PostgresScratchSchema?) -> [String: String] {
        var environment = [
            "KHATA_NOTIFICATIONS_SMS": "twilio", "KHATA_NOTIFICATIONS_TWILIO_BASE_URL": provider.baseURL,
            "KHATA_NOTIFICATIONS_TWILIO_ACCOUNT_ID": "AC1", "KHATA_NOTIFICATIONS_TWILIO_AUTH_TOKEN": "token",
            "KHATA_NOTIFICATIONS_TWILIO_SMS_FROM": "+15005550006", "KHATA_NOTIFICATIONS_TIMEOUT_SECONDS": "60",
        ]
        if let schema { environment["KHATA_DATABASE_URL"] = schema.url }
        return environment
    }

    static var backends: [String] {
        ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"] == nil ? ["sqlite"] : ["sqlite", "postgres"]
    }

    @Test(
        "killed with SIGKILL mid-batch and run again: nothing lost, repeats only of what the provider never answered",
        arguments: backends)
    func killedDispatcher(_ backend: String) async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let schema = try ProcessInfo.processInfo.environment["KHATA_TEST_DATABASE_URL"].flatMap {
            backend == "postgres" ? try PostgresScratchSchema(baseURL: $0, prefix: "notify") : nil
        }
        defer { schema?.drop() }
        let database = try await JobDatabase.open(dataDir: directory.path, databaseURL: schema?.url)
        let queue = NotificationQueue(database: database)
        let count = 300
        try await queue.enqueue((1...count).map(Self.message), at: UInt64(Date().timeIntervalSince1970) * 1_000_000_000)

        // The provider answers the first 100 requests, then falls silent (the dispatcher is then
        // waiting on a full window of requests); once the test says so, it answers everything.
        let answered = Atomic<Int>(0)
        let silent = Atomic<Bool>(true)
        let provider = try FlakyProvider { request in
            let key = request.headers["i-twilio-idempotency-token"] ?? ""
            if silent.load(ordering: .sequentiallyConsistent) {
                guard answered.add(1, ordering: .sequentiallyConsistent).newValue <= 100 else { return .hang }
            }
            return .answer(status: 201, body: #"{"sid": "SM-\#(key)"}"#)
        }
        defer { provider.stop() }
        let environment = Self.environment(provider, schema: schema)
        let data = ["--data-dir", directory.path]
        let dispatcher = try LineReader(["notify", "dispatch"] + data, environment: environment)
        let childId = dispatcher.process.processIdentifier

        // Kill it once the answered messages are recorded and the next ones are in flight.
        let killed: Bool = try await offThePool {
            for _ in 0..<60_000 {
                let accepted =
                    try database.performNow { connection in
                        try connection.query("SELECT COUNT(*) FROM notification_deliveries WHERE state = 'accepted'")
                    }.first?.first?.integer ?? 0
                let hanging = provider.exchanges.count { $0.status == nil }
                if accepted == 100 && hanging >= 1 {
                    kill(childId, SIGKILL)
                    return true
                }
                usleep(1_000)
            }
            return false
        }
        try await offThePool { dispatcher.kill() }
        #expect(killed, "the dispatcher never got that far: \(provider.exchanges.count) requests")
        let hung = Set(
            provider.exchanges.filter { $0.status == nil }.compactMap {
                $0.request.headers["i-twilio-idempotency-token"]
            })
        #expect(try await queue.countsByState()[.accepted] == 100)

        // Run again, late enough that the killed claims have run out: everything goes.
        silent.store(false, ordering: .sequentiallyConsistent)
        let later = String(Int(Date().timeIntervalSince1970) + 600)
        let again = try await offThePool {
            try KhataProcess.run(["notify", "dispatch", "--now", later, "--json"] + data, environment: environment)
        }
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try await queue.countsByState() == [.accepted: count])

        var requests: [String: [FlakyProvider.Exchange]] = [:]
        for exchange in provider.exchanges {
            requests[exchange.request.headers["i-twilio-idempotency-token"] ?? "", default: []].append(exchange)
        }
        #expect(requests.count == count)
        for (key, exchanges) in requests {
            // Each reached a success once; any repeat followed only a request left unanswered.
            #expect(exchanges.filter { $0.status == 201 }.count == 1, "\(key)")
            if exchanges.count > 1 {
                #expect(hung.contains(key) && exchanges.dropLast().allSatisfy { $0.status == nil }, "\(key)")
            }
        }
        #expect(requests.values.filter { $0.count > 1 }.count == hung.count)
    }

    @Test("status counts and lists dead letters, retry puts one back, bad settings are refused by name")
    func statusAndRetry() async throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let database = try await JobDatabase.open(dataDir: directory.path)
        let queue = NotificationQueue(database: database)
        let now = UInt64(Date().timeIntervalSince1970) * 1_000_000_000
        try await queue.enqueue([Self.message(1), Self.message(2)], at: now)
        let claimed = try await queue.claim(worker: "w", limit: 1, leaseSeconds: 60, at: now)
        let dead = try #require(claimed.first)
        try await queue.record(
            id: dead.id, worker: "w", attempt: 1, outcome: .dead(error: "HTTP 400: not a mobile number"),
            httpStatus: 400, startedAtNanoseconds: now, endedAtNanoseconds: now)
        let data = ["--data-dir", directory.path]

        let status = try KhataProcess.run(["notify", "status", "--dead"] + data)
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("1 pending") && status.stdout.contains("1 dead"))
        #expect(status.stdout.contains("message \(dead.id) 1:payment_confirmed:sms to +880177****618"))
        #expect(status.stdout.contains("HTTP 400: not a mobile number") && !status.stdout.contains("+8801770000618"))
        let json = try KhataProcess.run(["notify", "status", "--json"] + data)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["messages"] as? [String: Int])?["dead"] == 1)

        let retry = try KhataProcess.run(["notify", "retry", String(dead.id)] + data)
        #expect(retry.status == 0 && retry.stdout.contains("is due again"), "\(retry.stderr)")
        let twice = try KhataProcess.run(["notify", "retry", String(dead.id)] + data)
        #expect(twice.status == 1 && twice.stderr.contains("is pending, not dead or failed"))
        let missing = try KhataProcess.run(["notify", "retry", "999"] + data)
        #expect(missing.status == 1 && missing.stderr.contains("there is no message 999"))

        for (environment, words) in [
            (["KHATA_NOTIFICATIONS_SMS": "pigeon"], "notifications.sms \"pigeon\" is not a transport"),
            (["KHATA_NOTIFICATIONS_EMAIL": "twilio"], "twilio does not carry email"),
            (["KHATA_NOTIFICATIONS_SMS": "twilio"], "notifications.twilio.baseUrl is needed"),
            (["KHATA_NOTIFICATIONS_MAX_ATTEMPTS": "0"], "notifications.maxAttempts must be 1 to 100"),
            (
                ["KHATA_NOTIFICATIONS_WEBHOOK": "webhook", "KHATA_NOTIFICATIONS_WEBHOOK_URL": "ftp://x"],
                "is not an http(s) URL"
            ),
        ] {
            let refused = try KhataProcess.run(["notify", "status"] + data, environment: environment)
            #expect(refused.status != 0 && refused.stderr.contains(words), "\(environment): \(refused.stderr)")
        }
        // A template folder with a bad file stops dispatch before anything, naming the file.
        let templates = directory.path + "/templates"
        try FileManager.default.createDirectory(atPath: templates, withIntermediateDirectories: true)
        try "Booking {{bookingNumber}}".write(
            toFile: templates + "/cancelled.sms.en.mustache", atomically: true, encoding: .utf8)
        let badTemplate = try KhataProcess.run(
            ["notify", "dispatch"] + data, environment: ["KHATA_NOTIFICATIONS_TEMPLATES_FOLDER": templates])
        #expect(badTemplate.status != 0 && badTemplate.stderr.contains("cancelled.sms.en.mustache"))
        #expect(try await queue.delivery(id: dead.id)?.state == .pending)
    }

    @Test("khata bench notify sends every message once to its sink and derives every event of its ledger's log")
    func notifyBench() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let outcome = try KhataProcess.run(
            [
                "bench", "notify", "--messages", "300", "--reservations", "400", "--runs", "1", "--json", "--dir",
                directory.file("bench"),
            ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let line = try #require(outcome.stdout.split(separator: "\n").last)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(result["messages"] as? Int == 300 && result["backend"] as? String == "sqlite")
        #expect((result["dispatchPerSecond"] as? Double ?? 0) > 0)
        // 400 holds, every other one captured: 600 events, each made into an SMS and an email.
        #expect(result["events"] as? Int == 600)
        for figure in [
            "checkRecordsPerSecond", "scanRecordsPerSecond", "readRecordsPerSecond", "recordEventsPerSecond",
            "deriveEventsPerSecond",
        ] {
            #expect((result[figure] as? Double ?? 0) > 0, "\(figure)")
        }
        let share = try #require(result["deriveStoreShare"] as? Double)
        #expect(share > 0 && share <= 1)
        #expect(!FileManager.default.fileExists(atPath: directory.file("bench")))
    }
}
