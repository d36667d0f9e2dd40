import Dispatch
import Foundation
import Hummingbird
import JobStore
import Synchronization

/// Checks `Authorization: Bearer KEY` against the stored keys and the scope a route needs.
/// Verified keys are remembered for `cacheNanoseconds`, so that the hot routes neither hash the
/// key nor read the database per request; a revoked key stops working within that time. Only
/// keys that verified are remembered, so a flood of wrong keys cannot fill the cache, and the
/// cache lives in memory only (the store keeps digests).
struct Authenticator: Sendable {
    let keys: APIKeys
    let cacheNanoseconds: UInt64
    private let cache = KeyCache()

    init(keys: APIKeys, cacheMilliseconds: Int) {
        self.keys = keys
        cacheNanoseconds = UInt64(max(0, cacheMilliseconds)) * 1_000_000
    }

    /// The key of `request` when it may act for `scope`; otherwise a 401 (no key, or not a valid
    /// one) or 403 (a valid key without the scope).
    @discardableResult
    func authorize(_ request: Request, _ scope: Scope) async throws -> APIKeyInfo {
        guard let header = request.headers[.authorization] else {
            throw Problem(
                .unauthorized, "missing-api-key", "API key required",
                detail: "send an API key as Authorization: Bearer KEY (create one with khata keys create)")
        }
        // By hand: Foundation's trimming was most of this function's time under load.
        guard let presented = Self.bearerToken(header) else {
            throw Problem(
                .unauthorized, "missing-api-key", "API key required",
                detail: "the Authorization header must be Bearer KEY")
        }
        let now = Self.monotonicNanoseconds()
        var info = cache.lookup(presented, now: now)
        if info == nil {
            do {
                info = try await keys.verify(presented)
            } catch let error as DatabaseError {
                throw Problem(
                    .serviceUnavailable, "store-unavailable", "Store unavailable",
                    detail: "API keys could not be checked (\(error.code)); retry")
            }
            if let info, cacheNanoseconds > 0 { cache.store(presented, info, until: now + cacheNanoseconds) }
        }
        guard let info else {
            throw Problem(
                .unauthorized, "invalid-api-key", "Invalid API key",
                detail: "the API key is not known or was revoked")
        }
        guard info.allows(scope) else {
            throw Problem(
                .forbidden, "insufficient-scope", "Insufficient scope",
                detail: "this route needs the scope \(scope.rawValue); key \(info.id) has "
                    + info.scopes.sorted().map(\.rawValue).joined(separator: ", "))
        }
        return info
    }

    /// The token of `Bearer TOKEN` (the scheme in any case, spaces around the token ignored).
    static func bearerToken(_ header: String) -> String? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count,
            zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 || ($1 == 0x20 && $0 == 0x20) })
        else { return nil }
        var start = scheme.count
        var end = bytes.count
        while start < end, bytes[start] == 0x20 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 { end -= 1 }
        return start < end ? String(decoding: bytes[start..<end], as: UTF8.self) : nil
    }

    /// A clock that only moves forward, for the cache's deadlines.
    static func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}

/// Verified keys, each until a deadline. Looked up by the presented text: the dictionary's
/// hashing is seeded per process, so lookups time nothing an attacker can steer.
final class KeyCache: Sendable {
    private let entries = Mutex<[String: (info: APIKeyInfo, until: UInt64)]>([:])

    func lookup(_ key: String, now: UInt64) -> APIKeyInfo? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard now < entry.until else {
                entries[key] = nil
                return nil
            }
            return entry.info
        }
    }

    func store(_ key: String, _ info: APIKeyInfo, until: UInt64) {
        entries.withLock { entries in
            // Bounded: a flood of distinct valid keys cannot grow it without limit.
            if entries.count >= 10_000 { entries.removeAll(keepingCapacity: true) }
            entries[key] = (info, until)
        }
    }
}
