import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// README.md's examples, run as a newcomer pastes them: every shell block fenced as
/// "```sh runnable", in order, as one bash script, in a fresh directory holding a copy of
/// `Samples/`, with the built `khata` first on PATH and a free port in place of the README's.
@Suite("ReadmeExamples")
struct ReadmeExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The port the README's examples serve on and call.
    static let readmePort = "8080"
    /// How long the script may run before the test stops it and everything it started: a net for a
    /// hung server, not a measure of speed (under the whole suite on 2 cores the script has taken
    /// nearly 4 minutes).
    static let limitSeconds = 900

    /// The lines between each fence opened with exactly "```sh runnable" and the fence that
    /// closes it, one text per block, in order. Other fences (```sh, ```text) are skipped.
    static func runnableBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [String]?
        var inOtherFence = false
        for line in markdown.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var lines = current {
                if trimmed == "```" {
                    blocks.append(lines.joined(separator: "\n"))
                    current = nil
                } else {
                    lines.append(line)
                    current = lines
                }
            } else if inOtherFence {
                if trimmed == "```" { inOtherFence = false }
            } else if trimmed == "```sh runnable" {
                current = []
            } else if trimmed.hasPrefix("```") {
                inOtherFence = true
            }
        }
        return blocks
    }

    /// What runs before the blocks. `set -x` names the failing command in the output; curl fails
    /// on an HTTP error (a refused request must not pass unnoticed, as a 409 once did) and gives
    /// up after 20 s; the trap stops every job a block left running, on any exit.
    static let prologue = """
        set -euo pipefail
        PS4='+ README: '
        set -x
        trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
        curl() { command curl --fail-with-body --max-time 20 "$@"; }

        """

    @Test("runnable blocks are told apart from other fences")
    func extraction() {
        let markdown = """
            Text.

            ```sh
            scripts/run.sh
            ```

            ```sh runnable
            khata accounts create --key a
            khata accounts show a   # comment
            ```

            ```text
            ```sh runnable
            ```

            ```sh runnable
            khata check
            ```
            """
        let expected = ["khata accounts create --key a\nkhata accounts show a   # comment", "khata check"]
        #expect(Self.runnableBlocks(markdown) == expected)
    }

    @Test("README.md's runnable examples run in order, from a fresh directory, and do what they say")
    func readmeExamples() async throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = Self.runnableBlocks(readme)
        try #require(blocks.count >= 3, "README.md has \(blocks.count) runnable blocks")
        #expect(
            !blocks.contains { $0.contains("scripts/run.sh") || $0.contains("scripts/test.sh") },
            "the scripts at the top stay unmarked: the test suite is run by one of them")
        #expect(blocks.contains { $0.contains(Self.readmePort) }, "no block uses port \(Self.readmePort)")
        let directory = ScratchDirectory("khata-readme")
        defer { directory.remove() }
        try FileManager.default.copyItem(
            at: Self.root.appendingPathComponent("Samples"), to: URL(fileURLWithPath: directory.file("Samples")))
        let port = try Self.freePort()
        let script =
            Self.prologue + blocks.joined(separator: "\n").replacingOccurrences(of: Self.readmePort, with: "\(port)")
            + "\n"
        try Data(script.utf8).write(to: URL(fileURLWithPath: directory.file("readme-examples.sh")))

        let outcome = try await offThePool { try Self.bash("readme-examples.sh", in: directory) }
        #expect(!outcome.timedOut, "the examples ran longer than \(Self.limitSeconds) s and were stopped")
        let output = "\(outcome.stdout.suffix(3_000))\n\(outcome.stderr.suffix(6_000))"
        #expect(
            outcome.status == 0, "the examples failed (exit \(outcome.status)); the end of their output:\n\(output)")
        for expected in [
            "transfer 10: ok", "transfer 11: ok", "transfer 12: ok",  // the hold, its capture, the refund
            #""submitted":4"#,  // the four lines of Samples/batch.jsonl
            "next page: --after",  // a full first page of history
            "BK-2001",  // the next page, with the linked chain's reference
            "OK ./khata-data/ledger",  // khata check on the ledger the commands made
            "PAYMENT_PENDING", "BOOKING_CONFIRMED",  // the reservation, then its confirmation
            "expire-reservations",  // the jobs
            "already imported",  // a settlement file imported twice
        ] {
            #expect(outcome.stdout.contains(expected), "the examples' output lacks \(expected)")
        }
        #expect(!outcome.stdout.contains("DAMAGED") && !outcome.stdout.contains("NO STORE"))
    }

    struct Outcome: Sendable {
        var status: Int32
        var timedOut: Bool
        var stdout: String
        var stderr: String
    }

    /// Runs `bash script` in `directory` with the built `khata` first on PATH and no `KHATA_*`
    /// settings of the test's own. Outputs go to files, so no pipe can fill and block the script
    /// or outlive it. Foundation starts the child as the leader of a process group of its own,
    /// which every process the script starts joins: after the script ends (or is stopped at the
    /// time limit), the whole group is killed, so nothing it started outlives the test even if
    /// its trap did not run.
    static func bash(_ script: String, in directory: ScratchDirectory) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory.path)
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KHATA_") }
        // A folder of its own with `khata` in it: the binary under test may have another name
        // (KHATA_BINARY), and nothing else of its folder belongs on PATH.
        let binaries = directory.file("bin")
        try FileManager.default.createDirectory(atPath: binaries, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: binaries + "/khata", withDestinationPath: KhataProcess.binary)
        environment["PATH"] = binaries + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        let outPath = directory.file("stdout.txt")
        let errPath = directory.file("stderr.txt")
        for path in [outPath, errPath] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        // Safe: both files were just created.
        let out = FileHandle(forWritingAtPath: outPath)!
        let err = FileHandle(forWritingAtPath: errPath)!
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        let group = process.processIdentifier
        let timedOut = finished.wait(timeout: .now() + .seconds(limitSeconds)) == .timedOut
        if timedOut {
            kill(-group, SIGKILL)
            finished.wait()
        }
        // Whatever the script left running: normally nothing, as its trap stopped it.
        kill(-group, SIGKILL)
        return Outcome(
            status: process.terminationStatus, timedOut: timedOut,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    /// A port no process listens on now: the one the system picks for a socket bound to
    /// 127.0.0.1:0, closed again.
    static func freePort() throws -> Int {
        let socket = try #require(LoopbackSocket(listening: false))
        socket.close()
        return socket.port
    }
}
