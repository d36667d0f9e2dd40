/// The templates every page shares, and the small pages: signing in, errors, the runs list.
/// Mustache escapes every `{{value}}` for HTML (`<`, `>`, `&`, `"`, `'`); the pages use no
/// triple mustache for anything a store or a request supplied.
enum LayoutTemplates {
    /// The top of every page; its context is a `Chrome`.
    static let top = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{{title}} · Khata review</title>
        {{#inline}}<style>{{{stylesheet}}}</style>{{/inline}}
        {{^inline}}<link rel="stylesheet" href="/ui/assets/review.css">{{/inline}}
        </head>
        <body>
        <header class="bar">
        <a class="brand" href="/ui/runs">Khata · reconciliation review</a>
        {{#viewer}}
        <nav>
        <a href="/ui/runs">Runs</a>
        {{#isAdmin}}<a href="/ui/notifications">Notifications</a>{{/isAdmin}}
        <form class="search" method="get" action="/ui/search" role="search">
        <label class="visually-hidden" for="q">Search</label>
        <input id="q" name="q" type="search" maxlength="128" value="{{query}}"
         placeholder="Payment reference or provider transaction">
        <button class="secondary">Search</button>
        </form>
        <span class="who">{{name}} · {{scopes}}</span>
        <form method="post" action="/ui/sign-out">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button class="link">Sign out</button>
        </form>
        </nav>
        {{/viewer}}
        </header>
        <main>
        {{#flash}}<p class="flash {{kind}}" role="{{role}}">{{text}}</p>{{/flash}}

        """

    /// The bottom of every page.
    static let bottom = """
        </main>
        <footer>Times are Asia/Dhaka (UTC+06:00). Amounts in major units with the currency's scale.</footer>
        </body>
        </html>

        """

    /// The sign-in form; its context is a `SignInPage`.
    static let signIn = """
        {{#chrome}}{{> top}}{{/chrome}}
        <h1>Sign in</h1>
        <div class="panel">
        <p>Sign in with an API key. A key with the <code>read</code> scope can look at the runs and their
        mismatches; one with <code>finance</code> (or <code>admin</code>) can also acknowledge, resolve and
        reopen them. An operator creates one with
        <code>khata keys create --name "Your name" --scope finance</code>.</p>
        <form class="review" method="post" action="/ui/sign-in">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="next" value="{{next}}">
        <label>API key <input type="password" name="key" autocomplete="off" required maxlength="200"></label>
        <button>Sign in</button>
        </form>
        </div>
        {{> bottom}}
        """

    /// A page that explains a refusal or an error; its context is an `ErrorPage`.
    static let error = """
        {{#chrome}}{{> top}}{{/chrome}}
        <h1>{{heading}}</h1>
        <div class="panel"><p>{{message}}</p>
        <p><a href="{{link}}">{{linkText}}</a></p></div>
        {{> bottom}}
        """

    /// The runs, newest first; its context is a `RunsPage`.
    static let runs = """
        {{#chrome}}{{> top}}{{/chrome}}
        <h1>Reconciliation runs</h1>
        <form class="filters panel" method="get" action="/ui/runs">
        <label>Provider <select name="provider">
        {{#providers}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/providers}}
        </select></label>
        <label>Settled from <input type="date" name="from" value="{{from}}"></label>
        <label>to <input type="date" name="to" value="{{to}}"></label>
        <button>Show</button>
        {{#filtered}}<a href="/ui/runs">Clear</a>{{/filtered}}
        </form>
        {{^runs}}<p class="panel">No run matches.</p>{{/runs}}
        {{#hasRuns}}
        <div class="table-wrap"><table>
        <thead><tr><th>Run</th><th>Provider</th><th>Settlement date</th><th class="hide-narrow">Started</th>
        <th>Outcome</th><th class="num">Lines</th><th class="num">Matched</th><th class="num">Mismatches</th>
        <th class="num hide-narrow">Cleared</th></tr></thead>
        <tbody>
        {{#runs}}<tr><td><a href="/ui/runs/{{id}}">Run {{id}}</a></td><td>{{provider}}</td>
        <td>{{settlementDate}}</td><td class="hide-narrow">{{startedAt}}</td>
        <td><span class="badge {{outcome}}">{{outcome}}</span></td><td class="num">{{lines}}</td>
        <td class="num">{{matched}}</td><td class="num">{{mismatches}}</td>
        <td class="num hide-narrow">{{cleared}}</td></tr>
        {{/runs}}
        </tbody></table></div>
        {{/hasRuns}}
        <p class="pager">{{#olderLink}}<a href="{{olderLink}}">Older runs →</a>{{/olderLink}}</p>
        {{> bottom}}
        """
}
