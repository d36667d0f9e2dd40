import ArgumentParser
import Demo
import Foundation
import KhataCrypto
import Reconciliation
import Scheduler

/// Where a demo keeps what it makes, all under one folder: Khata's data directory, the archive
/// beside it (an archive is never kept inside the data directory it copies), the settlement
/// files the providers "send", and the reports.
struct DemoPaths {
    let root: String

    init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.path
    }

    var data: String { root + "/data" }
    var archive: String { root + "/archive" }
    var settlements: String { root + "/settlements" }
    var reports: String { root + "/reports" }
    var config: String { data + "/khata.json" }
    /// Written first: only a folder with it is one `--reuse` may empty.
    var marker: String { root + "/KHATA-DEMO" }

    func settlements(_ provider: String) -> String { settlements + "/" + provider }

    /// Makes the folder ready: a new or empty one is used; a non-empty one is refused unless
    /// `reuse`, and then only when an earlier demo made it, whose contents are removed.
    func prepare(reuse: Bool) throws {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: root, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ValidationError("\(root) is a file, not a folder: choose another --data-dir")
            }
            let contents = try files.contentsOfDirectory(atPath: root)
            if !contents.isEmpty {
                guard reuse else {
                    throw ValidationError(
                        "\(root) is not empty: a demo starts in a fresh folder. Remove it, choose another "
                            + "--data-dir, or pass --reuse to replace an earlier demo's folder")
                }
                guard files.fileExists(atPath: marker) else {
                    throw ValidationError(
                        "\(root) was not made by khata demo (it has no KHATA-DEMO file): --reuse empties only a "
                            + "demo's own folder, never other data")
                }
                for name in contents { try files.removeItem(atPath: root + "/" + name) }
            }
        }
        for folder in [root, data, archive, reports] + ProviderFileWriter.providers.map(settlements) {
            try files.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        try Data("Made by `khata demo`; `khata demo --reuse` may empty this folder.\n".utf8)
            .write(to: URL(fileURLWithPath: marker))
    }
}

/// The demo's configuration: written to `<data>/khata.json`, so that `khata serve` on the demo's
/// data directory afterwards has the same webhooks, fees and jobs.
enum DemoConfiguration {
    /// Contracted fees in basis points: what the settlement files charge and reconciliation checks.
    static let feeBasisPoints = ["bkash": 185, "nagad": 150, "sslcommerz": 250]
    static let twilioAccount = "ACDEMO0000000000000000000000000000"
    /// The status callback URL the SMS provider signs with: the API of `khata serve` on its
    /// default port, which is how the summary says to serve the demo's data afterwards.
    static let statusCallbackURL = "http://127.0.0.1:8080/v1/notifications/callbacks/twilio"

    /// Secrets derived from the seed: a demo's are not secret, and the same seed gives the same.
    static func secret(_ purpose: String, seed: UInt64) -> String {
        "demo-" + Crypto.hex(Crypto.sha256(Array("khata demo \(purpose) \(seed)".utf8)).prefix(16))
    }

    static func webhookSecrets(seed: UInt64) -> [String: String] {
        Dictionary(uniqueKeysWithValues: ProviderFileWriter.providers.map { ($0, secret("webhook \($0)", seed: seed)) })
    }

    /// Writes the configuration file; `smsPort` is the local SMS provider's.
    static func write(_ paths: DemoPaths, seed: UInt64, smsPort: Int) throws {
        var webhooks: [String: Any] = [:]
        for (provider, secret) in webhookSecrets(seed: seed) { webhooks[provider] = ["secret": secret] }
        var intake: [String: Any] = [:]
        var fees: [String: Any] = [:]
        for provider in ProviderFileWriter.providers {
            intake[provider] = paths.settlements(provider)
            // Safe: every provider has a fee.
            fees[provider] = ["basisPoints": feeBasisPoints[provider]!]
        }
        let object: [String: Any] = [
            "webhooks": webhooks,
            "settlements": ["intake": intake, "intakeSettleSeconds": 60],
            "reconciliation": ["fees": fees],
            "notifications": [
                "sms": "twilio", "email": "outbox", "maxAttempts": 4, "retryBaseSeconds": 60,
                "retryMaxSeconds": 900,
                "twilio": [
                    "baseUrl": "http://127.0.0.1:\(smsPort)", "accountId": twilioAccount,
                    "authToken": secret("twilio", seed: seed), "smsFrom": "+8809610000000",
                    "statusCallbackUrl": statusCallbackURL,
                ],
            ],
            "archive": ["folder": paths.archive, "signingKeyFile": paths.data + "/archive-signing.pem"],
            // Small segments, so that the day's log spans several and the archive has work.
            "storage": ["segmentSizeBytes": 4 << 20, "spareSegmentCount": 0],
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: paths.config))
        let key = Ed25519.PrivateKey.generate()
        try Data(key.pem.utf8).write(to: URL(fileURLWithPath: paths.data + "/archive-signing.pem"))
        chmod(paths.data + "/archive-signing.pem", 0o600)
    }

    /// The fee schedule the configuration holds.
    static var fees: FeeSchedule {
        FeeSchedule(rules: feeBasisPoints.mapValues { [FeeRule(basisPoints: Int64($0))] })
    }
}
