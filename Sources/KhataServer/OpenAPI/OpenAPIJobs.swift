/// The batch jobs' routes and schemas in the OpenAPI document.
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

    static var paths: [(String, JSONValue)] {
        [
            (
                "/v1/jobs",
                [
                    "get": D.operation(
                        "The batch jobs: schedule, next run, last run", scope: "read",
                        answers: [(200, D.answer("The jobs", "Jobs"))], problems: [503])
                ]
            ),
            (
                "/v1/jobs/{name}/run",
                [
                    "post": D.operation(
                        "Run a job now, with the same lock as scheduled runs; answers when it ends", scope: "admin",
                        parameters: [D.pathParameter("name", ["type": "string"])],
                        answers: [(200, D.answer("The run", "JobRun"))], problems: [404, 409, 503])
                ]
            ),
            (
                "/v1/jobs/runs",
                [
                    "get": D.operation(
                        "Job runs, newest first", scope: "read",
                        parameters: [
                            D.queryParameter("job", ["type": "string", "description": "Only this job's runs"]),
                            D.queryParameter("limit", ["type": "integer", "minimum": 1, "maximum": 1_000]),
                        ], answers: [(200, D.answer("The runs", "JobRuns"))], problems: [400, 503])
                ]
            ),
        ]
    }
}
