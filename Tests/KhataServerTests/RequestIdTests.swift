import Foundation
import Testing

@testable import KhataServer

@Suite("Request ids")
struct RequestIdTests {
    @Test("new correlation ids are UUID-shaped and do not repeat")
    func unique() {
        let ids = (0..<50_000).map { _ in RequestIds.shared.next() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { UUID(uuidString: $0) != nil && $0.count == 36 })
    }
}
