import Foundation
import TestSupport
import Testing

/// `khata contacts set` and `show`: numbers taken in any usual form and kept in E.164, opting in
/// and out per channel, masked for people and whole in JSON, bad values refused naming them.
@Suite("khata contacts")
struct ContactsCommandTests {
    @Test("set keeps E.164 and the customer's choices; show masks numbers unless --json; bad values refused")
    func contacts() throws {
        let directory = ScratchDirectory()
        defer { directory.remove() }
        let data = ["--data-dir", directory.path]
        let set = try KhataProcess.run(
            [
                "contacts", "set", "CUS-9", "--phone", "017 7000 0618", "--email", "nila@example.com", "--language",
                "en",
                "--preferred-channel", "sms", "--opt-out", "whatsapp", "--json",
            ] + data)
        #expect(set.status == 0, "\(set.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(set.stdout.utf8)) as? [String: Any]
        #expect(
            object?["phone"] as? String == "+8801770000618" && object?["optedOutChannels"] as? [String] == ["whatsapp"])
        #expect(object?["language"] as? String == "en" && object?["preferredChannel"] as? String == "sms")

        let shown = try KhataProcess.run(["contacts", "show", "CUS-9"] + data)
        #expect(
            shown.status == 0 && shown.stdout.contains("+880177****618") && !shown.stdout.contains("+8801770000618"))
        #expect(shown.stdout.contains("opted out  whatsapp"))

        let back = try KhataProcess.run(["contacts", "set", "CUS-9", "--opt-in", "all", "--json"] + data)
        let after = try JSONSerialization.jsonObject(with: Data(back.stdout.utf8)) as? [String: Any]
        #expect(after?["optedOutChannels"] as? [String] == [] && after?["phone"] as? String == "+8801770000618")

        for (arguments, words) in [
            (["--phone", "12345"], "must begin with"), (["--language", "fr"], "bn or en"),
            (["--opt-out", "fax"], "one of sms, whatsapp, email, not fax"),
            (["--email", "nila.example.com"], "not an email"),
        ] {
            let refused = try KhataProcess.run(["contacts", "set", "CUS-9"] + arguments + data)
            #expect(refused.status != 0 && refused.stderr.contains(words), "\(arguments): \(refused.stderr)")
        }
        let missing = try KhataProcess.run(["contacts", "show", "nobody"] + data)
        #expect(missing.status == 1 && missing.stderr.contains("no contact is kept for customer nobody"))
    }
}
