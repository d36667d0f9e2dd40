import ArgumentParser
import KhataServer
import Ledger

/// `khata serve`: the HTTP API over the data directory's ledger, until SIGTERM or SIGINT, after
/// which it stops accepting connections, finishes the requests in flight and closes the ledger
/// (everything acknowledged is durable by then).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (accounts, transfers, health) over the ledger.")

    @OptionGroup var global: GlobalOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on.")
    var port = 8080

    @Option(help: "The largest request body accepted, in bytes.")
    var maximumBodyBytes = 1 << 20

    func run() async throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535, not \(port)") }
        guard maximumBodyBytes > 0 else { throw ValidationError("--maximum-body-bytes must be positive") }
        let ledger = try await LedgerSession.open(global)
        defer { ledger.close() }
        try await KhataServer.serve(ledger: ledger, host: host, port: port, maximumBodyBytes: maximumBodyBytes)
    }
}
