/// The templates of one run: its page (totals, chart, the same date across providers), its
/// mismatches page by page, and the rows the HTML report repeats.
enum RunTemplates {
    /// The bar chart of a run's totals per category, drawn by the server as inline SVG; its
    /// context is a `BarChart`. Colours come from the stylesheet's classes.
    static let chart = """
        <svg class="chart" viewBox="0 0 {{width}} {{height}}" role="img" aria-labelledby="chart-title-{{id}}"
         xmlns="http://www.w3.org/2000/svg">
        <title id="chart-title-{{id}}">{{title}}</title>
        {{#bars}}<g transform="translate(0 {{y}})">
        <text x="0" y="15">{{label}}</text>
        <rect class="track" x="{{barX}}" y="3" width="{{trackWidth}}" height="16"></rect>
        <rect class="bar {{category}}" x="{{barX}}" y="3" width="{{barWidth}}" height="16"></rect>
        <text x="{{valueX}}" y="15">{{value}}</text>
        </g>
        {{/bars}}
        </svg>
        """

    /// The facts of a run and its totals, shared by the run page and the HTML report; its
    /// context is a `RunSummary`.
    static let summary = """
        <div class="panel">
        <dl class="facts">
        <div><dt>Provider</dt><dd>{{provider}}</dd></div>
        <div><dt>Settlement date</dt><dd>{{settlementDate}}</dd></div>
        <div><dt>Outcome</dt><dd><span class="badge {{outcome}}">{{outcome}}</span></dd></div>
        <div><dt>Started</dt><dd>{{startedAt}}</dd></div>
        <div><dt>Ended</dt><dd>{{endedAt}}</dd></div>
        <div><dt>Run by</dt><dd>{{runBy}}</dd></div>
        <div><dt>Payments window</dt><dd>{{windowStart}} to {{windowEnd}}</dd></div>
        <div><dt>Lines read</dt><dd>{{lines}}</dd></div>
        <div><dt>Matched</dt><dd>{{matched}}</dd></div>
        <div><dt>Mismatches</dt><dd>{{mismatches}}</dd></div>
        <div><dt>Carried (window open)</dt><dd>{{carried}}</dd></div>
        <div><dt>Cleared in the ledger</dt><dd>{{cleared}}</dd></div>
        <div><dt>Earlier mismatches settled</dt><dd>{{resolved}}</dd></div>
        <div><dt>Input files (SHA-256)</dt><dd><code>{{inputSHA256}}</code></dd></div>
        </dl>
        {{#runError}}<p class="flash error">{{runError}}</p>{{/runError}}
        </div>
        <h2>Totals per category</h2>
        <div class="panel">
        {{#chart}}{{> chart}}{{/chart}}
        <div class="table-wrap"><table>
        <thead><tr><th>Category</th><th>Currency</th><th class="num">Count</th><th class="num">Amount</th></tr></thead>
        <tbody>
        {{#totals}}<tr><td>{{#totalLink}}<a href="{{totalLink}}">{{label}}</a>{{/totalLink}}
        {{^totalLink}}{{label}}{{/totalLink}}</td>
        <td>{{currency}}</td><td class="num">{{count}}</td><td class="num">{{amount}}</td></tr>
        {{/totals}}
        </tbody></table></div>
        </div>
        """

    /// A run; its context is a `RunPage`.
    static let run = """
        {{#chrome}}{{> top}}{{/chrome}}
        <p class="crumbs"><a href="/ui/runs">Runs</a> › Run {{id}}</p>
        <h1>Run {{id}}: {{summary.provider}}, settled {{summary.settlementDate}}</h1>
        <p class="actions"><a class="button" href="/ui/runs/{{id}}/mismatches">Mismatches</a>
        {{#openLink}}<a class="button secondary" href="{{openLink}}">Open ones</a>{{/openLink}}
        <a class="button secondary" href="/ui/runs/{{id}}/report.html">Printable report</a>
        <a class="button secondary" href="/ui/runs/{{id}}/report.csv">CSV</a>
        <a class="button secondary" href="/ui/runs/{{id}}/report.json">JSON</a></p>
        {{#summary}}{{> summary}}{{/summary}}
        {{#hasProviders}}
        <h2>Settlement date {{summary.settlementDate}}, every provider</h2>
        <p class="hint">The latest run of each provider for this date: count and amount per category.</p>
        <div class="table-wrap"><table>
        <thead><tr><th>Category</th>{{#providers}}<th class="num"><a href="/ui/runs/{{runId}}">{{name}}</a>
        </th>{{/providers}}</tr></thead>
        <tbody>
        {{#crossRows}}<tr><td>{{label}}</td>{{#cells}}<td class="num">{{text}}</td>{{/cells}}</tr>
        {{/crossRows}}
        </tbody></table></div>
        {{/hasProviders}}
        {{> bottom}}
        """

