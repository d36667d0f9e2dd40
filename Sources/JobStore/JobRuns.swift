/// How a job run ended, or that it has not.
public enum RunOutcome: String, Sendable, CaseIterable {
    case running, succeeded, failed
    /// Stopped by a shutdown between batches; what was done is recorded.
    case interrupted
    /// Its worker died: found by the next worker that took the job's lock.
    case abandoned
}

/// What a run read, wrote and could not do.
public struct JobCounts: Sendable, Equatable {
    public var read = 0
    public var written = 0
    public var failed = 0

    public init(read: Int = 0, written: Int = 0, failed: Int = 0) {
        self.read = read
        self.written = written
        self.failed = failed
    }
}

/// One recorded run of a job.
public struct JobRun: Sendable, Equatable {
    public var id: Int64
    public var job: String
    /// `schedule` or `manual`.
    public var trigger: String
    /// The schedule's slot it ran for (Unix seconds), for scheduled runs.
    public var slotUnix: Int64?
    /// `host:pid` of the worker.
    public var worker: String
    public var startedAt: String
    public var endedAt: String?
    public var outcome: RunOutcome
    public var counts: JobCounts
    public var error: String?
}

/// Job runs and the schedule's last slot per job, in the job store.
public struct JobRuns: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// Records a run as started; answers its id.
    public func start(job: String, trigger: String, slotUnix: Int64?, worker: String, at nanoseconds: UInt64)
        async throws -> Int64
    {
        try await database.perform { connection in
            try connection.query(
                """
                INSERT INTO job_runs (job, trigger, slot_unix, worker, started_at, outcome)
                VALUES (?, ?, ?, ?, ?, 'running') RETURNING id
                """,
                [
                    .text(job), .text(trigger), slotUnix.map(SQLValue.integer) ?? .null, .text(worker),
                    .text(UTCTime.text(nanoseconds: nanoseconds)),
                ]
            ).first?.first?.integer ?? 0
        }
    }

    /// Records the counts of a run still going.
    public func progress(id: Int64, counts: JobCounts) async throws {
        try await database.perform { connection in
            try connection.run(
                """
                UPDATE job_runs SET read_count = ?, written_count = ?, failed_count = ?
                WHERE id = ? AND outcome = 'running'
                """,
                [
                    .integer(Int64(counts.read)), .integer(Int64(counts.written)), .integer(Int64(counts.failed)),
                    .integer(id),
                ])
        }
    }

    /// Records how a run ended.
    public func finish(
        id: Int64, outcome: RunOutcome, counts: JobCounts, error: String?, at nanoseconds: UInt64
    ) async throws {
        _ = try await database.perform { connection in
            try connection.run(
                """
                UPDATE job_runs SET ended_at = ?, outcome = ?, read_count = ?, written_count = ?, failed_count = ?,
                    error = ?
                WHERE id = ?
                """,
                [
                    .text(UTCTime.text(nanoseconds: nanoseconds)), .text(outcome.rawValue),
                    .integer(Int64(counts.read)), .integer(Int64(counts.written)), .integer(Int64(counts.failed)),
                    error.map(SQLValue.text) ?? .null, .integer(id),
                ])
        }
    }

    /// Marks the job's runs still `running` as abandoned: called by a worker that holds the job's
    /// lock, which no live run of it can then hold. Answers how many.
    public func markAbandoned(job: String, at nanoseconds: UInt64) async throws -> Int {
        try await database.perform { connection in
            try connection.run(
                """
                UPDATE job_runs SET outcome = 'abandoned', ended_at = ?,
                    error = 'the worker stopped without recording an outcome'
                WHERE job = ? AND outcome = 'running'
                """, [.text(UTCTime.text(nanoseconds: nanoseconds)), .text(job)])
        }
    }

    /// One run by its id.
    public func run(id: Int64) async throws -> JobRun? {
        try await database.perform { connection in
            try connection.query("SELECT \(Self.columns) FROM job_runs WHERE id = ?", [.integer(id)]).first
                .map(Self.run)
        }
    }

    /// Runs newest first, of one job or of all.
    public func history(job: String?, limit: Int = 50) async throws -> [JobRun] {
        try await database.perform { connection in
            let select = "SELECT \(Self.columns) FROM job_runs"
            let rows =
                if let job {
                    try connection.query(
                        select + " WHERE job = ? ORDER BY id DESC LIMIT ?", [.text(job), .integer(Int64(limit))])
                } else {
                    try connection.query(select + " ORDER BY id DESC LIMIT ?", [.integer(Int64(limit))])
                }
            return rows.map(Self.run)
        }
    }

    static let columns = """
        id, job, trigger, slot_unix, worker, started_at, ended_at, outcome, read_count, written_count, failed_count,
            error
        """

    static func run(_ row: [SQLValue]) -> JobRun {
        JobRun(
            id: row[0].integer ?? 0, job: row[1].text ?? "", trigger: row[2].text ?? "", slotUnix: row[3].integer,
            worker: row[4].text ?? "", startedAt: row[5].text ?? "", endedAt: row[6].text,
            outcome: RunOutcome(rawValue: row[7].text ?? "") ?? .failed,
            counts: JobCounts(
                read: Int(row[8].integer ?? 0), written: Int(row[9].integer ?? 0), failed: Int(row[10].integer ?? 0)),
            error: row[11].text)
    }

    /// The last schedule slot a run was started for.
    public func lastSlot(job: String) async throws -> Int64? {
        try await database.perform { connection in
            try connection.query("SELECT last_slot_unix FROM job_schedule WHERE job = ?", [.text(job)]).first?.first?
                .integer
        }
    }

    public func setLastSlot(job: String, unix: Int64) async throws {
        _ = try await database.perform { connection in
            try connection.run(
                """
                INSERT INTO job_schedule (job, last_slot_unix) VALUES (?, ?)
                ON CONFLICT (job) DO UPDATE SET last_slot_unix = excluded.last_slot_unix
                """, [.text(job), .integer(unix)])
        }
    }
}
