import JobStore

/// The customers' messages page: how many are in each state, the messages of one state newest
/// first, and a retry form on each dead letter. For `admin` keys only (the server checks).
enum NotificationTemplates {
    /// Its context is a `NotificationsPage`.
    static let notifications = """
        {{#chrome}}{{> top}}{{/chrome}}
        <h1>Customers' messages</h1>
        <p class="hint">Made from what happened to reservations in the ledger and sent through each
        channel's transport. A dead letter was given up after its attempts (or refused for good); it
        is sent again, with the same idempotency key, only when someone retries it.</p>
        <ul class="states panel">
        {{#states}}<li><a href="/ui/notifications?state={{value}}"{{#selected}} aria-current="page"{{/selected}}>
        {{label}}</a> <span class="num">{{count}}</span></li>
        {{/states}}
        </ul>
        {{^hasMessages}}<p class="panel">No message is {{stateLabel}}.</p>{{/hasMessages}}
        {{#hasMessages}}
        <div class="table-wrap"><table>
        <thead><tr><th>Message</th><th>Event</th><th>Channel</th><th>To</th><th class="num">Attempts</th>
        <th class="hide-narrow">Next attempt</th><th>Last error</th><th></th></tr></thead>
        <tbody>
        {{#messages}}<tr><td><code>{{key}}</code></td><td>{{event}}</td><td>{{channel}}</td><td>{{recipient}}</td>
        <td class="num">{{attempts}}</td><td class="hide-narrow">{{nextAttempt}}</td><td>{{lastError}}</td>
        <td>{{#retryable}}<form method="post" action="/ui/notifications/{{id}}/retry">
        <input type="hidden" name="csrf" value="{{csrf}}"><button class="secondary">Retry</button>
        </form>{{/retryable}}</td>
        </tr>
        {{/messages}}
        </tbody></table></div>
        {{/hasMessages}}
        <p class="pager">{{#olderLink}}<a href="{{olderLink}}">Older messages →</a>{{/olderLink}}</p>
        {{#hasDeadEvents}}
        <h2>Events that never became messages</h2>
        <div class="table-wrap"><table>
        <thead><tr><th>Event</th><th>Why</th></tr></thead>
        <tbody>
        {{#deadEvents}}<tr><td><code>{{key}}</code></td><td>{{reason}}</td></tr>
        {{/deadEvents}}
        </tbody></table></div>
        {{/hasDeadEvents}}
        {{> bottom}}
        """
}

/// The context of the `notifications` template.
struct NotificationsPage {
    struct State {
        var value: String
        var label: String
        var count: String
        var selected: Bool
    }

    struct Message {
        var id: String
        var key: String
        var event: String
        var channel: String
        var recipient: String
        var attempts: String
        var nextAttempt: String
        var lastError: String
        var retryable: Bool
        var csrf: String
    }

    struct DeadEvent {
        var key: String
        var reason: String
    }

    var chrome: Chrome
    var states: [State]
    var stateLabel: String
    var messages: [Message]
    var hasMessages: Bool
    var olderLink: String?
    var deadEvents: [DeadEvent]
    var hasDeadEvents: Bool
}

extension ReviewPages {
    /// The messages page: `counts` by state, `messages` (of `state`, newest first), the link to
    /// older ones, and the events given up (shown with the dead letters).
    public func notifications(
        counts: [DeliveryState: Int], state: DeliveryState, messages: [NotificationDelivery],
        deadEvents: [StoredNotificationEvent], olderLink: String?, viewer: Viewer, flash: Flash? = nil
    ) -> String {
        let states = DeliveryState.allCases.map { each in
            NotificationsPage.State(
                value: each.rawValue, label: Display.sentence(each.rawValue),
                count: Display.count(counts[each] ?? 0), selected: each == state)
        }
        let rows = messages.map { delivery in
            let message = delivery.message
            return NotificationsPage.Message(
                id: String(delivery.id), key: message.idempotencyKey, event: Display.sentence(message.event),
                channel: message.channel.rawValue,
                recipient: message.shownRecipient,
                attempts: String(delivery.attemptCount),
                nextAttempt: delivery.state == .pending ? Display.dhaka(delivery.nextAttemptAt) : "",
                lastError: delivery.lastError ?? "", retryable: delivery.state == .dead || delivery.state == .failed,
                csrf: viewer.csrf)
        }
        let dead =
            state == .dead
            ? deadEvents.map { NotificationsPage.DeadEvent(key: $0.event.key, reason: $0.reason ?? "") } : []
        return render(
            NotificationsPage(
                chrome: Chrome(title: "Messages", viewer: viewer, flash: flash), states: states,
                stateLabel: state.rawValue, messages: rows, hasMessages: !rows.isEmpty, olderLink: olderLink,
                deadEvents: dead, hasDeadEvents: !dead.isEmpty), "notifications")
    }
}