    /// The head of the mismatch table, shared by the mismatches page and the HTML report.
    static let tableHead = """
        <thead><tr><th>Mismatch</th><th>Category</th><th>State</th><th>Provider transaction</th>
        <th>Payment reference</th><th class="num">Ledger</th><th class="num">Provider</th>
        <th class="hide-narrow">What differs</th></tr></thead>
        """

    /// A table of mismatches, or what to say when there is none; its context has `hasRows`,
    /// `emptyText` and `table` (a `MismatchRows`).
    static let mismatchTable = """
        {{^hasRows}}<p class="panel">{{emptyText}}</p>{{/hasRows}}
        {{#hasRows}}
        <div class="table-wrap"><table>
        {{> tableHead}}
        <tbody>
        {{#table}}{{> rows}}{{/table}}
        </tbody></table></div>
        {{/hasRows}}
        """

    /// Rows of mismatches; its context is a `MismatchRows`.
    static let rows = """
        {{#rows}}<tr><td><a href="{{link}}">#{{id}}</a></td><td>{{category}}</td>
        <td><span class="badge {{state}}">{{stateLabel}}</span>
        {{#rowResolution}}<br>{{rowResolution}}{{/rowResolution}}</td>
        <td class="text">{{providerTxnId}}</td><td class="text">{{reference}}</td>
        <td class="num">{{ledger}}</td><td class="num">{{providerAmount}}</td>
        <td class="text hide-narrow">{{differs}}</td></tr>
        {{/rows}}
        """

    /// A run's mismatches, a page at a time; its context is a `MismatchesPage`.
    static let mismatches = """
        {{#chrome}}{{> top}}{{/chrome}}
        <p class="crumbs"><a href="/ui/runs">Runs</a> › <a href="/ui/runs/{{runId}}">Run {{runId}}</a> › Mismatches</p>
        <h1>Mismatches of run {{runId}} ({{provider}}, settled {{settlementDate}})</h1>
        <form class="filters panel" method="get" action="/ui/runs/{{runId}}/mismatches">
        <label>Category <select name="category">
        {{#categories}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}
        </select></label>
        <label>State <select name="state">
        {{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/states}}
        </select></label>
        <button>Show</button>
        {{#filtered}}<a href="/ui/runs/{{runId}}/mismatches">Clear</a>{{/filtered}}
        </form>
        {{> mismatchTable}}
        <p class="pager">{{#firstLink}}<a href="{{firstLink}}">← First page</a>{{/firstLink}}
        {{#nextLink}}<a href="{{nextLink}}">Next page →</a>{{/nextLink}}</p>
        {{> bottom}}
        """

    /// The HTML report's opening: the run, its totals, the head of the full table. Its context is
    /// a `ReportHead`; the rows follow in pages, then `reportBottom`.
    static let reportTop = """
        {{#chrome}}{{> top}}{{/chrome}}
        <h1>Reconciliation run {{id}}: {{summary.provider}}, settled {{summary.settlementDate}}</h1>
        <p class="hint">Report written {{writtenAt}} (Asia/Dhaka). Every mismatch of the run follows the totals.</p>
        {{#summary}}{{> summary}}{{/summary}}
        <h2>Mismatches</h2>
        <div class="table-wrap"><table>
        {{> tableHead}}
        <tbody>

        """

    /// The HTML report's end.
    static let reportBottom = """
        </tbody></table></div>
        {{> bottom}}
        """
}
