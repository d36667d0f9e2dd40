import Foundation
import HTTPTypes
import Hummingbird
import JobStore
import KhataCrypto
import LedgerCore
import NIOCore
import Reconciliation
import ReviewPages

/// `/ui/`: the finance team's review in a browser. Server-rendered pages over the same store and
/// reviewer as the API, signed in with an API key that becomes a session cookie; every form
/// carries the session's CSRF token; the key's scope decides what a page offers.
struct ReviewUIController: Sendable {
    let database: JobDatabase
    let reviewer: MismatchReviewer
    let ledger: ServedLedger
    let keys: APIKeys
    let sessions: ReviewSessions
    let pages: ReviewPages
    let now: @Sendable () -> UInt64
    let sessionSeconds: Int
    /// True when the server itself speaks TLS: its cookies are then always `Secure`.
    let servesTLS: Bool
    /// The proxies (IP addresses) whose `X-Forwarded-Proto: https` is believed.
    let trustedProxies: Set<String>

    /// Mismatches per page of the mismatches page.
    let pageSize: Int

    static let sessionCookie = "khata_session"
    static let signInCookie = "khata_signin"

    /// The paths the pages answer, for the router's 404 and 405 answers.
    static let templates: [(HTTPRequest.Method, String)] = [
        (.get, "/ui"), (.get, "/ui/assets/review.css"), (.get, "/ui/sign-in"), (.post, "/ui/sign-in"),
        (.post, "/ui/sign-out"), (.get, "/ui/runs"), (.get, "/ui/runs/{id}"), (.get, "/ui/runs/{id}/mismatches"),
        (.get, "/ui/runs/{id}/report.html"), (.get, "/ui/runs/{id}/report.csv"), (.get, "/ui/runs/{id}/report.json"),
        (.get, "/ui/mismatches/{id}"), (.post, "/ui/mismatches/{id}/acknowledge"),
        (.post, "/ui/mismatches/{id}/resolve"), (.post, "/ui/mismatches/{id}/reopen"), (.get, "/ui/search"),
        (.get, "/ui/notifications"), (.post, "/ui/notifications/{id}/retry"),
    ]

    func mount(on router: Router<KhataRequestContext>) {
        // `/ui` and `/ui/` are one path to the router.
        router.get("/ui") { _, _ in Self.redirect("/ui/runs") }
        router.get("/ui/assets/review.css") { _, _ in Self.stylesheet() }
        router.get("/ui/sign-in") { request, context in signInForm(request, context, flash: nil, status: .ok) }
        router.post("/ui/sign-in") { request, context in await signIn(request, context) }
        router.post("/ui/sign-out") { request, context in await signOut(request, context) }
        router.get("/ui/runs") { request, context in
            await page(request, context) { viewer, _ in try await runs(request, viewer) }
        }
        router.get("/ui/runs/{id}") { request, context in
            await page(request, context) { viewer, _ in try await run(try Self.id(context, "run"), viewer) }
        }
        router.get("/ui/runs/{id}/mismatches") { request, context in
            await page(request, context) { viewer, _ in
                try await mismatches(run: try Self.id(context, "run"), request, viewer)
            }
        }
        for format in ["html", "csv", "json"] {
            router.get("/ui/runs/{id}/report.\(format)") { request, context in
                await page(request, context) { _, _ in try await report(try Self.id(context, "run"), format: format) }
            }
        }
        router.get("/ui/mismatches/{id}") { request, context in
            await page(request, context) { viewer, _ in
                let done = try WebForm.query(request).nonEmpty("done")
                return try await mismatch(
                    try Self.id(context, "mismatch"), viewer, flash: done.flatMap(Self.doneFlash), status: .ok)
            }
        }
        for (action, next) in [
            ("acknowledge", MismatchState.acknowledged), ("resolve", .resolved), ("reopen", .open),
        ] {
            router.post("/ui/mismatches/{id}/\(action)") { request, context in
                await page(request, context, change: true) { viewer, session in
                    try await review(
                        try Self.id(context, "mismatch"), action: action, next: next, request, viewer, session)
                }
            }
        }
        router.get("/ui/search") { request, context in
            await page(request, context) { viewer, _ in try await search(request, viewer) }
        }
        router.get("/ui/notifications") { request, context in
            await page(request, context) { viewer, _ in try await notifications(request, viewer) }
        }
        router.post("/ui/notifications/{id}/retry") { request, context in
            await page(request, context, change: true) { viewer, session in
                try await retryNotification(try Self.id(context, "message"), request, viewer, session)
            }
        }
        // Anything else under /ui/ is a page that does not exist, said as a page.
        router.get("/ui/**") { request, context in
            await page(request, context) { viewer, _ in
                Self.html(
                    pages.error(
                        heading: "No such page", message: "Nothing is at \(request.uri.path).", viewer: viewer),
                    status: .notFound)
            }
        }
    }

