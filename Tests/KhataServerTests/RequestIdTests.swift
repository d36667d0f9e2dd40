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

@Suite("Authorization header")
struct BearerTokenTests {
    @Test("Bearer TOKEN in any case, spaces around the token ignored; anything else is no token")
    func parse() {
        #expect(Authenticator.bearerToken("Bearer abc") == "abc")
        #expect(Authenticator.bearerToken("bearer   abc  ") == "abc")
        #expect(Authenticator.bearerToken("BEARER abc def") == "abc def")
        for header in ["", "Bearer", "Bearer ", "Bearer    ", "Basic abc", "Bearerabc", "Token abc"] {
            #expect(Authenticator.bearerToken(header) == nil, "\(header)")
        }
    }
}
