import Foundation

/// A one-line progress bar on standard error, drawn only when standard error is a terminal and
/// the work is large enough to wait for; silent otherwise, so logs and pipes stay clean.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private var total: Int64
    private let enabled: Bool
    private let lock = NSLock()
    private var lastPercent = -1
    private var lastLabel = ""

    /// A bar for `total` units of work (bytes), shown when it is at least `threshold`, or
    /// whatever its size when `KHATA_PROGRESS` is `always` (`never` hides every bar).
    init(label: String, total: Int64, threshold: Int64 = 8 << 20) {
        self.label = label
        self.total = max(total, 1)
        let setting = ProcessInfo.processInfo.environment["KHATA_PROGRESS"]
        enabled = isatty(STDERR_FILENO) == 1 && setting != "never" && (setting == "always" || total >= threshold)
    }

    /// Draws `done` of the total, with `stage` before the label; `total`, when the work knows it
    /// better than the estimate the bar was made with, replaces it.
    func update(_ stage: String, _ done: Int64, total newTotal: Int64? = nil) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        if let newTotal { total = max(newTotal, 1) }
        let percent = Int(min(done, total) * 100 / total)
        guard percent != lastPercent || stage != lastLabel else { return }
        lastPercent = percent
        lastLabel = stage
        let width = 30
        let filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r\(stage) \(label) [\(bar)] \(percent)%\u{1B}[K".utf8))
    }

    /// Draws the bar full: the work is done, whatever the estimate said.
    func complete(_ stage: String) {
        update(stage, total)
    }

    /// Clears the bar's line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
