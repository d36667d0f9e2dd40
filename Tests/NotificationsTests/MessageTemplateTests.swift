import Foundation
import JobStore
import TestSupport
import Testing

@testable import Notifications

/// The message templates: one per event, channel and language, compiled in and kept equal to
/// `Samples/templates/`; a folder overrides them one by one, and a bad file is refused naming it.
@Suite("Message templates")
struct MessageTemplateTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Samples/templates").path

    static let values = MessageValues(
        bookingId: "BK-1001", paymentReference: "KH4F7Q2M9XW3C8D1ZP", amount: "৳1,500.00", refundAmount: "৳500.00",
        provider: "bKash", deadline: "2026-12-02 14:35")

    @Test("the compiled-in defaults are Samples/templates, file for file")
    func samplesAreTheDefaults() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.samples)
            .filter { $0.hasSuffix(".mustache") }
        #expect(Set(files.map { String($0.dropLast(".mustache".count)) }) == MessageTemplates.names)
        for file in files {
            let text = try String(contentsOfFile: Self.samples + "/" + file, encoding: .utf8)
            #expect(DefaultTemplates.all[String(file.dropLast(".mustache".count))] == text, "\(file)")
        }
    }

    @Test("every event, channel and language renders its values as written, an email with its subject")
    func rendering() throws {
        let templates = try MessageTemplates()
        for event in NotificationEvent.allCases {
            for channel in MessageTemplates.channels {
                for language in ContactLanguage.allCases {
                    let message = templates.render(event, channel, language, Self.values)
                    let text = (message.subject ?? "") + message.body
                    #expect(!text.contains("{{") && text.contains("BK-1001"), "\(event) \(channel) \(language)")
                    #expect((message.subject != nil) == (channel == .email))
                    // Bangla messages are in Bangla script; English ones not (the taka sign aside).
                    #expect(text.unicodeScalars.contains { (0x0980...0x09EF).contains($0.value) } == (language == .bn))
                }
            }
        }
        let reserved = templates.render(.reservationCreated, .sms, .en, Self.values)
        #expect(reserved.body.contains("Pay ৳1,500.00 with bKash by 2026-12-02 14:35 (reference KH4F7Q2M9XW3C8D1ZP)"))
        let refund = templates.render(.refunded, .email, .bn, Self.values)
        #expect(refund.subject == "বুকিং BK-1001-এর টাকা ফেরত" && refund.body.contains("৳500.00"))
        // Values go in as written: messages are plain text, not HTML.
        var odd = Self.values
        odd.bookingId = "A&B <1>"
        #expect(templates.render(.cancelled, .sms, .en, odd).body.hasPrefix("Booking A&B <1> is cancelled"))
    }

    @Test("a folder overrides templates one by one; a bad file stops with its name and why")
    func overrides() throws {
        let folder = TemporaryDirectory("khata-templates")
        defer { folder.remove() }
        try "Paid: {{{amount}}} for {{{bookingId}}}.\n".write(
            toFile: folder.file("payment_confirmed.sms.en.mustache"), atomically: true, encoding: .utf8)
        try "a note that is not a template".write(toFile: folder.file("README.txt"), atomically: true, encoding: .utf8)
        let templates = try MessageTemplates(overridesFolder: folder.path)
        #expect(templates.render(.paymentConfirmed, .sms, .en, Self.values).body == "Paid: ৳1,500.00 for BK-1001.")
        #expect(templates.render(.paymentConfirmed, .sms, .bn, Self.values).body.contains("নিশ্চিত"))

        let bad: [(String, Data, String)] = [
            ("payment_confirmed.fax.en.mustache", Data("x".utf8), "is not a template name"),
            ("expired.sms.en.mustache", Data("{{#amount}} unclosed".utf8), "does not parse"),
            ("expired.sms.en.mustache", Data("Hello {{{customerName}}}".utf8), "names \"customerName\""),
            ("expired.email.en.mustache", Data("No subject line\n\nbody".utf8), "Subject:"),
            ("expired.sms.bn.mustache", Data([0xFF, 0xFE, 0x41]), "UTF-8"),
        ]
        for (file, bytes, words) in bad {
            let broken = TemporaryDirectory("khata-templates-bad")
            defer { broken.remove() }
            try bytes.write(to: URL(fileURLWithPath: broken.file(file)))
            do {
                _ = try MessageTemplates(overridesFolder: broken.path)
                Issue.record("\(file) was taken")
            } catch {
                #expect(error.file == broken.file(file) && error.reason.contains(words), "\(error)")
            }
        }
        do {
            _ = try MessageTemplates(overridesFolder: folder.file("missing"))
            Issue.record("a missing folder was taken")
        } catch {
            #expect(error.reason.contains("cannot be read"))
        }
    }

    @Test("plain templates render by joining their pieces exactly as Mustache renders them; others go to Mustache")
    func plainRendererEqualsMustache() throws {
        let templates = try MessageTemplates()
        var random = SplitMix(seed: 16)
        let alphabet = Array("aZ9 &<>\"'{}}{{৳০-\n\\/#^!=")
        func text() -> String {
            String((0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
        }
        // Every default is plain.
        #expect(templates.plainTemplates.count == MessageTemplates.names.count)
        for _ in 0..<50 {
            let values = MessageValues(
                bookingId: text(), paymentReference: text(), amount: text(), refundAmount: text(), provider: text(),
                deadline: text())
            for name in MessageTemplates.names {
                let plain = try #require(templates.renderedPlain(name, values))
                #expect(plain == templates.renderedByMustache(name, values), "\(name)")
            }
        }
        // Spaces inside a tag, `{{&…}}`, a lone brace and text after the last value are plain too;
        // anything else is Mustache's.
        let plainSources = ["A {{{ amount }}}, {{&provider}} } { x", "{{{bookingId}}}{{{bookingId}}}", "no tags"]
        let values = Self.values
        for source in plainSources {
            let plain = try #require(PlainTemplate(source), "\(source)")
            let folder = TemporaryDirectory("khata-plain")
            defer { folder.remove() }
            try source.write(toFile: folder.file("cancelled.sms.en.mustache"), atomically: true, encoding: .utf8)
            let mustache = try MessageTemplates(overridesFolder: folder.path)
            #expect(plain.render(values) == mustache.renderedByMustache("cancelled.sms.en", values))
        }
        for source in [
            "{{amount}}", "{{#provider}}x{{/provider}}", "{{! note }}", "{{=<% %>=}}", "{{{amount}}", "{{{nothing}}}",
        ] {
            #expect(PlainTemplate(source) == nil, "\(source)")
        }
        // A folder's template that is not plain still renders, by Mustache (escaping as it does).
        let folder = TemporaryDirectory("khata-escaped")
        defer { folder.remove() }
        try "Booking {{bookingId}} cancelled.".write(
            toFile: folder.file("cancelled.sms.en.mustache"), atomically: true, encoding: .utf8)
        var odd = Self.values
        odd.bookingId = "A&B"
        let escaped = try MessageTemplates(overridesFolder: folder.path)
        #expect(escaped.plainTemplates["cancelled.sms.en"] == nil)
        #expect(escaped.render(.cancelled, .sms, .en, odd).body == "Booking A&amp;B cancelled.")
    }
}
