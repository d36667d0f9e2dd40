import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

/// Runs the `khata` binary built beside the test bundle as a real child process.
enum KhataProcess {
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["KHATA_BINARY"] { return path }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "khata"
        ).path
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs to completion and collects both outputs.
    static func run(_ arguments: [String], environment: [String: String] = [:], prefix: [String] = []) throws -> Outcome
    {
        let process = Process()
        if prefix.isEmpty {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: prefix[0])
            process.arguments = Array(prefix.dropFirst()) + [binary] + arguments
        }
        var merged = ProcessInfo.processInfo.environment
        for key in merged.keys where key.hasPrefix("KHATA_") { merged.removeValue(forKey: key) }
        merged.merge(environment) { _, new in new }
        process.environment = merged
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a full pipe cannot block the child.
        let errData = Mutex<Data>(Data())
        let readers = DispatchGroup()
        let errHandle = err.fileHandleForReading
        DispatchQueue.global().async(group: readers) {
            let data = errHandle.readDataToEndOfFile()
            errData.withLock { $0 = data }
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        readers.wait()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
    }
}

/// A child process whose standard output is read line by line while it runs.
// @unchecked: a test uses its reader from one task at a time, and hands it to another thread
// (`offThePool`) only while it awaits that thread.
final class LineReader: @unchecked Sendable {
    let process = Process()
    private let handle: FileHandle
    private var buffer = Data()

    /// Starts `khata` with `arguments`, reading its standard output (or, with `standardError`,
    /// its standard error, where logs go) while the other is discarded. With `environment`, the
    /// child gets those `KHATA_*` variables instead of the test's.
    init(_ arguments: [String], standardError: Bool = false, environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: KhataProcess.binary)
        process.arguments = arguments
        if let environment {
            var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("KHATA_") }
            merged.merge(environment) { _, new in new }
            process.environment = merged
        }
        let pipe = Pipe()
        if standardError {
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
        } else {
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
        }
        handle = pipe.fileHandleForReading
        try process.run()
    }

    /// The next line, or nil at end of output.
    func nextLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

typealias ScratchDirectory = TemporaryDirectory

/// The body `khata debug-append` writes for a sequence number, computed independently here.
func expectedDebugBody(_ sequence: UInt64) -> [UInt8] {
    (0..<14).flatMap { word in
        withUnsafeBytes(of: (sequence &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(word)).littleEndian, Array.init)
    }
}

