import Hummingbird
import JobStore
import ReviewPages

/// `/ui/notifications`: customers' messages for `admin` keys, and retrying a dead letter.
extension ReviewUIController {
    func notifications(_ request: Request, _ viewer: Viewer) async throws -> Response {
        guard viewer.isAdmin else { return notAdmin(viewer) }
        let query = try WebForm.query(request)
        var state = DeliveryState.dead
        if let text = query.nonEmpty("state") {
            guard let chosen = DeliveryState(rawValue: text) else {
                let states = DeliveryState.allCases.map(\.rawValue).joined(separator: ", ")
                throw WebFormError("\(WebForm.echo(text)) is not a state (\(states))")
            }
            state = chosen
        }
        let before = try query.nonEmpty("before").map { try Self.number($0, "before") }
        let queue = JobStore.NotificationQueue(database: database)
        let page = try await queue.deliveries(state: state, customerId: nil, before: before, limit: pageSize + 1)
        let shown = Array(page.prefix(pageSize))
        let older =
            page.count > pageSize
            ? shown.last.map {
                "/ui/notifications" + queryString([("state", state.rawValue), ("before", String($0.id))])
            }
            : nil
        let deadEvents = state == .dead ? try await NotificationEvents(database: database).dead(limit: pageSize) : []
        let flash: Flash? =
            query.nonEmpty("done") == "retry" ? .done("Due again; it is sent on the next dispatch.") : nil
        return Self.html(
            pages.notifications(
                counts: try await queue.countsByState(), state: state, messages: shown, deadEvents: deadEvents,
                olderLink: older, viewer: viewer, flash: flash))
    }

    func retryNotification(_ id: Int64, _ request: Request, _ viewer: Viewer, _ session: ReviewSession) async throws
        -> Response
    {
        guard viewer.isAdmin else { return notAdmin(viewer) }
        guard let form = try? await WebForm.read(request), Self.csrfMatches(form, session) else {
            return Self.html(
                pages.error(
                    heading: "Form expired",
                    message: "The form did not carry this session's token; nothing was changed. Open the page again.",
                    viewer: viewer, link: "/ui/notifications", linkText: "Back to the messages"),
                status: .forbidden)
        }
        let queue = JobStore.NotificationQueue(database: database)
        guard let delivery = try await queue.delivery(id: id) else {
            throw Problem.notFound("notification", "There is no message \(id).")
        }
        guard try await queue.requeue(id: id, at: now()) else {
            return Self.html(
                pages.error(
                    heading: "Not retried",
                    message:
                        "Message \(id) is \(delivery.state.rawValue); only a dead or failed message is sent again.",
                    viewer: viewer, link: "/ui/notifications", linkText: "Back to the messages"),
                status: .conflict)
        }
        return Self.redirect("/ui/notifications?state=dead&done=retry")
    }

    private func notAdmin(_ viewer: Viewer) -> Response {
        Self.html(
            pages.error(
                heading: "Not allowed", message: "Customers' messages need a key with the admin scope.",
                viewer: viewer),
            status: .forbidden)
    }
}
