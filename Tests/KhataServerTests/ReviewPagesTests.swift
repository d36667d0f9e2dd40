import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Reconciliation
import TestSupport
import Testing

@testable import KhataServer

/// The review pages over HTTP, as a browser and as a hostile client reach them: signing in and
/// the session cookie, CSRF, scopes, the pages' content escaped, filters and pages, refused
/// queries and forms, and the review forms' outcomes.
@Suite("Review pages")
struct ReviewPagesTests {
    /// One answer of the pages.
    struct Page {
        let status: HTTPResponse.Status
        let headers: HTTPFields
        let text: String

        var location: String? { headers[.location] }
        var cookies: [String] { headers[values: .setCookie] }
        /// The CSRF token the page's forms carry.
        var csrf: String? {
            guard let range = text.range(of: #"name="csrf" value="[0-9a-f]{64}""#, options: .regularExpression) else {
                return nil
            }
            return String(text[range].dropLast().suffix(64))
        }
    }

    /// A request to the pages: no API key, the given cookie, an optional form body.
    static func request(
        _ server: TestServer, _ uri: String, method: HTTPRequest.Method = .get, cookie: String? = nil,
        form: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Page {
        var headers = extra
        headers[.authorization] = ""
        if let cookie { headers[.cookie] = cookie }
        if form != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        return try await server.client.execute(
            uri: uri, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }
        ) { response in
            Page(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    /// Signs in with `key`; answers the session cookie (`khata_session=…`) and its CSRF token.
    static func signIn(_ server: TestServer, key: String, next: String = "/ui/runs") async throws
        -> (cookie: String, csrf: String)
    {
        let form = try await request(server, "/ui/sign-in")
        let token = try #require(form.csrf)
        let signedIn = try await request(
            server, "/ui/sign-in", method: .post, cookie: "khata_signin=\(token)",
            form: "csrf=\(token)&next=\(next)&key=\(key)")
        #expect(signedIn.status == .seeOther && signedIn.location == next, "\(signedIn.status) \(signedIn.text)")
        let cookie = try #require(signedIn.cookies.first { $0.hasPrefix("khata_session=") })
        let session = String(cookie.prefix { $0 != ";" })
        let page = try await request(server, "/ui/runs", cookie: session)
        return (session, try #require(page.csrf))
    }

    @Test("signing in: a key becomes a session cookie; stale forms, wrong keys and post-only keys are refused")
    func signingIn() async throws {
        try await TestServer.with { server in
            // Not signed in: sent to sign in, with the way back.
            let away = try await Self.request(server, "/ui/runs/7/mismatches?state=open")
            #expect(
                away.status == .seeOther && away.location == "/ui/sign-in?next=/ui/runs/7/mismatches%3Fstate%3Dopen")
            #expect(try await Self.request(server, "/ui").location == "/ui/runs")

            let form = try await Self.request(server, "/ui/sign-in")
            let token = try #require(form.csrf)
            let signInCookie = try #require(form.cookies.first)
            #expect(signInCookie == "khata_signin=\(token); Path=/ui/sign-in; Max-Age=1800; HttpOnly; SameSite=Strict")
            #expect(form.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)

            let (finance, info) = try await server.keys.create(name: "Rahim <Finance>", scopes: [.finance])
            let (poster, _) = try await server.keys.create(name: "poster", scopes: [.post])
            // Without the sign-in cookie (a form from elsewhere): refused, no session.
            let forged = try await Self.request(
                server, "/ui/sign-in", method: .post, form: "csrf=\(token)&key=\(finance)")
            #expect(forged.status == .forbidden && !forged.cookies.contains { $0.hasPrefix("khata_session=k") })
            let cookie = "khata_signin=\(token)"
            let wrong = try await Self.request(
                server, "/ui/sign-in", method: .post, cookie: cookie, form: "csrf=\(token)&key=khata_nope")
            #expect(wrong.status == .unauthorized && wrong.text.contains("not known or was revoked"))
            let postOnly = try await Self.request(
                server, "/ui/sign-in", method: .post, cookie: cookie, form: "csrf=\(token)&key=\(poster)")
            #expect(postOnly.status == .forbidden && postOnly.text.contains("may only post"))
            // Another site as the place to go afterwards is ignored.
            let elsewhere = try await Self.request(
                server, "/ui/sign-in", method: .post, cookie: cookie,
                form: "csrf=\(token)&key=\(finance)&next=%2F%2Fevil.example%2Fui%2F")
            #expect(elsewhere.status == .seeOther && elsewhere.location == "/ui/runs")
            let session = try #require(elsewhere.cookies.first { $0.hasPrefix("khata_session=") })
            #expect(
                session.range(
                    of: #"^khata_session=[0-9a-f]{64}; Path=/ui; Max-Age=28800; HttpOnly; SameSite=Strict$"#,
                    options: .regularExpression) != nil)

            let (sessionCookie, _) = try await Self.signIn(server, key: finance)
            let runs = try await Self.request(server, "/ui/runs", cookie: sessionCookie)
            #expect(
                runs.status == .ok && runs.text.contains("Rahim &lt;Finance&gt;") && !runs.text.contains("<Finance>"))
            #expect(runs.headers[.cacheControl] == "no-store" && runs.headers[.xContentTypeOptions] == "nosniff")
            #expect(runs.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(info.scopes == [.finance])
        }
    }

    @Test("the session cookie is Secure behind a configured proxy that says https, and only then")
    func secureCookies() async throws {
        try await TestServer.with(trustedProxies: ["127.0.0.1"]) { server in
            let (key, _) = try await server.keys.create(name: "reader", scopes: [.read])
            let https: HTTPFields = [HTTPField.Name("X-Forwarded-Proto")!: "https"]
            let form = try await Self.request(server, "/ui/sign-in", headers: https)
            #expect(form.cookies.first?.hasSuffix("; Secure") == true)
            let token = try #require(form.csrf)
            let signedIn = try await Self.request(
                server, "/ui/sign-in", method: .post, cookie: "khata_signin=\(token)", form: "csrf=\(token)&key=\(key)",
                headers: https)
            #expect(signedIn.cookies.allSatisfy { $0.hasSuffix("; Secure") } && signedIn.cookies.count == 2)
            #expect(try await Self.request(server, "/ui/sign-in").cookies.first?.contains("Secure") == false)
        }
        // Any peer's header is not believed when no proxy is configured.
        try await TestServer.with { server in
            let https: HTTPFields = [HTTPField.Name("X-Forwarded-Proto")!: "https"]
            let form = try await Self.request(server, "/ui/sign-in", headers: https)
            #expect(form.cookies.first?.contains("Secure") == false)
        }
    }

    @Test(
        "a session ends when it expires, when its key is revoked, and on signing out with its token",
        arguments: Backend.available)
    func sessionsEnd(_ backend: Backend) async throws {
        let scratch = try backend.scratch()
        defer { scratch.remove() }
        let database = try scratch.open()
        try await TestServer.with(jobDatabase: database, reviewSessionSeconds: 600) { server in
            let (key, info) = try await server.keys.create(name: "Nasrin", scopes: [.read])
            // Expiry, on the server's clock.
            let (expiring, _) = try await Self.signIn(server, key: key)
            server.clock.advance(seconds: 599)
            #expect(try await Self.request(server, "/ui/runs", cookie: expiring).status == .ok)
            server.clock.advance(seconds: 2)
            #expect(
                try await Self.request(server, "/ui/runs", cookie: expiring).location?.hasPrefix("/ui/sign-in") == true)

            // Signing out needs the session's own token; then the session is gone.
            let (session, csrf) = try await Self.signIn(server, key: key)
            let forged = try await Self.request(server, "/ui/sign-out", method: .post, cookie: session, form: "csrf=0")
            #expect(forged.status == .forbidden)
            #expect(try await Self.request(server, "/ui/runs", cookie: session).status == .ok)
            let out = try await Self.request(
                server, "/ui/sign-out", method: .post, cookie: session, form: "csrf=\(csrf)")
            #expect(out.status == .seeOther && out.location == "/ui/sign-in")
            #expect(out.cookies.first?.hasPrefix("khata_session=; Path=/ui; Max-Age=0") == true)
            #expect(try await Self.request(server, "/ui/runs", cookie: session).status == .seeOther)

            // Revoking the key ends every session of it at once.
            let (first, _) = try await Self.signIn(server, key: key)
            let (second, _) = try await Self.signIn(server, key: key)
            #expect(try await server.keys.revoke(id: info.id))
            for cookie in [first, second] {
                #expect(try await Self.request(server, "/ui/runs", cookie: cookie).status == .seeOther)
            }
            // A cookie that is not a session's shape is no session.
            #expect(try await Self.request(server, "/ui/runs", cookie: "khata_session=../../x").status == .seeOther)
        }
    }
}
