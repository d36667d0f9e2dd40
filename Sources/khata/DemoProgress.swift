import Foundation

/// The demo's phases as they go: on a terminal one line per phase with a bar, redrawn in place
/// and left with what the phase did; otherwise a plain line per phase on standard error; with
/// `--json`, a JSON line per phase on standard output.
final class DemoProgress: @unchecked Sendable {
    enum Mode {
        case terminal, plain, json
    }

    private let mode: Mode
    private let lock = NSLock()
    private var phase = ""
    private var phaseStarted = ContinuousClock.now
    private var lastDrawn = -1

    init(json: Bool) {
        if json {
            mode = .json
        } else {
            let setting = ProcessInfo.processInfo.environment["KHATA_PROGRESS"]
            let terminal = isatty(STDERR_FILENO) == 1 && setting != "never"
            mode = terminal || setting == "always" ? .terminal : .plain
        }
    }

    /// A phase starts.
    func begin(_ name: String) {
        lock.withLock {
            phase = name
            phaseStarted = .now
            lastDrawn = -1
        }
        update(0, 1)
    }

    /// The phase has done `done` of `total`.
    func update(_ done: Int, _ total: Int) {
        guard mode == .terminal else { return }
        lock.withLock {
            let percent = total > 0 ? min(done, total) * 100 / total : 100
            guard percent != lastDrawn else { return }
            lastDrawn = percent
            let width = 30
            let bar =
                String(repeating: "#", count: percent * width / 100)
                + String(repeating: " ", count: width - percent * width / 100)
            FileHandle.standardError.write(
                Data(
                    "\r  \(phase.padding(toLength: 22, withPad: " ", startingAt: 0)) [\(bar)] \(percent)%\u{1B}[K".utf8)
            )
        }
    }

    /// The phase ended having done what `detail` says (`fields` for `--json`).
    func end(_ detail: String, fields: [String: Any] = [:]) {
        let (name, seconds) = lock.withLock { (phase, Self.seconds(ContinuousClock.now - phaseStarted)) }
        switch mode {
        case .json:
            var object = fields
            object["phase"] = name
            object["detail"] = detail
            object["seconds"] = (seconds * 10).rounded() / 10
            print(LedgerSession.jsonLine(object))
        case .terminal:
            FileHandle.standardError.write(
                Data(
                    "\r✓ \(name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(detail) "
                        .appending("(\(String(format: "%.1f", seconds)) s)\u{1B}[K\n").utf8))
        case .plain:
            FileHandle.standardError.write(
                Data("\(name): \(detail) (\(String(format: "%.1f", seconds)) s)\n".utf8))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
