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
            (
                "SettlementFile",
                [
                    "type": "string",
                    "description": "A provider's settlement CSV in its dialect (docs/SETTLEMENT-FORMATS.md), UTF-8",
                ]
            ),
            (
                "SettlementImport",
                S.object(
                    "What importing a settlement file did",
                    required: [
                        "file", "provider", "dialect", "fileId", "alreadyImported", "read", "imported", "duplicates",
                        "rejected", "rejectedLines", "sha256",
                    ],
                    [
                        ("file", S.string("The name it was recorded under")), ("provider", S.string("The provider")),
                        ("dialect", S.string("The dialect it was read in")),
                        ("fileId", S.integer("The import's number", minimum: 1)),
                        (
                            "alreadyImported",
                            ["type": "boolean", "description": "The same content was imported before; nothing changed"]
                        ),
                        ("read", S.integer("Data lines read")),
                        ("imported", S.integer("Lines stored and counted as money")),
                        ("duplicates", S.integer("Lines repeating a provider transaction stored before")),
                        ("rejected", S.integer("Lines refused")),
                        (
                            "rejectedLines",
                            S.array(
                                S.object(
                                    "A refused line", required: ["line", "column", "reason"],
                                    [
                                        ("line", S.integer("Its line in the file", minimum: 1)),
                                        (
                                            "column",
                                            [
                                                "type": ["string", "null"],
                                                "description": "The column, or null for the whole line",
                                            ]
                                        ),
                                        ("reason", S.string("Why")),
                                    ]), "The first 1,000 refused lines")
                        ),
                        (
                            "settlementDate",
                            ["type": "string", "format": "date", "description": "Given to lines without a date"]
                        ),
                        ("sha256", S.string("The content's SHA-256, hex")),
                    ])
            ),
        ]
    }
}
