import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import KhataServer
import Ledger
import LedgerStorage
import Scheduler
import Synchronization
import TestSupport
import Testing

/// A clock the test moves by hand, shared by the ledger and the server, so that payment windows
/// pass without sleeping.
final class ManualClock: Sendable {
    private let nanoseconds: Atomic<UInt64>

    init(start: UInt64 = 1_764_400_000_000_000_000) { nanoseconds = Atomic(start) }

    var now: UInt64 { nanoseconds.load(ordering: .sequentiallyConsistent) }

    func advance(seconds: UInt64) { nanoseconds.add(seconds * 1_000_000_000, ordering: .sequentiallyConsistent) }

    var read: @Sendable () -> UInt64 { { [self] in now } }
}

/// A client that sends an API key on every request that does not carry its own
/// `Authorization` header (an empty one sends none), and keeps every response it saw.
struct KeyedClient: TestClientProtocol {
    let base: any TestClientProtocol
    let key: String
    let seen: Seen

    /// Every exchange, for checking against the OpenAPI document.
    final class Seen: Sendable {
        struct Exchange: Sendable {
            let method: HTTPRequest.Method
            let path: String
            let status: Int
            let contentType: String?
            let body: Data
        }
        let exchanges = Mutex<[Exchange]>([])
        static let maximumKept = 20_000
    }

    var port: Int? { base.port }

    func executeRequest(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?
    ) async throws -> TestResponse {
        var headers = headers
        if headers[.authorization] == nil {
            headers[.authorization] = "Bearer \(key)"
        } else if headers[.authorization] == "" {
            headers[.authorization] = nil
        }
        let response = try await base.executeRequest(uri: uri, method: method, headers: headers, body: body)
        let path = String(uri.split(separator: "?", maxSplits: 1).first ?? "")
        let exchange = Seen.Exchange(
            method: method, path: path, status: response.status.code, contentType: response.headers[.contentType],
            body: Data(response.body.readableBytesView))
        // A long fuzzing run keeps only the first exchanges: checking a million answers against the
        // document would take longer than making them, and the first thousands cover every shape.
        // The review pages (/ui/) are for browsers, not part of the API the document describes.
        if !path.hasPrefix("/ui") {
            seen.exchanges.withLock { if $0.count < Seen.maximumKept { $0.append(exchange) } }
        }
        return response
    }
}

/// A live server on 127.0.0.1 over a real ledger and job store in a scratch directory.
struct TestServer: Sendable {
    let client: KeyedClient
    let ledger: Ledger
    let database: JobDatabase
    let clock: ManualClock
    let port: Int

    var keys: APIKeys { APIKeys(database: database) }

    static let webhookSecrets = ["bkash": "bkash-test-secret-0123456789", "nagad": "nagad-test-secret-0123456789"]

    /// Runs `body` against a fresh server whose client holds an admin key.
    static func with(
        keyCacheMilliseconds: Int = 5_000, maximumBodyBytes: Int = 4_096, maximumSettlementBytes: Int = 1 << 20,
        dataDirectory: TemporaryDirectory? = nil, jobDatabase: JobDatabase? = nil, trustedProxies: [String] = [],
        reviewSessionSeconds: Int = 8 * 3_600, reviewPageSize: Int = 100, twilioAuthToken: String? = nil,
        twilioCallbackURL: String? = nil, _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        // A directory the caller prepared (and removes) holds a ledger made beforehand.
        let directory = dataDirectory ?? TemporaryDirectory()
        defer { if dataDirectory == nil { directory.remove() } }
        var ledgerConfiguration = LedgerConfiguration()
        ledgerConfiguration.storage.segmentSizeBytes = 4 << 20
        ledgerConfiguration.storage.spareSegmentCount = 0
        let clock = ManualClock()
        let metrics = ServerMetrics()
        let ledger = try Ledger.open(
            directory: directory.path + "/ledger", configuration: ledgerConfiguration, clock: clock.read,
            groupObserver: metrics)
        defer { ledger.close() }
        // A job store the caller opened (PostgreSQL), or SQLite in the data directory.
        let database: JobDatabase
        if let jobDatabase {
            database = jobDatabase
        } else {
            database = try await JobDatabase.open(dataDir: directory.path)
        }
        let (key, _) = try await APIKeys(database: database).create(name: "test admin", scopes: [.admin])
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.maximumBodyBytes = maximumBodyBytes
        configuration.maximumSettlementBytes = maximumSettlementBytes
        configuration.clock = clock.read
        configuration.keyCacheMilliseconds = keyCacheMilliseconds
        configuration.webhookSecrets = webhookSecrets
        configuration.trustedProxies = trustedProxies
        configuration.reviewSessionSeconds = reviewSessionSeconds
        configuration.reviewPageSize = reviewPageSize
        configuration.twilioAuthToken = twilioAuthToken
        configuration.twilioCallbackURL = twilioCallbackURL
        // One job, so that the job routes have something to list and run.
        let counting = ScheduledJob(name: "count", schedule: try CronSchedule("*/5 * * * *")) { _ in
            (JobCounts(read: 3, written: 2, failed: 0), false)
        }
        configuration.scheduler = JobScheduler(
            jobs: [counting], zone: .dhaka,
            runner: JobRunner(database: database, lockDirectory: directory.path + "/locks", clock: clock.read))
        try await KhataServer.prepareLedger(ledger)
        let application = try KhataServer.application(
            ledger: ledger, database: database, configuration: configuration, metrics: metrics)
        let seen = KeyedClient.Seen()
        // The server and its client run on threads of their own: the test process runs many tests
        // at once, some of which block the cooperative pool (one thread per core) for seconds,
        // and a request waiting for a pool thread would outlast the test client's 20 s timeout.
        try await withTaskExecutorPreference(ServerTestExecutor.shared) {
            try await Self.run(
                application, key: key, seen: seen, ledger: ledger, database: database, clock: clock, body)
        }
    }

