import Foundation

/// Runs a comparison script of the benchmarks under python3 (DuckDB and polars from PyPI) and
/// reads the median seconds it prints per peer as one JSON object.
enum PeerScript {
    /// What every peer script shares: a DuckDB connection without the progress bar DuckDB prints
    /// to standard output once a query runs past two seconds, which would break the JSON answer.
    static let prelude = """
        def duckdb_connection(duckdb):
            con = duckdb.connect()
            con.execute("SET enable_progress_bar = false")
            return con

        """

    static func seconds(_ script: String, arguments: [String]) throws -> [(String, Double)] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", prelude + script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailure(
                "python3 with duckdb and polars did not run (exit status \(process.terminationStatus); "
                    + "pip install duckdb polars)")
        }
        // Whole seconds come back as integers: read every number as a Double.
        guard let parsed = try? JSONSerialization.jsonObject(with: data) as? [String: NSNumber] else {
            let printed = String(decoding: data.prefix(200), as: UTF8.self)
            throw CommandFailure("the peers' script printed no JSON object of seconds: \(printed)")
        }
        let object = parsed.mapValues(\.doubleValue)
        if object.isEmpty { throw CommandFailure("neither duckdb nor polars is installed for python3") }
        return object.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