    // MARK: Sessions

    /// Runs `body` for a signed-in viewer, or sends the browser to sign in. A key that may not
    /// look (scope `post` only) is refused; a `change` needs the finance scope and the session's
    /// CSRF token. Errors become pages with their status, never a stack of JSON.
    func page(
        _ request: Request, _ context: KhataRequestContext, change: Bool = false,
        _ body: (Viewer, ReviewSession) async throws -> Response
    ) async -> Response {
        do {
            guard let token = WebCookies.value(Self.sessionCookie, in: request),
                let session = try await sessions.session(token: token, nowNanoseconds: now())
            else {
                if change {
                    return Self.html(
                        pages.error(
                            heading: "Signed out",
                            message: "Your session has ended (it expired, you signed out, or its key was revoked). "
                                + "Nothing was changed. Sign in again and repeat the change.",
                            viewer: nil, link: "/ui/sign-in", linkText: "Sign in"),
                        status: .unauthorized)
                }
                let next = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
                return Self.redirect("/ui/sign-in" + (next == "/ui/runs" ? "" : queryString([("next", next)])))
            }
            let key = session.key
            let viewer = Viewer(
                name: key.name.isEmpty ? key.id : key.name,
                scopes: key.scopes.sorted().map(\.rawValue).joined(separator: ", "),
                csrf: session.csrfToken, canReview: key.allows(.finance), isAdmin: key.allows(.admin))
            guard key.allows(.read) || key.allows(.finance) else {
                return Self.html(
                    pages.error(
                        heading: "Not allowed",
                        message: "The key \(key.id) may only post; the review needs read, finance or admin.",
                        viewer: viewer, link: "/ui/sign-in", linkText: "Sign in with another key"),
                    status: .forbidden)
            }
            if change {
                guard viewer.canReview else {
                    return Self.html(
                        pages.error(
                            heading: "Not allowed",
                            message: "Changing a mismatch needs a key with the finance scope; nothing was changed.",
                            viewer: viewer),
                        status: .forbidden)
                }
            }
            do {
                return try await body(viewer, session)
            } catch let error as WebFormError {
                return Self.html(
                    pages.error(heading: "Bad request", message: error.message, viewer: viewer), status: .badRequest)
            } catch let problem as Problem {
                return Self.html(
                    pages.error(heading: problem.title, message: problem.detail, viewer: viewer), status: problem.status
                )
            }
        } catch let error as DatabaseError {
            return Self.html(
                pages.error(
                    heading: "Store unavailable",
                    message: "The job store failed (\(error.code)). Nothing was changed; try again shortly.",
                    viewer: nil),
                status: .serviceUnavailable)
        } catch {
            return Self.html(
                pages.error(
                    heading: "Something went wrong",
                    message: "The page could not be made (\(error)). Nothing was changed.", viewer: nil),
                status: .internalServerError)
        }
    }

    /// The sign-in page, with a fresh sign-in CSRF token in a short-lived cookie of its own.
    func signInForm(_ request: Request, _ context: KhataRequestContext, flash: Flash?, status: HTTPResponse.Status)
        -> Response
    {
        let token = Crypto.hex(Crypto.randomBytes(32))
        let next = (try? WebForm.query(request).nonEmpty("next")).flatMap(Self.safeNext) ?? "/ui/runs"
        var response = Self.html(pages.signIn(csrf: token, next: next, flash: flash), status: status)
        response.headers[.setCookie] = WebCookies.setCookie(
            Self.signInCookie, token, path: "/ui/sign-in", maxAgeSeconds: 1_800, secure: secure(request, context))
        return response
    }