    private static func run(
        _ application: some ApplicationProtocol, key: String, seen: KeyedClient.Seen, ledger: Ledger,
        database: JobDatabase, clock: ManualClock, _ body: @Sendable (TestServer) async throws -> Void
    ) async throws {
        try await application.test(.live) { client in
            // Safe: a live server has a port.
            let patient = PatientClient(port: client.port!)
            defer { patient.close() }
            let keyed = KeyedClient(base: patient, key: key, seen: seen)
            try await body(
                TestServer(client: keyed, ledger: ledger, database: database, clock: clock, port: client.port ?? 0))
            // Every answer the test saw must be one the served OpenAPI document describes.
            let document = try await client.execute(uri: "/docs", method: .get) { Data($0.body.readableBytesView) }
            OpenAPIConformance.check(seen.exchanges.withLock { $0 }, document: document)
        }
    }
}

/// The live framework's client, with a timeout for hangs rather than for speed: its own 20 s
/// read timeout failed requests that were merely slow while the whole suite shared two cores
/// (a debug build importing a 3 MB file behind a dozen busy threads), and a test must not depend
/// on how fast the machine is.
struct PatientClient: TestClientProtocol {
    let client: TestClient
    let port: Int?

    init(port: Int) {
        client = TestClient(host: "localhost", port: port, configuration: .init(timeout: .seconds(600)))
        client.connect()
        self.port = port
    }

    func executeRequest(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?
    ) async throws -> TestResponse {
        var headers = headers
        headers[.connection] = "keep-alive"
        let request = TestClient.Request(uri, method: method, authority: "localhost", headers: headers, body: body)
        let response = try await client.execute(request)
        return Self.testResponse(
            ResponseFields(
                head: response.head, body: response.body ?? ByteBuffer(), trailerHeaders: response.trailerHeaders))
    }

    /// `TestResponse`'s stored properties, in its order: Hummingbird makes one only inside its
    /// module, and the tests' helpers take that type.
    struct ResponseFields {
        let head: HTTPResponse
        let body: ByteBuffer
        let trailerHeaders: HTTPFields?
    }

    /// The same fields as a `TestResponse`, checked: a Hummingbird whose `TestResponse` is laid out
    /// otherwise stops the test here rather than reading the wrong bytes.
    static func testResponse(_ fields: ResponseFields) -> TestResponse {
        precondition(
            MemoryLayout<ResponseFields>.size == MemoryLayout<TestResponse>.size
                && MemoryLayout<ResponseFields>.alignment == MemoryLayout<TestResponse>.alignment,
            "HummingbirdTesting's TestResponse changed its layout")
        let response = unsafeBitCast(fields, to: TestResponse.self)
        precondition(
            response.head == fields.head && response.body == fields.body
                && response.trailerHeaders == fields.trailerHeaders,
            "HummingbirdTesting's TestResponse changed its layout")
        return response
    }

    /// Closes the connection in the background (a test's end need not wait for it).
    func close() {
        let client = client
        Task { try? await client.shutdown() }
    }
}

/// A task executor on threads of its own, not the cooperative pool's: tasks that prefer it keep
/// running while other tests block the pool. A concurrent dispatch queue would not do: on Linux
/// its pool grows only past threads that block, so two CPU-bound test bodies on a 2-core machine
/// held both of its threads and other tests' requests outlasted their client's 20 s timeout.
final class ServerTestExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = ServerTestExecutor(threadCount: 32)
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var firstJob = 0
    private let condition = NSCondition()

    private init(threadCount: Int) {
        for number in 0..<threadCount {
            let thread = Thread { [unowned self] in self.work() }
            thread.name = "khata-test-server-\(number)"
            thread.start()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while firstJob == jobs.count { condition.wait() }
            let job = jobs[firstJob]
            firstJob += 1
            if firstJob == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                firstJob = 0
            }
            condition.unlock()
            job.runSynchronously(on: executor)
        }
    }
}
