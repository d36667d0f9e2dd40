import Configuration
import Foundation
import JobStore
import Ledger
import LedgerStorage
import Reconciliation
import Scheduler
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Khata's typed settings, read once from the configuration file and the environment.
struct Settings {
    var dataDir: String
    var storage = StoreConfiguration()
    /// Webhook signing secrets by provider (`webhooks.bkash.secret`, or KHATA_WEBHOOKS_BKASH_SECRET).
    var webhookSecrets: [String: String] = [:]
    /// PostgreSQL for the job store (`databaseUrl`, KHATA_DATABASE_URL, or --database-url); nil
    /// for the embedded SQLite store in the data directory.
    var databaseURL: String?
    /// The time zone job schedules are read in (`scheduler.timeZone`).
    var scheduleZone = ScheduleZone.dhaka
    /// Cron schedules by job name (`jobs.<jobInCamelCase>.schedule`), over the defaults.
    var jobSchedules = JobCatalog.defaultSchedules
    /// Holds per ledger submission in `expire-reservations` (`jobs.expireReservations.batchSize`).
    var expiryBatchSize = 1_000
    /// The background verification of sealed segments under `khata serve` (`scrub.*`).
    var scrub = ScrubConfiguration()
    /// The ledger owner's URL for a worker on another machine (`ledger.url`, KHATA_LEDGER_URL, or
    /// `khata worker --ledger-url`); nil: the ledger of the data directory.
    var ledgerURL: String?
    /// The API key such a worker sends (`ledger.apiKey`, KHATA_LEDGER_API_KEY); a secret.
    var ledgerAPIKey: String?
    /// Intake folders of the import-settlements job by provider (`settlements.intake.bkash`, …).
    var settlementIntake: [String: String] = [:]
    /// How long a dropped file must stay unchanged before the job takes it
    /// (`settlements.intakeSettleSeconds`).
    var intakeSettleSeconds = 60
    /// Reconciliation's late window, clearing accounts and fee schedules (`reconciliation.*`).
    var reconciliation = ReconciliationSettings()
    /// How long a review page session lasts after signing in (`review.sessionHours`).
    var reviewSessionHours = 8
    /// Proxies whose `X-Forwarded-Proto: https` the review pages believe (`server.trustedProxies`,
    /// IP addresses; KHATA_SERVER_TRUSTED_PROXIES as a comma-separated list).
    var trustedProxies: [String] = []
    /// Customers' messages: templates, transports, retries (`notifications.*`).
    var notifications = NotificationSettings()
    /// Ledger archives: folder, signing key, trusted public key (`archive.*`).
    var archive = ArchiveSettings(folder: nil, signingKeyFile: "archive-signing.pem", publicKey: nil)

    /// The job store: PostgreSQL when a database URL is set, else `<dataDir>/jobs.sqlite`.
    func openJobDatabase() async throws -> JobDatabase {
        try await JobDatabase.open(dataDir: dataDir, databaseURL: databaseURL)
    }

    /// Where the segment store lives.
    var ledgerDirectory: String { dataDir + "/ledger" }

    /// Reads `configPath` (or `<dataDir>/khata.json` when it exists) and `KHATA_*` variables;
    /// the environment wins. A malformed file or value is an error that names the key.
    static func load(dataDir: String, configPath: String?) async throws -> Settings {
        try await load(dataDir: dataDir, configPath: configPath, defaultConfigPath: dataDir + "/khata.json")
    }

