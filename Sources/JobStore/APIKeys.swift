import KhataCrypto

/// What an API key may do. `admin` may do everything.
public enum Scope: String, CaseIterable, Sendable, Comparable {
    /// Post transfers and reservations, confirm and cancel them.
    case post
    /// Read accounts, history, transfers and reservations.
    case read
    /// Refunds and the finance team's reports.
    case finance
    /// Everything, including accounts and jobs.
    case admin

    public static func < (lhs: Scope, rhs: Scope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// An API key as listed: never its secret, which is kept only as a SHA-256 digest.
public struct APIKeyInfo: Hashable, Sendable {
    /// The public part of the key, e.g. `k3f9a1c2e7b40`.
    public var id: String
    public var name: String
    public var scopes: Set<Scope>
    public var createdAt: String
    public var revokedAt: String?

    public init(id: String, name: String, scopes: Set<Scope>, createdAt: String, revokedAt: String?) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    /// True when the key may act for `scope`.
    public func allows(_ scope: Scope) -> Bool {
        revokedAt == nil && (scopes.contains(scope) || scopes.contains(.admin))
    }
}

/// API keys: `khata_<id>_<secret>`. The secret (32 random bytes) is shown once, at creation; only
/// its SHA-256 digest is stored, and a presented key is checked by comparing digests in constant
/// time. A slow password hash is not needed: the secret has 256 bits of entropy.
public struct APIKeys: Sendable {
    public let database: JobDatabase
    static let prefix = "khata_"

    public init(database: JobDatabase) { self.database = database }

    /// Creates a key with `scopes`; answers the key itself (shown once) and what is stored.
    public func create(name: String, scopes: Set<Scope>) async throws -> (key: String, info: APIKeyInfo) {
        precondition(!scopes.isEmpty, "a key needs at least one scope")
        let id = "k" + Crypto.hex(Crypto.randomBytes(6))
        let secret = Crypto.hex(Crypto.randomBytes(32))
        let info = APIKeyInfo(id: id, name: name, scopes: scopes, createdAt: UTCTime.now(), revokedAt: nil)
        try await database.perform { connection in
            try connection.run(
                "INSERT INTO api_keys (id, secret_sha256, scopes, name, created_at) VALUES (?, ?, ?, ?, ?)",
                [
                    .text(id), .blob(Crypto.sha256(secret.utf8)), .text(Self.text(scopes)), .text(name),
                    .text(info.createdAt),
                ])
        }
        return (Self.prefix + id + "_" + secret, info)
    }

    /// Every key, oldest first, revoked ones included.
    public func list() async throws -> [APIKeyInfo] {
        try await database.perform { connection in
            try connection.query(
                "SELECT id, name, scopes, created_at, revoked_at FROM api_keys ORDER BY created_at, id"
            )
            .map { row in
                APIKeyInfo(
                    id: row[0].text ?? "", name: row[1].text ?? "", scopes: Self.scopes(row[2].text ?? ""),
                    createdAt: row[3].text ?? "", revokedAt: row[4].text)
            }
        }
    }

    /// Revokes the key `id` and ends its review sessions; false when no unrevoked key has that id.
    public func revoke(id: String) async throws -> Bool {
        try await database.perform { connection in
            try connection.transaction {
                let now = UTCTime.now()
                guard
                    try connection.run(
                        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                        [.text(now), .text(id)]
                    ) == 1
                else { return false }
                // Sessions check the key on every request too; ending them here keeps the record plain.
                _ = try connection.run(
                    "UPDATE review_sessions SET ended_at = ? WHERE key_id = ? AND ended_at IS NULL",
                    [.text(now), .text(id)])
                return true
            }
        }
    }

    /// The key that `presented` is, when it is a well-formed, known and unrevoked key.
    public func verify(_ presented: String) async throws -> APIKeyInfo? {
        guard let (id, secret) = Self.split(presented) else { return nil }
        let digest = Crypto.sha256(secret.utf8)
        return try await database.perform { connection in
            let rows = try connection.query(
                "SELECT id, name, scopes, created_at, revoked_at, secret_sha256 FROM api_keys WHERE id = ?", [.text(id)]
            )
            guard let row = rows.first, Crypto.constantTimeEqual(row[5].blob ?? [], digest), row[4] == .null else {
                return nil
            }
            return APIKeyInfo(
                id: row[0].text ?? "", name: row[1].text ?? "", scopes: Self.scopes(row[2].text ?? ""),
                createdAt: row[3].text ?? "", revokedAt: nil)
        }
    }

    /// The id and secret of a key, or nil when `key` does not have the key's shape.
    static func split(_ key: String) -> (id: String, secret: String)? {
        guard key.hasPrefix(prefix) else { return nil }
        let parts = key.dropFirst(prefix.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 13, parts[1].utf8.count == 64 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    static func text(_ scopes: Set<Scope>) -> String { scopes.sorted().map(\.rawValue).joined(separator: ",") }

    static func scopes(_ text: String) -> Set<Scope> {
        Set(text.split(separator: ",").compactMap { Scope(rawValue: String($0)) })
    }
}
