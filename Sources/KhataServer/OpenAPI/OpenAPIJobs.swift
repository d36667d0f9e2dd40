/// The batch jobs' schemas in the OpenAPI document.
enum OpenAPIJobs {
    typealias D = OpenAPIDocument
    typealias S = OpenAPISchemas

    static var schemas: [(String, JSONValue)] {
        [
            (
                "JobRun",
                S.object(
                    "One run of a job",
                    required: [
                        "id", "job", "trigger", "worker", "startedAt", "outcome", "read", "written", "failed",
                    ],
                    [
                        ("id", S.integer("The run's number", minimum: 1)), ("job", S.string("The job's name")),
                        ("trigger", S.choice("What started it", ["schedule", "manual"])),
                        ("slot", S.time.adding([("description", "The schedule's slot it ran for")])),
                        ("worker", S.string("host:pid")), ("startedAt", S.time), ("endedAt", S.time),
                        (
                            "outcome",
                            S.choice(
                                "How it ended, or running",
                                ["running", "succeeded", "failed", "interrupted", "abandoned"])
                        ),
                        ("read", S.integer("Items read")), ("written", S.integer("Items written")),
                        ("failed", S.integer("Items that could not be done")),
                        ("error", S.string("Why it failed")),
                    ])
            ),
            (
                "Job",
                S.object(
                    "A job and its schedule", required: ["name", "schedule", "timeZone"],
                    [
                        ("name", S.string("The job's name")),
                        ("schedule", S.string("Cron expression, seconds optional")),
                        ("timeZone", S.string("The zone the schedule is read in")),
                        ("nextRun", S.time), ("lastRun", S.ref("JobRun")),
                    ])
            ),
            ("Jobs", S.object("The jobs", required: ["jobs"], [("jobs", S.array(S.ref("Job"), ""))])),
            ("JobRuns", S.object("Runs, newest first", required: ["runs"], [("runs", S.array(S.ref("JobRun"), ""))])),
        ]
    }
}
