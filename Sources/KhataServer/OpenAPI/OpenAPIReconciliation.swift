import JobStore

/// The finance review's schemas in the OpenAPI document: runs, mismatches, their history and
/// the changes a reviewer sends.
enum OpenAPIReconciliation {
    typealias S = OpenAPISchemas

    static let amount = S.amountOut
    static let dhakaTime: JSONValue = [
        "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\+06:00$",
        "description": "A time in Asia/Dhaka, ISO 8601",
    ]
    static let date: JSONValue = ["type": "string", "format": "date", "description": "A date, YYYY-MM-DD"]
    static let category = S.choice("The mismatch's category", MismatchCategory.allCases.map(\.rawValue))
    static let state = S.choice("Where the review stands", MismatchState.allCases.map(\.rawValue))
    static let resolution = S.choice("How it was resolved", ResolutionKind.allCases.map(\.rawValue) + ["automatic"])

    static var schemas: [(String, JSONValue)] {
        [
            (
                "ReconciliationTotal",
                S.object(
                    "One category's lines and payments in one currency",
                    required: ["category", "currency", "count", "amount"],
                    [
                        ("category", S.string("matched or a mismatch category")),
                        ("currency", S.string("ISO 4217 code")),
                        ("count", S.integer("Lines and payments")), ("amount", amount),
                    ])
            ),
            (
                "ReconciliationRun",
                S.object(
                    "A reconciliation run with its totals",
                    required: [
                        "id", "provider", "settlementDate", "windowStart", "windowEnd", "runBy", "inputFiles",
                        "startedAt", "outcome", "linesRead", "matched", "mismatches", "carried", "cleared", "resolved",
                        "totals",
                    ],
                    [
                        ("id", S.integer("The run's number", minimum: 1)), ("provider", S.string("The provider")),
                        ("settlementDate", date), ("windowStart", date), ("windowEnd", date),
                        ("runBy", S.string("The API key's name, cli or scheduler")),
                        ("inputFiles", S.array(S.integer("An import's number", minimum: 1), "The files read")),
                        ("startedAt", S.time), ("endedAt", S.time),
                        ("outcome", S.choice("How it ended", ["running", "succeeded", "failed"])),
                        ("linesRead", S.integer("Settlement lines read")), ("matched", S.integer("Lines matched")),
                        ("mismatches", S.integer("Mismatches found")),
                        ("carried", S.integer("Payments carried to later runs")),
                        ("cleared", S.integer("Clearing transfers posted")),
                        ("resolved", S.integer("Mismatches this run found settled")),
                        ("error", S.string("Why it failed")),
                        ("totals", S.array(S.ref("ReconciliationTotal"), "By category and currency")),
                    ])
            ),
            (
                "ReconciliationRuns",
                S.object(
                    "Runs, newest first", required: ["runs"],
                    [
                        ("runs", S.array(S.ref("ReconciliationRun"), "The page")),
                        ("next", S.string("The `before` of the next page; absent on the last")),
                    ])
            ),
            (
                "Mismatch",
                S.object(
                    "A mismatch: one per provider transaction (or ledger payment) across runs",
                    required: [
                        "id", "runId", "lastRunId", "provider", "category", "identity", "kind", "state", "fields",
                        "detail", "createdAt", "updatedAt",
                    ],
                    [
                        ("id", S.integer("Its number", minimum: 1)),
                        ("runId", S.integer("The run that first found it", minimum: 1)),
                        ("lastRunId", S.integer("The last run that found it", minimum: 1)),
                        ("provider", S.string("The provider")), ("category", category),
                        (
                            "identity",
                            S.string("provider:txn:<id>, provider:line:<file>:<line> or provider:payment:<ref>")
                        ),
                        ("kind", S.string("payment, refund, chargeback or adjustment")), ("state", state),
                        ("resolution", resolution), ("paymentReference", S.string("Our payment reference")),
                        ("providerTxnId", S.string("The provider's transaction id")),
                        ("ledgerTransferId", S.string("The ledger transfer concerned")),
                        ("settlementFileId", S.integer("The import it came from", minimum: 1)),
                        ("settlementLine", S.integer("Its line in that file", minimum: 1)),
                        ("currency", S.string("ISO 4217 code")), ("ledgerAmount", amount), ("providerAmount", amount),
                        ("fee", amount), ("contractedFee", amount), ("net", amount),
                        (
                            "fields",
                            S.array(
                                S.object(
                                    "A field both sides name", required: ["name", "ledger", "provider"],
                                    [
                                        ("name", S.string("The field")), ("ledger", S.string("The ledger's value")),
                                        ("provider", S.string("The provider's value")),
                                    ]), "What differs, side by side")
                        ),
                        ("detail", S.string("The same in one line")), ("createdAt", S.time), ("updatedAt", S.time),
                    ])
            ),
            (
                "MismatchPage",
                S.object(
                    "A page of a run's mismatches in the order found", required: ["mismatches"],
                    [
                        ("mismatches", S.array(S.ref("Mismatch"), "The page")),
                        ("next", S.string("The `after` of the next page; absent on the last")),
                    ])
            ),
            (
                "Mismatches",
                S.object(
                    "Mismatches, newest first", required: ["mismatches"],
                    [("mismatches", S.array(S.ref("Mismatch"), ""))])
            ),
            (
                "SettlementLine",
                S.object(
                    "A settlement line as stored",
                    required: [
                        "provider", "providerTxnId", "paymentReference", "kind", "status", "statusAsWritten",
                        "transactedAt", "settlementDate", "currency", "amount", "fee", "net", "line",
                    ],
                    [
                        ("provider", S.string("The provider")), ("providerTxnId", S.string("The provider's id")),
                        ("paymentReference", S.string("Our reference as the provider echoed it")),
                        ("providerPaymentId", S.string("The provider's payment id")),
                        ("kind", S.string("payment, refund, chargeback or adjustment")),
                        ("status", S.choice("The status read", ["settled", "failed", "reversed"])),
                        ("statusAsWritten", S.string("The status as the file wrote it")),
                        ("transactedAt", S.time), ("settlementDate", date), ("currency", S.string("ISO 4217 code")),
                        ("amount", amount), ("fee", amount), ("net", amount), ("payer", S.string("Masked")),
                        ("originalProviderTxnId", S.string("The transaction a refund or chargeback concerns")),
                        ("line", S.integer("Its line in the file", minimum: 1)),
                        ("roundingNote", S.string("What was rounded half-even")),
                    ])
            ),
            (
                "ReviewEvent",
                S.object(
                    "One change of a mismatch, by whom and why, with the ledger transfers it posted",
                    required: ["id", "from", "to", "actor", "note", "at", "postings", "posted"],
                    [
                        ("id", S.integer("Its number", minimum: 1)), ("from", state), ("to", state),
                        ("actor", S.string("The API key's name, or reconciliation for a run's change")),
                        ("note", S.string("Why")), ("at", S.time),
                        ("runId", S.integer("The run that made it", minimum: 1)),
                        ("resolution", resolution),
                        (
                            "postings",
                            S.array(
                                S.object(
                                    "A ledger transfer the change posts",
                                    required: [
                                        "transferId", "debitAccount", "creditAccount", "amount", "currency", "leg",
                                    ],
                                    [
                                        ("transferId", S.id), ("debitAccount", S.string("Account key")),
                                        ("creditAccount", S.string("Account key")), ("amount", amount),
                                        ("currency", S.string("ISO 4217 code")), ("leg", S.string("What it moves")),
                                    ]), "Linked: all or none")
                        ),
                        ("posted", ["type": "boolean", "description": "In the ledger (false: to be retried)"]),
                    ])
            ),
            (
                "MismatchDetail",
                S.object(
                    "A mismatch with its line, its ledger transfer and its history", required: ["mismatch", "history"],
                    [
                        ("mismatch", S.ref("Mismatch")), ("settlementLine", S.ref("SettlementLine")),
                        ("ledgerTransfer", S.ref("Transfer")),
                        ("history", S.array(S.ref("ReviewEvent"), "First first")),
                    ])
            ),
            (
                "RunReport",
                S.object(
                    "A run's report: the run, every mismatch it found as it stands now, the totals",
                    required: ["run", "mismatches", "totals"],
                    [
                        (
                            "run",
                            S.object(
                                "The run",
                                required: [
                                    "id", "provider", "settlementDate", "runBy", "startedAt", "outcome", "linesRead",
                                    "matched", "mismatches", "carried", "cleared",
                                ],
                                [
                                    ("id", S.integer("The run's number", minimum: 1)),
                                    ("provider", S.string("The provider")), ("settlementDate", date),
                                    ("runBy", S.string("Who ran it")), ("startedAt", dhakaTime), ("endedAt", dhakaTime),
                                    ("outcome", S.choice("How it ended", ["running", "succeeded", "failed"])),
                                    ("linesRead", S.integer("Lines read")), ("matched", S.integer("Lines matched")),
                                    ("mismatches", S.integer("Mismatches")), ("carried", S.integer("Carried")),
                                    ("cleared", S.integer("Clearing transfers posted")),
                                ])
                        ),
                        (
                            "mismatches",
                            S.array(
                                S.object(
                                    "A mismatch as the report has it",
                                    required: [
                                        "id", "category", "state", "provider", "kind", "fields", "firstFound",
                                        "lastChanged", "runId", "lastRunId",
                                    ],
                                    [
                                        ("id", S.integer("Its number", minimum: 1)), ("category", category),
                                        ("state", state), ("resolution", resolution), ("provider", S.string("")),
                                        ("providerTxnId", S.string("")), ("paymentReference", S.string("")),
                                        ("kind", S.string("")), ("currency", S.string("ISO 4217 code")),
                                        ("ledgerAmount", amount), ("providerAmount", amount), ("fee", amount),
                                        ("contractedFee", amount), ("net", amount),
                                        (
                                            "fields",
                                            S.array(
                                                S.object(
                                                    "A field both sides name",
                                                    required: ["name", "ledger", "provider"],
                                                    [
                                                        ("name", S.string("")), ("ledger", S.string("")),
                                                        ("provider", S.string("")),
                                                    ]), "What differs")
                                        ),
                                        ("settlementFileId", S.integer("The import", minimum: 1)),
                                        ("settlementLine", S.integer("Its line", minimum: 1)),
                                        ("firstFound", dhakaTime), ("lastChanged", dhakaTime),
                                        ("runId", S.integer("First run", minimum: 1)),
                                        ("lastRunId", S.integer("Last run", minimum: 1)),
                                    ]), "In the order found")
                        ),
                        ("totals", S.array(S.ref("ReconciliationTotal"), "By category and currency")),
                    ])
            ),
            (
                "MismatchReview",
                S.object(
                    "A reviewer's change: the state they saw, why, and for a resolve its kind",
                    required: ["expectedState"],
                    [
                        ("expectedState", state),
                        (
                            "note",
                            [
                                "type": "string", "maxLength": 2_000,
                                "description": "Why; required to resolve and reopen (line breaks and tabs kept)",
                            ]
                        ),
                        (
                            "resolution",
                            S.choice("How it is resolved (resolve only)", ResolutionKind.allCases.map(\.rawValue))
                        ),
                    ])
            ),
        ]
    }
}