    func signIn(_ request: Request, _ context: KhataRequestContext) async -> Response {
        let form: WebForm
        do {
            form = try await WebForm.read(request)
        } catch {
            return signInForm(request, context, flash: .error(Self.message(error)), status: .badRequest)
        }
        guard let sent = form["csrf"], let expected = WebCookies.value(Self.signInCookie, in: request),
            sent.utf8.count == 64, Crypto.constantTimeEqual(Array(sent.utf8), Array(expected.utf8))
        else {
            return signInForm(
                request, context,
                flash: .error("The sign-in form had expired or did not come from this site; try again."),
                status: .forbidden)
        }
        let key: APIKeyInfo?
        do {
            key = try await keys.verify((form["key"] ?? "").trimmingCharacters(in: .whitespaces))
        } catch {
            return signInForm(
                request, context, flash: .error("The job store could not be read; try again."),
                status: .serviceUnavailable)
        }
        guard let key else {
            return signInForm(
                request, context, flash: .error("That API key is not known or was revoked."), status: .unauthorized)
        }
        guard key.allows(.read) || key.allows(.finance) else {
            return signInForm(
                request, context,
                flash: .error("The key \(key.id) may only post; the review needs read, finance or admin."),
                status: .forbidden)
        }
        do {
            let (token, _) = try await sessions.start(key: key, lifetimeSeconds: sessionSeconds, nowNanoseconds: now())
            var response = Self.redirect(form.nonEmpty("next").flatMap(Self.safeNext) ?? "/ui/runs")
            let secure = secure(request, context)
            response.headers[values: .setCookie] = [
                WebCookies.setCookie(
                    Self.sessionCookie, token, path: "/ui", maxAgeSeconds: sessionSeconds, secure: secure),
                WebCookies.setCookie(Self.signInCookie, "", path: "/ui/sign-in", maxAgeSeconds: 0, secure: secure),
            ]
            return response
        } catch {
            return signInForm(
                request, context, flash: .error("The job store could not be written; try again."),
                status: .serviceUnavailable)
        }
    }

    func signOut(_ request: Request, _ context: KhataRequestContext) async -> Response {
        var response = Self.redirect("/ui/sign-in")
        response.headers[.setCookie] = WebCookies.setCookie(
            Self.sessionCookie, "", path: "/ui", maxAgeSeconds: 0, secure: secure(request, context))
        guard let token = WebCookies.value(Self.sessionCookie, in: request),
            let session = try? await sessions.session(token: token, nowNanoseconds: now())
        else { return response }
        guard let form = try? await WebForm.read(request), Self.csrfMatches(form, session) else {
            return Self.html(
                pages.error(heading: "Not signed out", message: "The form did not come from this site.", viewer: nil),
                status: .forbidden)
        }
        _ = try? await sessions.end(token: token, nowNanoseconds: now())
        return response
    }

    /// Whether the browser reached us over TLS: the server's own, or a configured proxy's
    /// `X-Forwarded-Proto: https` (anyone else's header is ignored).
    func secure(_ request: Request, _ context: KhataRequestContext) -> Bool {
        if servesTLS { return true }
        guard let address = context.remoteAddress?.ipAddress, trustedProxies.contains(address) else { return false }
        return request.headers[.init("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    static func csrfMatches(_ form: WebForm, _ session: ReviewSession) -> Bool {
        guard let sent = form["csrf"], sent.utf8.count == session.csrfToken.utf8.count else { return false }
        return Crypto.constantTimeEqual(Array(sent.utf8), Array(session.csrfToken.utf8))
    }

    /// A place to go after signing in: a path of these pages only, never another site.
    static func safeNext(_ next: String) -> String? {
        guard next.hasPrefix("/ui/"), !next.contains("//"), !next.contains("\\"), next.utf8.count <= 512,
            next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { return nil }
        return next
    }
}
