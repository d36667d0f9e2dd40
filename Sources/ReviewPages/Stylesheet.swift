/// The pages' one stylesheet: served at `/ui/assets/review.css` and inlined in the HTML report,
/// so that a saved report needs nothing beside it. Colours come from classes, not `style`
/// attributes, so that the pages' Content-Security-Policy can refuse inline styles.
public enum Stylesheet {
    public static let css = """
        :root { --ink: #1c2430; --muted: #5b6675; --line: #d8dde4; --paper: #ffffff; --wash: #f4f6f9;
          --accent: #0b6e4f; --warn: #a15c00; --bad: #b3261e; --good: #0b6e4f; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans Bengali",
          sans-serif; color: var(--ink); background: var(--wash); }
        a { color: var(--accent); }
        header.bar { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center;
          padding: .6rem 1rem; background: var(--ink); color: #fff; }
        header.bar a { color: #fff; text-decoration: none; }
        header.bar .brand { font-weight: 600; }
        header.bar nav { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; flex: 1; }
        header.bar .who { margin-left: auto; color: #c9d1db; font-size: .9em; }
        header.bar form { margin: 0; }
        header.bar input[type=search] { width: 16rem; max-width: 100%; }
        main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
        h1 { font-size: 1.4rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
        .crumbs { font-size: .9em; color: var(--muted); }
        .panel { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 1rem;
          margin-bottom: 1rem; }
        .facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(12rem, 1fr)); gap: .5rem 1rem;
          margin: 0; }
        .facts div { min-width: 0; }
        .facts dt { color: var(--muted); font-size: .85em; }
        .facts dd { margin: 0; overflow-wrap: anywhere; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; background: var(--paper); }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: .85em; color: var(--muted); font-weight: 600; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.text { overflow-wrap: anywhere; max-width: 22rem; }
        tr.differs td { background: #fff6e5; }
        .badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .85em;
          border: 1px solid var(--line); white-space: nowrap; }
        .badge.open { border-color: var(--bad); color: var(--bad); }
        .badge.acknowledged { border-color: var(--warn); color: var(--warn); }
        .badge.resolved, .badge.succeeded { border-color: var(--good); color: var(--good); }
        .badge.failed, .badge.running { border-color: var(--bad); color: var(--bad); }
        .flash { padding: .6rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: var(--paper); }
        .flash.error { border-color: var(--bad); color: var(--bad); }
        .flash.done { border-color: var(--good); color: var(--good); }
        form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
        form.filters label, form.review label { display: flex; flex-direction: column; font-size: .9em;
          color: var(--muted); }
        input, select, textarea, button { font: inherit; }
        input, select, textarea { padding: .3rem .4rem; border: 1px solid #aab3bf; border-radius: 4px;
          background: #fff; color: var(--ink); }
        textarea { width: 100%; min-height: 4.5rem; }
        button, .button { display: inline-block; padding: .35rem .8rem; border-radius: 4px; border: 1px solid
          var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
        button.secondary, .button.secondary { background: #fff; color: var(--accent); }
        button.link { background: none; border: none; color: #fff; padding: 0; text-decoration: underline; }
        .reviews { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 1rem; }
        form.review { display: flex; flex-direction: column; gap: .5rem; background: var(--paper);
          border: 1px solid var(--line); border-radius: 6px; padding: .8rem; }
        form.review h3 { margin: 0; font-size: 1rem; }
        form.review button { align-self: flex-start; }
        .hint { color: var(--muted); font-size: .85em; }
        ol.history { list-style: none; padding: 0; margin: 0; }
        ol.history li { border-left: 3px solid var(--line); padding: .2rem 0 .6rem .8rem; }
        .note { white-space: pre-wrap; overflow-wrap: anywhere; margin: .25rem 0; }
        .pager { display: flex; gap: 1rem; margin: .8rem 0; }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        svg.chart { width: 100%; max-width: 46rem; height: auto; display: block; }
        svg.chart text { font-size: 12px; fill: var(--ink); }
        svg.chart rect.track { fill: var(--wash); }
        svg.chart rect.bar { fill: var(--bad); }
        svg.chart rect.bar.matched { fill: var(--good); }
        svg.chart rect.bar.late_settlement, svg.chart rect.bar.adjustment { fill: var(--warn); }
        code { overflow-wrap: anywhere; }
        footer { max-width: 72rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .85em; }
        @media (max-width: 640px) {
          body { font-size: 14px; }
          main { padding: .6rem; }
          header.bar .who { margin-left: 0; }
          header.bar input[type=search] { width: 100%; }
          header.bar form.search { flex: 1 1 100%; display: flex; gap: .4rem; }
          th, td { padding: .3rem; }
          .hide-narrow { display: none; }
        }
        @media print {
          body { background: #fff; font-size: 10pt; }
          header.bar, form, .pager, .actions, .no-print { display: none !important; }
          main, footer { max-width: none; padding: 0; }
          .panel { border: none; padding: 0; }
          a { color: inherit; text-decoration: none; }
          thead { display: table-header-group; }
          tr { break-inside: avoid; }
          td.text { max-width: none; }
          .hide-narrow { display: table-cell; }
        }
        """
}
