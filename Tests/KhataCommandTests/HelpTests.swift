import Foundation
import TestSupport
import Testing

/// `--help` of every command, read as a newcomer reads it: no stray characters, and prose that
/// flows to the width of the screen instead of breaking mid-sentence.
@Suite("khata --help")
struct HelpTests {
    /// ArgumentParser's layout at this width (set through COLUMNS, so the test's terminal does
    /// not matter): option and subcommand help starts at `helpColumn`.
    static let screenColumns = 80
    static let helpColumn = 26

    /// Commands that `--help` does not list (they exist for crash tests), checked all the same.
    static let hidden: [[String]] = [["debug-append"], ["debug-ledger"]]

    static func help(_ command: [String]) throws -> KhataProcess.Outcome {
        try KhataProcess.run(command + ["--help"], environment: ["COLUMNS": "\(screenColumns)"])
    }

    /// Every command and subcommand, found by following the SUBCOMMANDS sections from the root,
    /// so that a command added later is checked without being named here.
    static func allCommands() throws -> [[String]] {
        var found: [[String]] = []
        var pending: [[String]] = [[]] + hidden
        while !pending.isEmpty {
            let command = pending.removeFirst()
            found.append(command)
            pending += subcommands(in: try help(command).stdout).map { command + [$0] }
        }
        return found
    }

    /// The names in a help text's SUBCOMMANDS section (entries are indented two spaces; their
    /// wrapped abstracts more).
    static func subcommands(in help: String) -> [String] {
        let lines = help.components(separatedBy: "\n")
        guard let start = lines.firstIndex(of: "SUBCOMMANDS:") else { return [] }
        var names: [String] = []
        for line in lines[(start + 1)...] {
            if line.isEmpty { break }
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { continue }
            names.append(String(line.split(separator: " ")[0]))
        }
        return names
    }

    /// Where a line breaks although the next line's first word would have fitted on it: what a
    /// hard line break inside a sentence (a stray `\\` at the end of a literal's line) looks like
    /// once ArgumentParser has wrapped the rest. Only continuations are judged: prose at column
    /// 0 and help text at `helpColumn`.
    static func prematureBreaks(in help: String) -> [String] {
        let lines = help.components(separatedBy: "\n").map(Array.init)
        var found: [String] = []
        for (line, next) in zip(lines, lines.dropFirst()) {
            let indent = next.prefix { $0 == " " }.count
            guard indent == 0 || indent == helpColumn, indent < next.count, indent < line.count else { continue }
            // The line must have text in the same column, starting a word there.
            guard line[indent] != " ", indent == 0 || line[indent - 1] == " " else { continue }
            let nextWord = next[indent...].prefix { $0 != " " }
            // ArgumentParser breaks at the last space within the screen's width, so a word and
            // the space after it that fit would have stayed on the line.
            if line.count + 1 + nextWord.count + 1 <= screenColumns {
                found.append("\"\(String(line))\" breaks before \"\(String(nextWord))\"")
            }
        }
        return found
    }

    @Test("the walk finds every command, hidden ones and nested subcommands included")
    func everyCommand() throws {
        let commands = try Self.allCommands()
        for expected in [
            ["transfer"], ["history"], ["accounts", "create"], ["keys", "revoke"], ["jobs", "history"],
            ["db", "migrate"],
            ["bench", "ledger"], ["bench", "storage"], ["bench", "expiry"], ["bench", "store"], ["debug-ledger"],
        ] {
            #expect(commands.contains(expected), "\(expected) not found in \(commands)")
        }
        #expect(commands.count >= 28, "\(commands)")
    }

    @Test("every command's --help has no backslash, no trailing space and no sentence broken early")
    func clean() throws {
        for command in try Self.allCommands() {
            let name = (["khata"] + command).joined(separator: " ")
            let outcome = try Self.help(command)
            #expect(outcome.status == 0, "\(name) --help: \(outcome.stderr)")
            #expect(outcome.stdout.contains("USAGE: khata"), "\(name) --help:\n\(outcome.stdout)")
            for line in outcome.stdout.components(separatedBy: "\n") {
                #expect(!line.contains("\\"), "\(name) --help: \(line)")
                #expect(!line.hasSuffix(" "), "\(name) --help ends a line in a space: \(line)")
            }
            #expect(Self.prematureBreaks(in: outcome.stdout).isEmpty, "\(name) --help:\n\(outcome.stdout)")
            // The overview's paragraphs (abstract, then discussion) end as sentences.
            let overview = outcome.stdout.components(separatedBy: "\nUSAGE:")[0]
            for paragraph in overview.components(separatedBy: "\n\n") {
                let text = paragraph.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(text.isEmpty || text.hasSuffix("."), "\(name) --help: a paragraph ends \"\(text.suffix(30))\"")
            }
        }
    }

    @Test("the check catches the mistake it is for: a hard break inside a sentence")
    func checkCatchesBreaks() {
        let broken = "OVERVIEW: Amounts are decimal strings, exact to the \\\ncurrency's minor unit.\n"
        #expect(Self.prematureBreaks(in: broken).count == 1)
        let option = String(repeating: " ", count: Self.helpColumn)
        let wrapped =
            "  --id <id>" + String(repeating: " ", count: Self.helpColumn - 11) + "The id\n" + option + "in decimal.\n"
        #expect(Self.prematureBreaks(in: wrapped).count == 1)
    }
}
