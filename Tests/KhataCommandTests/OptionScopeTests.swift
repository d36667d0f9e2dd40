import Foundation
import TestSupport
import Testing

/// An option a command would ignore is not offered: only the commands that use the job store take
/// `--database-url`.
@Suite("Options a command uses")
struct OptionScopeTests {
    @Test(
        "--database-url is offered exactly by the commands that use the job store",
        arguments: [
            (["transfer"], false), (["accounts", "show"], false), (["accounts", "create"], false), (["history"], false),
            (["check"], false), (["expire"], false), (["serve"], true), (["worker"], true), (["keys", "create"], true),
            (["jobs", "list"], true), (["db", "migrate"], true), (["settlements", "import"], true),
            (["settlements", "list"], true), (["contacts", "show"], true), (["contacts", "set"], true),
        ])
    func databaseURL(command: [String], offered: Bool) throws {
        let help = try KhataProcess.run(command + ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--database-url") == offered, "\(command)")
        if !offered {
            // With the command's required arguments, so that the unknown option is what is refused.
            let required = ["accounts create": ["--key", "x"], "accounts show": ["x"], "history": ["x"]]
            let refused = try KhataProcess.run(
                command + (required[command.joined(separator: " ")] ?? [])
                    + ["--database-url", "postgresql://x@127.0.0.1:1/none"])
            #expect(refused.status != 0 && refused.stderr.contains("Unknown option"), "\(command): \(refused.stderr)")
        }
    }
}