    /// As `load(dataDir:configPath:)`, with the file read when there is no `configPath` (and
    /// only if it exists) named by the caller: nil for none, so that a benchmark never picks up
    /// a data directory's settings by accident.
    /// Without `environment`, `KHATA_*` variables are not read: the demo's settings are its own.
    static func load(
        dataDir: String, configPath: String?, defaultConfigPath: String?, environment: Bool = true
    ) async throws -> Settings {
        var providers: [any ConfigProvider] =
            environment ? [EnvironmentVariablesProvider().prefixKeys(with: "khata")] : []
        if let configPath {
            guard access(configPath, R_OK) == 0 else {
                throw SettingsError(
                    "configuration file \(configPath) cannot be read: \(String(cString: strerror(errno)))")
            }
            providers.append(try await fileProvider(configPath))
        } else if let defaultConfigPath, access(defaultConfigPath, F_OK) == 0 {
            providers.append(try await fileProvider(defaultConfigPath))
        }
        let reader = ConfigReader(providers: providers)
        var settings = Settings(dataDir: dataDir)
        let storage = reader.scoped(to: "storage")
        settings.storage.segmentSizeBytes = try integer(
            storage, "segmentSizeBytes", default: settings.storage.segmentSizeBytes)
        settings.storage.groupCapacityRecords = try integer(
            storage, "groupCapacityRecords", default: settings.storage.groupCapacityRecords)
        settings.storage.groupBufferCount = try integer(
            storage, "groupBufferCount", default: settings.storage.groupBufferCount)
        settings.storage.sealThreadCount = try integer(
            storage, "sealThreadCount", default: settings.storage.sealThreadCount)
        settings.storage.spareSegmentCount = try integer(
            storage, "spareSegmentCount", default: settings.storage.spareSegmentCount)
        settings.storage.checkpointsKept = try integer(
            storage, "checkpointsKept", default: settings.storage.checkpointsKept)
        for provider in ["bkash", "nagad", "sslcommerz"] {
            let scoped = reader.scoped(to: "webhooks").scoped(to: ConfigKey(provider))
            if let secret = scoped.string(forKey: "secret", isSecret: true) {
                settings.webhookSecrets[provider] = secret
            }
        }
        settings.databaseURL = reader.string(forKey: "databaseUrl", isSecret: true)
        settings.ledgerURL = reader.scoped(to: "ledger").string(forKey: "url")
        settings.ledgerAPIKey = reader.scoped(to: "ledger").string(forKey: "apiKey", isSecret: true)
        if let zoneText = reader.scoped(to: "scheduler").string(forKey: "timeZone") {
            guard let zone = ScheduleZone(zoneText) else {
                throw SettingsError(
                    "setting scheduler.timeZone \"\(zoneText)\" is not a time zone (Asia/Dhaka, UTC, +06:00, …)")
            }
            settings.scheduleZone = zone
        }
        for name in JobCatalog.defaultSchedules.keys {
            let key = JobCatalog.configurationKey(name)
            if let expression = reader.scoped(to: "jobs").scoped(to: ConfigKey(key)).string(forKey: "schedule") {
                do {
                    _ = try CronSchedule(expression)
                } catch {
                    throw SettingsError("setting jobs.\(key).schedule: \(error)")
                }
                settings.jobSchedules[name] = expression
            }
        }
        let expiry = reader.scoped(to: "jobs").scoped(to: "expireReservations")
        settings.expiryBatchSize = try integer(
            expiry, "batchSize", default: settings.expiryBatchSize, scope: "jobs.expireReservations")
        let largestBatch = LedgerSession.largestBatch
        guard (1...largestBatch).contains(settings.expiryBatchSize) else {
            throw SettingsError(
                "setting jobs.expireReservations.batchSize must be 1 to \(largestBatch), "
                    + "got \(settings.expiryBatchSize)")
        }
        let settlements = reader.scoped(to: "settlements")
        for provider in ["bkash", "nagad", "sslcommerz"] {
            if let folder = settlements.scoped(to: "intake").string(forKey: ConfigKey(provider)), !folder.isEmpty {
                settings.settlementIntake[provider] = folder
            }
        }
        settings.intakeSettleSeconds = try integer(
            settlements, "intakeSettleSeconds", default: settings.intakeSettleSeconds, scope: "settlements")
        guard settings.intakeSettleSeconds >= 0 else {
            throw SettingsError("setting settlements.intakeSettleSeconds must not be negative")
        }
        settings.reconciliation = try ReconciliationConfiguration.read(reader.scoped(to: "reconciliation"))
        let scrub = reader.scoped(to: "scrub")
        let interval = try integer(
            scrub, "intervalSeconds", default: Int(settings.scrub.intervalSeconds), scope: "scrub")
        let rate = try integer(
            scrub, "maximumBytesPerSecond", default: settings.scrub.maximumBytesPerSecond, scope: "scrub")
        guard interval >= 60, rate >= 1 << 20 else {
            throw SettingsError(
                "setting scrub.intervalSeconds must be at least 60 (got \(interval)) and scrub.maximumBytesPerSecond "
                    + "at least 1048576 (got \(rate))")
        }
        settings.scrub.intervalSeconds = UInt64(interval)
        settings.scrub.maximumBytesPerSecond = rate
        settings.reviewSessionHours = try integer(
            reader.scoped(to: "review"), "sessionHours", default: settings.reviewSessionHours, scope: "review")
        guard (1...168).contains(settings.reviewSessionHours) else {
            throw SettingsError(
                "setting review.sessionHours must be 1 to 168 (a week), got \(settings.reviewSessionHours)")
        }
        let proxies =
            reader.scoped(to: "server").stringArray(forKey: "trustedProxies")
            ?? reader.scoped(to: "server").string(forKey: "trustedProxies").map { text in
                text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            } ?? []
        for proxy in proxies where !Self.isIPAddress(proxy) {
            throw SettingsError("setting server.trustedProxies: \"\(proxy)\" is not an IPv4 or IPv6 address")
        }
        settings.trustedProxies = proxies
        settings.notifications = try NotificationSettings.read(reader.scoped(to: "notifications"))
        settings.archive = ArchiveSettings.read(reader.scoped(to: "archive"), dataDir: dataDir)
        do {
            try settings.storage.validate()
        } catch {
            throw SettingsError("storage settings: \(error.message)")
        }
        return settings
    }

    /// True for a literal IPv4 or IPv6 address (what a connection's peer is compared with).
    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    private static func fileProvider(_ path: String) async throws -> any ConfigProvider {
        do {
            return try await FileProvider<JSONSnapshot>(filePath: FilePath(path))
        } catch {
            throw SettingsError("configuration file \(path) is not valid JSON: \(error)")
        }
    }

    private static func integer(
        _ reader: ConfigReader, _ key: String, default value: Int, scope: String = "storage"
    ) throws -> Int {
        if let number = reader.int(forKey: ConfigKey(key)) { return number }
        // Present but not an integer (int() answers nil for both missing and malformed values).
        if let text = reader.string(forKey: ConfigKey(key)) {
            throw SettingsError("setting \(scope).\(key) must be an integer, got \"\(text)\"")
        }
        return value
    }
}

/// A configuration problem, reported as one clear line.
struct SettingsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
