import Foundation
import JobStore
import Reconciliation
import Testing

@testable import KhataServer

/// The review pages in a real headless Chromium, as a finance reviewer uses them: sign in, open a
/// run, filter its mismatches, resolve one with a note and see it in the history, sign out. A
/// provider field carrying `<script>` shows as text and does not run.
@Suite("Review pages in a browser")
struct ReviewPagesBrowserTests {
    /// Where the documentation's screenshots are written when `KHATA_SCREENSHOTS` names a folder
    /// (`KHATA_SCREENSHOTS=docs/screenshots`); otherwise they are taken, checked and discarded.
    static let screenshotFolder = ProcessInfo.processInfo.environment["KHATA_SCREENSHOTS"]

    @Test("sign in, open a run, filter, resolve with a note, see the history; injected script does not run")
    func reviewInBrowser() async throws {
        try await TestServer.with(maximumBodyBytes: 1 << 20) { server in
            let injected = "<script>window.khataInjected=1;document.title='owned'</script>"
            let date = SettlementDay(server: server, seed: 31).date
            let hostile =
                "\"\(injected)\",P-HOSTILE,KH-HOSTILE-1,payment,100.00,1.85,98.15,BDT,01711XXX000,\(date) 10:00:00,"
                + "Completed,,\(date)"
            let report = try await MismatchReviewTests.reconciledDay(server, seed: 31, extraLines: [hostile])
            let (key, _) = try await server.keys.create(name: "Farida Yasmin", scopes: [.finance, .read])
            let base = "http://127.0.0.1:\(server.port)"
            let browser = try Chromium()
            defer { browser.quit() }
            let tab = try browser.open()

            // Not signed in: the run page sends the browser to sign in, and back afterwards.
            try tab.go(base + "/ui/runs/\(report.run.id)")
            #expect(tab.location.hasPrefix("/ui/sign-in?next="))
            try tab.navigating(
                "document.querySelector('input[name=key]').value = \(Self.quoted(key)); "
                    + "document.querySelector('form.review').submit()")
            #expect(tab.location == "/ui/runs/\(report.run.id)")
            let runText = try tab.text("document.body.innerText")
            #expect(runText.contains("Totals per category") && runText.contains("৳"))
            #expect(runText.contains("Farida Yasmin"))
            let bars = try tab.evaluate("document.querySelectorAll('svg.chart rect.bar').length") as? NSNumber
            #expect((bars?.intValue ?? 0) > 1)
            try Self.keep(try tab.screenshot(), as: "review-run.png")

            // The run's mismatches, filtered to one category through the form.
            try tab.navigating("location.href = '/ui/runs/\(report.run.id)/mismatches'")
            try tab.navigating(
                "document.querySelector('select[name=category]').value = 'missing_in_ledger'; "
                    + "document.querySelector('form.filters').submit()")
            #expect(tab.location.contains("category=missing_in_ledger"))
            let categories =
                try tab.evaluate(
                    "Array.from(document.querySelectorAll('tbody tr td:nth-child(2)')).map(c => c.innerText)")
                as? [String]
            #expect(categories?.isEmpty == false && categories?.allSatisfy { $0 == "Missing in the ledger" } == true)

            // The hostile line's mismatch: its provider transaction id is text, and nothing ran.
            try tab.navigating(
                "document.querySelector('input[name=q]').value = 'KH-HOSTILE-1'; "
                    + "document.querySelector('form.search').submit()")
            try tab.navigating("document.querySelector('tbody tr td a').click()")
            #expect(try tab.evaluate("typeof window.khataInjected") as? String == "undefined")
            #expect(try tab.text("document.title").contains("owned") == false)
            #expect(try tab.text("document.body.innerText").contains(injected))

            // Resolve it with a note; the history shows who, the kind and the note.
            let note = "Provider confirmed the line is a test entry; written off by finance."
            try tab.navigating(
                "const f = document.querySelector('form[action$=\"/resolve\"]'); "
                    + "f.querySelector('select').value = 'not_an_error'; "
                    + "f.querySelector('textarea').value = \(Self.quoted(note)); f.submit()")
            #expect(tab.location.hasSuffix("?done=resolve"))
            let history = try tab.text("document.querySelector('ol.history').innerText")
            #expect(history.contains("Farida Yasmin") && history.contains("Not an error") && history.contains(note))
            #expect(try tab.text("document.querySelector('h1 .badge').innerText") == "Resolved")
            try Self.keep(try tab.screenshot(), as: "review-mismatch.png")

            // At phone width the page fits: nothing wider than the screen but the tables' own scroll.
            try tab.resize(width: 390, height: 844)
            let overflow = try tab.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1") as? Bool
            #expect(overflow == false)
            try tab.resize(width: 1280, height: 900)

            // Signing out ends the session: the pages send the browser to sign in again.
            try tab.navigating("document.querySelector('form[action=\"/ui/sign-out\"]').submit()")
            #expect(tab.location.hasPrefix("/ui/sign-in"))
            try tab.go(base + "/ui/runs")
            #expect(tab.location.hasPrefix("/ui/sign-in"))
        }
    }

    /// `text` as a JavaScript string literal.
    static func quoted(_ text: String) -> String {
        // Safe: a string always encodes as JSON.
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast()
            .description
    }

    /// Checks that `png` is an image of some size, and keeps it in the screenshot folder if one is named.
    static func keep(_ png: Data, as name: String) throws {
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000)
        guard let folder = screenshotFolder else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: folder + "/" + name))
    }
}
