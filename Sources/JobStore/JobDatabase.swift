import Dispatch
import Foundation
import KhataCrypto
import Synchronization

/// The job state's database: SQLite in the data directory (the embedded default), or PostgreSQL
/// when a database URL is given. Work runs on a small pool of connections, each owned by its own
/// serial queue, so that every blocking call runs on a queue's thread and never on a Swift
/// concurrency or event-loop thread. Opening applies the schema's migrations.
///
/// SQLite gets one connection: it has one writer at a time anyway, and a second connection would
/// only wait on the first's lock. PostgreSQL gets up to `poolSize`, opened as concurrent work
/// needs them, so that a claim of queued work on one connection does not wait behind another's.
public final class JobDatabase: Sendable {
    /// Where the database lives: a file path, or a URL without its password.
    public let location: String
    public let dialect: Dialect
    private let lanes: [Lane]
    /// Blocks queued or running on each lane, to send new work to the least busy one.
    private let outstanding: Mutex<[Int]>
    /// Leases held by this process, with the session generation of the first connection they
    /// were taken under (nil while being taken).
    private let heldLeases = Mutex<[String: Int?]>([:])
    /// Who holds this database's leases, as `scheduler_leases` records it.
    public let holder: String
    /// What lease keys are made unique within: advisory locks belong to the whole PostgreSQL
    /// database, so two deployments in two schemas of one database must not share a key.
    private let leaseNamespace: String

    /// Opens the SQLite database at `path` (creating it) and brings its schema up to date.
    public convenience init(path: String) throws {
        let connection = try SQLiteConnection(path: path)
        try self.init(first: connection, location: path, poolSize: 1) { try SQLiteConnection(path: path) }
    }

    /// Connects to PostgreSQL at `url` (`postgresql://user@host:port/db`) and brings its schema up
    /// to date. Up to `poolSize` connections are opened, the first now and the rest when needed.
    public convenience init(url: String, poolSize: Int = 4) throws {
        let connection = try PostgresConnection(url: url)
        try self.init(first: connection, location: connection.displayURL, poolSize: poolSize) {
            try PostgresConnection(url: url)
        }
    }

    private init(
        first: any DatabaseConnection, location: String, poolSize: Int,
        connect: @escaping @Sendable () throws -> any DatabaseConnection
    ) throws {
        precondition(poolSize >= 1, "a pool needs a connection")
        self.location = location
        dialect = first.dialect
        lanes = (0..<poolSize).map { index in
            Lane(index: index, connection: index == 0 ? first : nil, connect: connect)
        }
        outstanding = Mutex(Array(repeating: 0, count: poolSize))
        holder = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
        try Migrations.apply(to: first)
        leaseNamespace =
            first.dialect == .postgres ? try first.query("SELECT current_schema()").first?.first?.text ?? "" : ""
    }

