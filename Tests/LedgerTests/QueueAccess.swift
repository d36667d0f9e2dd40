@testable import Ledger

final class Box: Sendable {
    let value: Int
    init(_ value: Int) { self.value = value }
}

/// The engine's queue, reached through @testable import for its own tests.
typealias TestQueue = SubmissionQueue<Box>
