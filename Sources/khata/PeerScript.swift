import Foundation

/// Runs a comparison script of the benchmarks under python3 (DuckDB and polars from PyPI) and
/// reads the median seconds it prints per peer as one JSON object.
enum PeerScript {
    static func seconds(_ script: String, arguments: [String]) throws -> [(String, Double)] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Double]
        else { throw CommandFailure("python3 with duckdb and polars did not run (pip install duckdb polars)") }
        if object.isEmpty { throw CommandFailure("neither duckdb nor polars is installed for python3") }
        return object.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
