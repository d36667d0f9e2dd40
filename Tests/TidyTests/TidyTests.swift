import Foundation
import Testing

/// Keeps the house in order cheaply: the rules of ../shared/STYLE.md that a machine can check.
@Suite("Tidy")
struct TidyTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let folders = ["Sources", "Tests", "Benchmarks", "Jobs", "scripts"]
    static let maximumLineColumns = 120
    static let maximumFileLines = 600

    /// Every source file we wrote (Swift, C, shell), skipping golden binary files.
    static func sourceFiles() -> [String] {
        var files: [String] = []
        for folder in folders {
            let base = root.appendingPathComponent(folder).path
            guard let walker = FileManager.default.enumerator(atPath: base) else { continue }
            while let relative = walker.nextObject() as? String {
                if [".swift", ".c", ".h", ".sh", ".modulemap"].contains(where: relative.hasSuffix) {
                    files.append(base + "/" + relative)
                }
            }
        }
        return files.sorted()
    }

    @Test("source files keep to 120 columns, no trailing spaces, no bare to-do, at most 600 lines")
    func tidy() throws {
        let files = Self.sourceFiles()
        #expect(files.count > 20, "found only \(files.count) files under \(Self.root.path)")
        for path in files {
            let name = path.replacingOccurrences(of: Self.root.path + "/", with: "")
            let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
            #expect(lines.count <= Self.maximumFileLines, "\(name) has \(lines.count) lines; split it")
            for (index, line) in lines.enumerated() {
                let location = "\(name):\(index + 1)"
                #expect(line.count <= Self.maximumLineColumns, "\(location) is \(line.count) columns")
                #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"), "\(location) ends in white space")
                let marker = "TO" + "DO"  // spelled apart so this file does not match itself
                if line.contains(marker) {
                    #expect(line.contains(marker + "(issue"), "\(location): name the issue: \(marker)(issue N)")
                }
            }
        }
    }
}
