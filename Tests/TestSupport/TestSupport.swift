import Foundation
import PropertyBased

/// SplitMix64: a small, fast generator seeded so that every test run makes the same choices. It
/// drives the PropertyBased generators, so a failing case is reproduced by its printed seed.
public struct SplitMix: SeededRandomNumberGenerator {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }
    public init() { state = 0x5EED }

    public var currentSeed: UInt64 { state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "khata-test") {
        var bytes = Array((NSTemporaryDirectory() + "\(label)-XXXXXX").utf8CString)
        // Safe: mkdtemp fails only when the temporary directory is unusable, and then no test can run.
        let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = String(cString: bytes)
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }
}
