/// The templates of one mismatch (what differs, its line, its transfer, its history, the review
/// forms) and of the search.
enum MismatchTemplates {
    /// One mismatch; its context is a `MismatchView`.
    static let mismatch = """
        {{#chrome}}{{> top}}{{/chrome}}
        <p class="crumbs"><a href="/ui/runs">Runs</a> › <a href="/ui/runs/{{runId}}">Run {{runId}}</a> ›
        <a href="/ui/runs/{{runId}}/mismatches">Mismatches</a> › #{{id}}</p>
        <h1>Mismatch #{{id}}: {{category}} <span class="badge {{state}}">{{stateLabel}}</span></h1>
        <div class="panel">
        <dl class="facts">
        <div><dt>Provider</dt><dd>{{provider}}</dd></div>
        <div><dt>Kind</dt><dd>{{kind}}</dd></div>
        <div><dt>Provider transaction</dt><dd>{{providerTxnId}}</dd></div>
        <div><dt>Payment reference</dt><dd>{{reference}}</dd></div>
        <div><dt>Ledger amount</dt><dd>{{ledger}}</dd></div>
        <div><dt>Provider amount</dt><dd>{{providerAmount}}</dd></div>
        <div><dt>Fee (contracted)</dt><dd>{{fee}}{{#contractedFee}} ({{contractedFee}}){{/contractedFee}}</dd></div>
        <div><dt>Net</dt><dd>{{net}}</dd></div>
        <div><dt>Resolution</dt><dd>{{resolution}}</dd></div>
        <div><dt>First found</dt><dd>{{createdAt}}, run <a href="/ui/runs/{{runId}}">{{runId}}</a></dd></div>
        <div><dt>Last changed</dt><dd>{{updatedAt}}, last seen by run {{lastRunId}}</dd></div>
        </dl>
        </div>
        <h2>What differs</h2>
        <div class="panel">
        <p class="note">{{detail}}</p>
        {{#hasFields}}
        <div class="table-wrap"><table>
        <thead><tr><th>Field</th><th>Ledger</th><th>Provider</th></tr></thead>
        <tbody>{{#fields}}<tr class="differs"><td>{{name}}</td><td class="text">{{ledger}}</td>
        <td class="text">{{provider}}</td></tr>{{/fields}}</tbody></table></div>
        {{/hasFields}}
        </div>
        <h2>Settlement line</h2>
        <div class="panel">
        {{#line}}<p class="hint">File {{fileId}}, line {{number}}</p><dl class="facts">
        {{#facts}}<div><dt>{{label}}</dt><dd>{{value}}</dd></div>{{/facts}}</dl>{{/line}}
        {{^line}}<p>No settlement line: the ledger has this payment and the provider's files do not.</p>{{/line}}
        </div>
        <h2>Ledger transfer</h2>
        <div class="panel">
        {{#hasTransfer}}<dl class="facts">{{#transfer}}<div><dt>{{label}}</dt><dd>{{value}}</dd></div>
        {{/transfer}}</dl>{{/hasTransfer}}
        {{^hasTransfer}}<p>No ledger transfer: the ledger never saw this payment.</p>{{/hasTransfer}}
        </div>
        <h2>History</h2>
        <div class="panel">
        {{^history}}<p>No change yet.</p>{{/history}}
        <ol class="history">
        {{#history}}<li><strong>{{at}}</strong>: {{actor}} moved it from {{from}} to {{to}}
        {{#eventResolution}} ({{eventResolution}}){{/eventResolution}}
        {{#eventNote}}<p class="note">{{eventNote}}</p>{{/eventNote}}
        {{#hasPostings}}<ul>{{#postings}}<li>Ledger transfer <code>{{transferId}}</code>: {{amount}} from
        <code>{{debitAccount}}</code> to <code>{{creditAccount}}</code> ({{leg}}), {{status}}</li>{{/postings}}</ul>
        {{/hasPostings}}</li>
        {{/history}}
        </ol>
        </div>
        <h2>Review</h2>
        {{#keptNote}}<div class="panel"><p class="hint">Your note was not saved; here it is to copy:</p>
        <p class="note">{{keptNote}}</p></div>{{/keptNote}}
        {{#canReview}}
        <div class="reviews">
        {{#canAcknowledge}}
        <form class="review" method="post" action="/ui/mismatches/{{id}}/acknowledge">
        <h3>Acknowledge</h3>
        <p class="hint">Someone is on it: it leaves the open list.</p>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="expectedState" value="{{state}}">
        <label>Note (optional) <textarea name="note" maxlength="2000">{{form.acknowledgeNote}}</textarea></label>
        <button>Acknowledge</button>
        </form>
        {{/canAcknowledge}}
        {{#canResolve}}
        <form class="review" method="post" action="/ui/mismatches/{{id}}/resolve">
        <h3>Resolve</h3>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="expectedState" value="{{state}}">
        <label>Resolution <select name="resolution" required>
        {{#resolutions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}: {{effect}}</option>
        {{/resolutions}}
        </select></label>
        <label>Note (required) <textarea name="note" maxlength="2000" required>{{form.resolveNote}}</textarea></label>
        <button>Resolve</button>
        </form>
        {{/canResolve}}
        {{#canReopen}}
        <form class="review" method="post" action="/ui/mismatches/{{id}}/reopen">
        <h3>Reopen</h3>
        <p class="hint">A resolution's ledger postings are reversed.</p>
        <input type="hidden" name="csrf" value="{{csrf}}">
        <input type="hidden" name="expectedState" value="{{state}}">
        <label>Note (required) <textarea name="note" maxlength="2000" required>{{form.reopenNote}}</textarea></label>
        <button class="secondary">Reopen</button>
        </form>
        {{/canReopen}}
        </div>
        {{/canReview}}
        {{^canReview}}<p class="panel">{{readOnlyReason}}</p>{{/canReview}}
        {{> bottom}}
        """

    /// The search by payment reference or provider transaction id; its context is a `SearchPage`.
    static let search = """
        {{#chrome}}{{> top}}{{/chrome}}
        <h1>Search</h1>
        <form class="filters panel" method="get" action="/ui/search">
        <label>Payment reference or provider transaction id
        <input name="q" type="search" maxlength="128" value="{{query}}" required></label>
        <button>Search</button>
        </form>
        {{#searched}}{{> mismatchTable}}{{/searched}}
        {{> bottom}}
        """
}