    /// PostgreSQL at `databaseURL` when given, else the embedded default `<dataDir>/jobs.sqlite`.
    /// Connecting and migrating block, so they run on a dispatch queue, not on the caller's
    /// Swift concurrency thread.
    public static func open(dataDir: String, databaseURL: String? = nil) async throws -> JobDatabase {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue(label: "khata.jobstore.open").async {
                continuation.resume(with: Result { try openBlocking(dataDir: dataDir, databaseURL: databaseURL) })
            }
        }
    }

    /// `open`, on the caller's thread: for callers outside Swift concurrency (tests, tools).
    public static func openBlocking(dataDir: String, databaseURL: String? = nil) throws -> JobDatabase {
        if let databaseURL { return try JobDatabase(url: databaseURL) }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        return try JobDatabase(path: dataDir + "/jobs.sqlite")
    }

    /// Runs `body` on one of the pool's threads and waits for it without blocking a Swift
    /// concurrency thread. A transaction must start and end inside one `body`.
    @discardableResult
    public func perform<T: Sendable>(_ body: @escaping @Sendable (any DatabaseConnection) throws -> T) async throws
        -> T
    {
        try await perform(on: leastBusyLane(), body)
    }

    /// Runs `body` on one of the pool's threads, blocking the caller: for callers outside Swift
    /// concurrency (tests, tools).
    @discardableResult
    public func performNow<T>(_ body: (any DatabaseConnection) throws -> T) throws -> T {
        let lane = leastBusyLane()
        defer { finished(lane) }
        return try lane.queue.sync { try body(try lane.open()) }
    }

    private func perform<T: Sendable>(
        on lane: Lane, _ body: @escaping @Sendable (any DatabaseConnection) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            lane.queue.async {
                let result = Result { try body(try lane.open()) }
                self.finished(lane)
                continuation.resume(with: result)
            }
        }
    }

    /// The first idle lane, else the one with the least work queued. Idle lanes are preferred in
    /// order so that connections beyond the first are opened only under concurrent work.
    private func leastBusyLane() -> Lane {
        let index = outstanding.withLock { counts in
            let chosen = counts.firstIndex(of: 0) ?? counts.indices.min { counts[$0] < counts[$1] }!
            counts[chosen] += 1
            return chosen
        }
        return lanes[index]
    }

    private func finished(_ lane: Lane) {
        outstanding.withLock { $0[lane.index] -= 1 }
    }

    /// Takes the job lease `name`: across processes and machines on PostgreSQL (a session
    /// advisory lock, which the server drops when the holder's connection dies), and within this
    /// process on both backends (an advisory lock is reentrant within its session). False when
    /// another holder has it. The holder is recorded in `scheduler_leases` for people to read;
    /// the lock, not that row, decides.
    public func tryLease(_ name: String) async throws -> Bool {
        let reserved = heldLeases.withLock { leases in
            guard leases[name] == nil else { return false }
            leases[name] = .some(nil)
            return true
        }
        guard reserved else { return false }
        let key = leaseKey(name)
        let holder = holder
        let dialect = dialect
        do {
            // Leases live on the first connection: a session advisory lock belongs to the
            // connection that took it and must be released there.
            outstanding.withLock { $0[0] += 1 }
            let generation: Int? = try await perform(on: lanes[0]) { connection in
                if dialect == .postgres {
                    let locked = try connection.query("SELECT pg_try_advisory_lock(?)", [.integer(key)])
                    guard locked.first?.first == .integer(1) else { return nil }
                }
                let now = UTCTime.now()
                try connection.run(
                    """
                    INSERT INTO scheduler_leases (job, holder, acquired_at) VALUES (?, ?, ?)
                    ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at
                    """, [.text(name), .text(holder), .text(now)])
                return connection.sessionGeneration
            }
            heldLeases.withLock { $0[name] = generation.map { .some($0) } }
            return generation != nil
        } catch {
            _ = heldLeases.withLock { $0.removeValue(forKey: name) }
            throw error
        }
    }

    /// Whether this process still holds the lease `name`. On PostgreSQL it asks the server
    /// through the lease's connection: false when that connection broke since the lease was
    /// taken (the server dropped the lock with the session, and another worker may have it now).
    public func leaseIsIntact(_ name: String) async -> Bool {
        guard let entry = heldLeases.withLock({ $0[name] }), let generation = entry else { return false }
        guard dialect == .postgres else { return true }
        outstanding.withLock { $0[0] += 1 }
        let alive = try? await perform(on: lanes[0]) { connection in
            _ = try connection.query("SELECT 1")
            return connection.sessionGeneration == generation
        }
        return alive == true
    }

    /// Gives the lease `name` back.
    public func releaseLease(_ name: String) async throws {
        let generation = heldLeases.withLock { $0[name] ?? nil }
        defer { _ = heldLeases.withLock { $0.removeValue(forKey: name) } }
        let key = leaseKey(name)
        let holder = holder
        let dialect = dialect
        outstanding.withLock { $0[0] += 1 }
        try await perform(on: lanes[0]) { connection in
            // The lock first, so that a failure below cannot keep it. A lock taken under an
            // earlier session went with it; unlocking now would only warn.
            if dialect == .postgres && connection.sessionGeneration == generation {
                _ = try connection.query("SELECT pg_advisory_unlock(?)", [.integer(key)])
            }
            try connection.run(
                "DELETE FROM scheduler_leases WHERE job = ? AND holder = ?", [.text(name), .text(holder)])
        }
    }

    /// Who last took each lease and when: `holder` is `host:pid`. A row whose holder has died stays
    /// until the next holder takes the lease, so read it with the job's runs.
    public func leases() async throws -> [(job: String, holder: String, acquiredAt: String)] {
        let rows = try await perform { connection in
            try connection.query("SELECT job, holder, acquired_at FROM scheduler_leases ORDER BY job")
        }
        return rows.map { (job: $0[0].text ?? "", holder: $0[1].text ?? "", acquiredAt: $0[2].text ?? "") }
    }

    /// The PostgreSQL server processes holding the lease `name`, this process's included: empty
    /// when nobody holds it. On SQLite, where the job runner's file lock is what keeps runs apart
    /// across processes, this process's id if it holds the lease.
    public func leaseHolderProcessIds(_ name: String) async throws -> [Int] {
        guard dialect == .postgres else {
            return heldLeases.withLock { $0[name] != nil } ? [Int(ProcessInfo.processInfo.processIdentifier)] : []
        }
        let key = leaseKey(name)
        return try await perform { connection in
            // pg_locks shows a bigint advisory key as its high and low 32 bits, with objsubid 1.
            try connection.query(
                """
                SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted
                    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND classid::bigint = ? AND objid::bigint = ?
                ORDER BY pid
                """, [.integer(key >> 32 & 0xFFFF_FFFF), .integer(key & 0xFFFF_FFFF)]
            ).compactMap { $0.first?.integer.map { Int($0) } }
        }
    }

    /// A stable 64-bit advisory lock key for a lease name in this database's schema.
    func leaseKey(_ name: String) -> Int64 {
        Crypto.sha256(Array("khata.lease:\(leaseNamespace):\(name)".utf8)).prefix(8).reduce(Int64(0)) {
            $0 << 8 | Int64($1)
        }
    }

    /// The schema version applied.
    public var schemaVersion: Int {
        get async throws { try await perform { try Migrations.currentVersion(of: $0) } }
    }
}

/// One connection of the pool and the serial queue that alone touches it.
private final class Lane: @unchecked Sendable {
    // @unchecked: `connection` is read and written only on `queue`, which runs one block at a
    // time.
    let index: Int
    let queue: DispatchQueue
    private var connection: (any DatabaseConnection)?
    private let connect: @Sendable () throws -> any DatabaseConnection

    init(
        index: Int, connection: (any DatabaseConnection)?,
        connect: @escaping @Sendable () throws -> any DatabaseConnection
    ) {
        self.index = index
        self.connection = connection
        self.connect = connect
        queue = DispatchQueue(label: "khata.jobstore.\(index)")
    }

    /// The lane's connection, opened on first use. Call on `queue` only.
    func open() throws -> any DatabaseConnection {
        dispatchPrecondition(condition: .onQueue(queue))
        if let connection { return connection }
        let made = try connect()
        connection = made
        return made
    }
}
