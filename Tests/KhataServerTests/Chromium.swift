import Foundation
import Glibc
import TestSupport

/// A headless Chromium (Debian's `chromium`) driven over its DevTools protocol on a pipe
/// (`--remote-debugging-pipe`: commands in on file descriptor 3, answers and events out on 4,
/// each a JSON message ended by a NUL byte). Enough of the protocol to open pages, run script in
/// them, submit their forms, wait for the next page to load, and take screenshots.
final class Chromium: @unchecked Sendable {
    static let path = "/usr/bin/chromium"

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private let pid: pid_t
    private let commands: Int32
    private let profile: TemporaryDirectory
    private let condition = NSCondition()
    private var answers: [Int: [String: Any]] = [:]
    private var loads: [String: Int] = [:]
    private var ended = false
    private var nextId = 1
    /// How long any one wait may take before the test fails instead of hanging.
    static let waitSeconds: TimeInterval = 90

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.path) else {
            throw Failure("\(Self.path) is missing: scripts/setup-debian.sh --with-postgres installs chromium")
        }
        profile = TemporaryDirectory("khata-chromium")
        var toChrome: [Int32] = [0, 0]
        var fromChrome: [Int32] = [0, 0]
        guard pipe(&toChrome) == 0, pipe(&fromChrome) == 0 else { throw Failure("pipe: \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChrome[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromChrome[1], 4)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let log = profile.file("chromium.log")
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = [
            Self.path, "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-sync", "--hide-scrollbars", "--mute-audio",
            "--user-data-dir=\(profile.path)", "--window-size=1280,900", "about:blank",
        ]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, Self.path, &actions, nil, &argv, environ)
        close(toChrome[0])
        close(fromChrome[1])
        guard spawned == 0 else { throw Failure("cannot start \(Self.path): \(spawned)") }
        pid = child
        commands = toChrome[1]
        let answersFD = fromChrome[0]
        Thread.detachNewThread { [self] in read(answersFD) }
    }

    deinit { quit() }

    /// Stops the browser and removes its profile.
    func quit() {
        guard !ended else { return }
        _ = try? send("Browser.close", [:], waiting: false)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(commands)
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
        profile.remove()
    }

    /// Sends `method` (to the page of `session`, or the browser) and answers its result.
    @discardableResult
    func send(_ method: String, _ parameters: [String: Any] = [:], session: String? = nil, waiting: Bool = true)
        throws -> [String: Any]
    {
        condition.lock()
        let id = nextId
        nextId += 1
        condition.unlock()
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(commands, buffer.baseAddress! + offset, buffer.count - offset)
                guard written > 0 else { throw Failure("writing to chromium: \(errno)") }
                offset += written
            }
        }
        guard waiting else { return [:] }
        let answer = try wait { $0.answers.removeValue(forKey: id) }
        if let error = answer["error"] as? [String: Any] {
            throw Failure("\(method): \(error["message"] ?? error)")
        }
        return answer["result"] as? [String: Any] ?? [:]
    }

    /// A new tab, attached so that its commands and events carry its session.
    func open(width: Int = 1280, height: Int = 900) throws -> Tab {
        let target = try send("Target.createTarget", ["url": "about:blank"])
        guard let targetId = target["targetId"] as? String else { throw Failure("no target: \(target)") }
        let attached = try send("Target.attachToTarget", ["targetId": targetId, "flatten": true])
        guard let session = attached["sessionId"] as? String else { throw Failure("not attached: \(attached)") }
        let tab = Tab(browser: self, session: session)
        try tab.send("Page.enable")
        try tab.send("Runtime.enable")
        try tab.resize(width: width, height: height)
        return tab
    }

    /// Pages loaded so far in `session`.
    func loadCount(_ session: String) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return loads[session] ?? 0
    }

    /// Waits until `session` has loaded more than `count` pages.
    func waitForLoad(_ session: String, after count: Int) throws {
        _ = try wait { browser -> Bool? in (browser.loads[session] ?? 0) > count ? true : nil }
    }

    private func wait<T>(_ ready: (Chromium) -> T?) throws -> T {
        let deadline = Date(timeIntervalSinceNow: Self.waitSeconds)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let value = ready(self) { return value }
            if ended { throw Failure("chromium ended; its log: \(profile.file("chromium.log"))") }
            guard condition.wait(until: deadline) else { throw Failure("chromium did not answer in time") }
        }
    }

    private func read(_ fd: Int32) {
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            pending += buffer[0..<count]
            while let end = pending.firstIndex(of: 0) {
                let message = Array(pending[..<end])
                pending.removeSubrange(...end)
                guard let object = try? JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] else {
                    continue
                }
                condition.lock()
                if let id = object["id"] as? Int {
                    answers[id] = object
                } else if object["method"] as? String == "Page.loadEventFired",
                    let session = object["sessionId"] as? String
                {
                    loads[session, default: 0] += 1
                }
                condition.broadcast()
                condition.unlock()
            }
        }
        close(fd)
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }
}

/// One tab of the browser.
struct Tab {
    let browser: Chromium
    let session: String

    @discardableResult
    func send(_ method: String, _ parameters: [String: Any] = [:]) throws -> [String: Any] {
        try browser.send(method, parameters, session: session)
    }

    /// Opens `url` and waits for it (and any redirect it answers with) to load.
    func go(_ url: String) throws {
        let before = browser.loadCount(session)
        let answer = try send("Page.navigate", ["url": url])
        if let error = answer["errorText"] as? String { throw Chromium.Failure("navigating to \(url): \(error)") }
        try browser.waitForLoad(session, after: before)
    }

    /// Runs `script` in the page and answers its value (JSON-like).
    func evaluate(_ script: String) throws -> Any? {
        let answer = try send("Runtime.evaluate", ["expression": script, "returnByValue": true])
        if let exception = answer["exceptionDetails"] {
            throw Chromium.Failure("script failed: \(exception)")
        }
        return (answer["result"] as? [String: Any])?["value"]
    }

    func text(_ script: String) throws -> String { try evaluate(script) as? String ?? "" }

    /// Runs `script`, which submits a form or follows a link, and waits for the next page.
    func navigating(_ script: String) throws {
        let before = browser.loadCount(session)
        _ = try evaluate(script)
        try browser.waitForLoad(session, after: before)
    }

    /// The page's path and query.
    var location: String { (try? text("location.pathname + location.search")) ?? "" }

    func resize(width: Int, height: Int) throws {
        try send(
            "Emulation.setDeviceMetricsOverride",
            ["width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 700])
    }

    /// A PNG of the whole page (up to `maximumHeight` pixels tall).
    func screenshot(maximumHeight: Int = 2_400) throws -> Data {
        let height = min(
            maximumHeight, (try evaluate("document.documentElement.scrollHeight") as? NSNumber)?.intValue ?? 900)
        let width = (try evaluate("document.documentElement.clientWidth") as? NSNumber)?.intValue ?? 1280
        let shot = try send(
            "Page.captureScreenshot",
            [
                "format": "png", "captureBeyondViewport": true,
                "clip": ["x": 0, "y": 0, "width": width, "height": height, "scale": 1],
            ])
        guard let text = shot["data"] as? String, let data = Data(base64Encoded: text) else {
            throw Chromium.Failure("no screenshot")
        }
        return data
    }
}
