import KhataCrypto

/// A signed-in session of the review pages: the key it acts for, and the token every form of
/// the session must carry (CSRF).
public struct ReviewSession: Sendable, Equatable {
    public var key: APIKeyInfo
    public var csrfToken: String
    /// UTC text (see `UTCTime`).
    public var expiresAt: String
}

/// The review pages' sessions, kept in the job store so that every server behind a load balancer
/// knows them. A session is a random 256-bit token in the browser's cookie; only its SHA-256
/// digest is stored, so a copy of the store signs no one in. A session ends when it expires,
/// when its owner signs out, or when its key is revoked (looked up with the key, every request).
public struct ReviewSessions: Sendable {
    public let database: JobDatabase

    public init(database: JobDatabase) { self.database = database }

    /// Starts a session for `key` lasting `lifetimeSeconds` from `nowNanoseconds`; answers the
    /// token for the cookie (shown once) and the session. Sessions that ended more than a day
    /// ago are deleted on the way, so the table holds only live ones and recent history.
    public func start(key: APIKeyInfo, lifetimeSeconds: Int, nowNanoseconds: UInt64) async throws
        -> (token: String, session: ReviewSession)
    {
        precondition(lifetimeSeconds > 0, "a session must last")
        let token = Crypto.hex(Crypto.randomBytes(32))
        let csrf = Crypto.hex(Crypto.randomBytes(32))
        let now = UTCTime.text(nanoseconds: nowNanoseconds)
        let expires = UTCTime.text(nanoseconds: nowNanoseconds + UInt64(lifetimeSeconds) * 1_000_000_000)
        let dayAgo = UTCTime.text(nanoseconds: nowNanoseconds - min(nowNanoseconds, 86_400 * 1_000_000_000))
        try await database.perform { connection in
            try connection.transaction {
                _ = try connection.run(
                    "DELETE FROM review_sessions WHERE expires_at < ? OR ended_at < ?", [.text(dayAgo), .text(dayAgo)])
                _ = try connection.run(
                    """
                    INSERT INTO review_sessions (token_sha256, key_id, csrf_token, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                    [.blob(Crypto.sha256(token.utf8)), .text(key.id), .text(csrf), .text(now), .text(expires)])
            }
        }
        return (token, ReviewSession(key: key, csrfToken: csrf, expiresAt: expires))
    }

    /// The live session of `token`: not expired at `nowNanoseconds`, not signed out, and its key
    /// not revoked. Nil for anything else, including a token that is not a session's shape.
    public func session(token: String, nowNanoseconds: UInt64) async throws -> ReviewSession? {
        guard token.utf8.count == 64, token.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { return nil }
        let digest = Crypto.sha256(token.utf8)
        let now = UTCTime.text(nanoseconds: nowNanoseconds)
        return try await database.perform { connection in
            let rows = try connection.query(
                """
                SELECT k.id, k.name, k.scopes, k.created_at, s.csrf_token, s.expires_at
                FROM review_sessions s JOIN api_keys k ON k.id = s.key_id
                WHERE s.token_sha256 = ? AND s.ended_at IS NULL AND s.expires_at > ? AND k.revoked_at IS NULL
                """, [.blob(digest), .text(now)])
            guard let row = rows.first else { return nil }
            return ReviewSession(
                key: APIKeyInfo(
                    id: row[0].text ?? "", name: row[1].text ?? "", scopes: APIKeys.scopes(row[2].text ?? ""),
                    createdAt: row[3].text ?? "", revokedAt: nil),
                csrfToken: row[4].text ?? "", expiresAt: row[5].text ?? "")
        }
    }

    /// Ends the session of `token` (signing out); false when there was no live one.
    @discardableResult
    public func end(token: String, nowNanoseconds: UInt64) async throws -> Bool {
        let digest = Crypto.sha256(token.utf8)
        let now = UTCTime.text(nanoseconds: nowNanoseconds)
        return try await database.perform { connection in
            try connection.run(
                "UPDATE review_sessions SET ended_at = ? WHERE token_sha256 = ? AND ended_at IS NULL",
                [.text(now), .blob(digest)]) == 1
        }
    }

    /// Ends every session of key `keyId`; answers how many were live.
    @discardableResult
    public func endAll(keyId: String, nowNanoseconds: UInt64) async throws -> Int {
        let now = UTCTime.text(nanoseconds: nowNanoseconds)
        return try await database.perform { connection in
            try connection.run(
                "UPDATE review_sessions SET ended_at = ? WHERE key_id = ? AND ended_at IS NULL",
                [.text(now), .text(keyId)])
        }
    }
}
