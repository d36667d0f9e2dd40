import KhataCrypto

/// A schema of its own in a PostgreSQL database, for tests and benchmarks that must not touch
/// anything else there: created when made, and dropped with everything in it by `drop`. `url`
/// connects with the schema first on the search path.
public final class PostgresScratchSchema: Sendable {
    public let name: String
    public let url: String
    private let baseURL: String

    public init(baseURL: String, prefix: String = "khata_scratch") throws {
        name = "\(prefix)_" + Crypto.hex(Crypto.randomBytes(6))
        self.baseURL = baseURL
        try PostgresConnection(url: baseURL).execute("CREATE SCHEMA \(name)")
        url = baseURL + (baseURL.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(name)"
    }

    public func drop() {
        try? PostgresConnection(url: baseURL).execute("DROP SCHEMA \(name) CASCADE")
    }
}
