// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Swift target: Swift 6 mode is the default for this tools version; these
/// upcoming features keep imports and existentials explicit.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "khata",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "khata", targets: ["khata"]),
        .library(name: "LedgerCore", targets: ["LedgerCore"]),
        .library(name: "LedgerStorage", targets: ["LedgerStorage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // System libraries from Debian: module maps only, no logic.
        .systemLibrary(name: "CPostgres", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CCSV", providers: [.apt(["libcsv-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Small C helpers Swift cannot express: hardware CRC32C, thread names, atomics on raw memory.
        .target(name: "CKhataSupport"),
        // Cache prefetch hints, the one C helper the ledger's rules use.
        .target(name: "CMemoryHints"),

        // The ledger's rules and the state they act on: single-threaded and deterministic; the
        // standard library and memory hints only (a test keeps it so). Its generic state is
        // specialized in the engine, so its bodies are made available across modules.
        .target(
            name: "LedgerCore", dependencies: ["CMemoryHints"],
            swiftSettings: strictSettings + [.unsafeFlags(["-cross-module-optimization"])]),
        // The one strict reader of JSON input (HTTP bodies, command-line files): nesting limit,
        // repeated and unknown fields refused, amounts and ids in their one written form.
        .target(name: "JSONInput", dependencies: ["LedgerCore"], swiftSettings: strictSettings),
        .target(
            name: "LedgerStorage",
            dependencies: ["COpenSSL", "CKhataSupport"],
            // Exclusivity is checked statically; the dynamic checks cost measurable time in the
            // per-record loops (swift_beginAccess showed in profiles of group commit).
            swiftSettings: strictSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        // The jobs' relational state: SQLite in the data directory by default.
        // One C call Swift cannot make: SQLite's variadic sqlite3_config.
        .target(name: "CJobStoreSupport", dependencies: ["CSQLite"]),
        // Hashes, HMAC, constant-time comparison and secure random bytes, on OpenSSL's libcrypto:
        // API keys, webhook signatures, derived booking ids.
        .target(name: "KhataCrypto", dependencies: ["COpenSSL"], swiftSettings: strictSettings),
        .target(
            name: "JobStore", dependencies: ["CSQLite", "CJobStoreSupport", "CPostgres", "KhataCrypto"],
            swiftSettings: strictSettings),
        // The scheduler of the batch jobs: cron schedules, time zones, runs.
        .target(
            name: "Scheduler",
            dependencies: [
                "JobStore", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Jobs/Scheduler",
            swiftSettings: strictSettings
        ),
        // The expire-reservations job: expires holds whose payment window has passed.
        .target(
            name: "Expiry", dependencies: ["LedgerAccess", "LedgerCore"], path: "Jobs/Expiry",
            swiftSettings: strictSettings),
        // The settlement-import job: providers' settlement CSVs (libcsv), read exactly and stored
        // in the job store whole or not at all.
        .target(
            name: "SettlementImport",
            dependencies: ["CCSV", "JSONInput", "JobStore", "KhataCrypto", "LedgerCore", "Scheduler"],
            path: "Jobs/SettlementImport",
            // Its per-line loops are checked statically; the dynamic checks showed in profiles.
            swiftSettings: strictSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // Reconciliation: settlement lines matched against the ledger's payments and refunds.
        .target(
            name: "Reconciliation",
            dependencies: [
                "Bookings", "CMemoryHints", "JSONInput", "JobStore", "KhataCrypto", "LedgerAccess", "LedgerCore",
                "Scheduler", "SettlementImport",
            ],
            path: "Jobs/Reconciliation",
            // Its per-line loops are checked statically; the dynamic checks showed in profiles.
            swiftSettings: strictSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The jobs' access to the ledger: in this process, or the owner's HTTP API from another machine.
        .target(
            name: "LedgerAccess",
            dependencies: [
                "Bookings", "JSONInput", "JobStore", "Ledger", "LedgerCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings),
        // The booking rules: reservations, confirmations, cancellations, webhook outcomes.
        .target(
            name: "Bookings", dependencies: ["Ledger", "LedgerCore", "JobStore", "KhataCrypto"],
            swiftSettings: strictSettings),
        // Notifications to customers: message templates (so far), compiled in and overridable.
        .target(
            name: "Notifications",
            dependencies: [
                "Bookings", "JobStore", "LedgerAccess", "LedgerCore", "Scheduler",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Jobs/Notifications", swiftSettings: strictSettings),
        // `khata demo`: the providers' settlement files of a played day (and, later, the day).
        .target(
            name: "Demo", dependencies: ["LedgerBench", "Reconciliation", "Scheduler"], swiftSettings: strictSettings),
        // Compressed ledger archives: export, verify, restore and repair of the committed log
        // (columns per field, zstd, SHA-256 manifests signed with Ed25519).
        .target(
            name: "Archive",
            dependencies: [
                "CZstd", "JSONInput", "JobStore", "KhataCrypto", "Ledger", "LedgerCore", "LedgerStorage",
            ],
            path: "Jobs/Archive",
            // Its per-record loops are checked statically; the dynamic checks cost in export.
            swiftSettings: strictSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The finance review's web pages and the HTML report: templates and CSS compiled in.
        .target(
            name: "ReviewPages",
            dependencies: [
                "JobStore", "LedgerCore", "Reconciliation", .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strictSettings),
        .target(
            name: "KhataServer",
            dependencies: [
                "Bookings", "SettlementImport", "Reconciliation", "LedgerAccess", "ReviewPages",
                "JobStore", "Scheduler", "Ledger", "LedgerCore", "LedgerStorage", "JSONInput", "KhataCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Ledger",
            dependencies: ["LedgerCore", "LedgerStorage", "CKhataSupport"],
            // The state's rules are specialized here (see LedgerCore); in their own module the
            // optimizer proved their accesses exclusive, here it cannot, and the dynamic checks
            // cost a fifth of the throughput. Exclusivity is still checked statically.
            swiftSettings: strictSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
        ),
        .target(
            name: "StorageBench",
            dependencies: ["LedgerStorage"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "LedgerBench",
            dependencies: ["Bookings", "Ledger", "LedgerCore", "LedgerStorage", "StorageBench"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "khata",
            dependencies: [
                "KhataServer",
                "JSONInput",
                "JobStore",
                "Expiry",
                "SettlementImport",
                "Reconciliation",
                "ReviewPages",
                "Notifications",
                "Archive",
                "LedgerAccess",
                "Bookings",
                "Scheduler",
                "Ledger",
                "LedgerCore",
                "LedgerStorage",
                "StorageBench",
                "LedgerBench",
                "Demo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "CLibrariesTests",
            dependencies: ["CPostgres", "CZstd", "CCSV", "COpenSSL", "CSQLite"],
            swiftSettings: strictSettings
        ),
        // Seeded randomness and scratch directories shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: ["JobStore", .product(name: "PropertyBased", package: "swift-property-based")],
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KhataServerTests",
            dependencies: [
                "TestSupport", "KhataServer", "JSONInput", "JobStore", "Scheduler", "Ledger", "LedgerCore",
                "LedgerStorage", "KhataCrypto", "LedgerAccess", "Bookings", "Reconciliation", "SettlementImport",
                "ReviewPages", "Notifications",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "DemoTests",
            dependencies: [
                "TestSupport", "Demo", "Scheduler", "SettlementImport", "JobStore", "Reconciliation", "LedgerAccess",
                "Ledger", "LedgerCore", "Bookings",
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ArchiveTests",
            dependencies: [
                "TestSupport", "Archive", "JobStore", "KhataCrypto", "Ledger", "LedgerBench", "LedgerCore",
                "LedgerStorage", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Golden"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ExpiryTests",
            dependencies: ["TestSupport", "Expiry", "Ledger", "LedgerAccess", "LedgerCore", "LedgerStorage"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SchedulerTests", dependencies: ["TestSupport", "Scheduler", "JobStore"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "NotificationsTests",
            dependencies: [
                "TestSupport", "Notifications", "JobStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "ReconciliationTests",
            dependencies: ["TestSupport", "Reconciliation", "JobStore", "Scheduler", "SettlementImport"],
            swiftSettings: strictSettings),
        .testTarget(
            name: "SettlementImportTests",
            dependencies: [
                "TestSupport", "SettlementImport", "JobStore", "LedgerCore", "Scheduler",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings),
        .testTarget(
            name: "JobStoreTests", dependencies: ["TestSupport", "JobStore", "KhataCrypto"],
            swiftSettings: strictSettings),
        .testTarget(name: "KhataCryptoTests", dependencies: ["KhataCrypto"], swiftSettings: strictSettings),
        .testTarget(
            name: "LedgerCoreTests",
            dependencies: [
                "TestSupport", "LedgerCore", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LedgerTests",
            dependencies: [
                "TestSupport",
                "Ledger", "LedgerCore", "LedgerStorage",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LedgerStorageTests",
            dependencies: [
                "TestSupport",
                "LedgerStorage",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["Golden"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KhataCommandTests",
            dependencies: ["TestSupport", "khata", "JobStore", "Ledger", "LedgerCore", "LedgerStorage"],
            swiftSettings: strictSettings
        ),

        .testTarget(name: "TidyTests", swiftSettings: strictSettings),

        .executableTarget(
            name: "LedgerBenchmarks",
            dependencies: ["LedgerCore", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/LedgerBenchmarks",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "StorageBenchmarks",
            dependencies: [
                "LedgerStorage",
                "StorageBench",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StorageBenchmarks",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
