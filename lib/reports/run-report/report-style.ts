/** The page's only stylesheet, inlined: the report is one file that opens anywhere, offline. */
export const REPORT_CSS = `
:root { --text: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f6f7f9; --card: #ffffff; --good: #15803d; --bad: #b91c1c; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 28px 24px 48px; }
header { margin-bottom: 20px; }
.eyebrow { margin: 0; color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: .04em; }
h1 { margin: 2px 0 6px; font-size: 26px; font-weight: 650; overflow-wrap: anywhere; }
h2 { margin: 0 0 10px; font-size: 17px; font-weight: 620; }
.groups { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0 16px; align-items: start; }
.group { min-width: 0; }
.group > h2 { margin: 28px 0 10px; font-size: 20px; }
.span-2 { grid-column: span 2; }
.span-3 { grid-column: span 3; }
.cell-2 { grid-column: span 2; }
.facts { margin: 4px 0; color: #374151; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12.5px; font-weight: 600; background: #e5e7eb; color: #374151; vertical-align: 1px; }
.status-succeeded { background: #dcfce7; color: var(--good); }
.status-failed { background: #fee2e2; color: var(--bad); }
.status-running { background: #dbeafe; color: #1d4ed8; }
.alias { background: #ede9fe; color: #6d28d9; }
.blessing { margin: 10px 0 0; padding: 8px 12px; border-radius: 8px; border: 1px solid; }
.blessed { background: #f0fdf4; border-color: #bbf7d0; color: #14532d; }
.not-blessed { background: #fef2f2; border-color: #fecaca; color: #7f1d1d; }
.failure, .problems { margin: 10px 0; padding: 8px 12px; border-radius: 8px; background: #fef2f2; border: 1px solid #fecaca; color: #7f1d1d; }
.problems ul { margin: 4px 0 0; padding-left: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 16px; align-items: start; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.charts { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px; }
.span-1 .charts { grid-template-columns: minmax(0, 1fr); }
.span-2 .charts { grid-template-columns: repeat(2, minmax(0, 1fr)); }
@media (max-width: 1100px) {
  .groups { grid-template-columns: minmax(0, 1fr); }
  .span-2, .span-3, .cell-2 { grid-column: auto; }
  .charts, .span-1 .charts, .span-2 .charts { grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); }
}
figure.chart { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 8px; min-width: 0; }
figure.chart svg { display: block; width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 4px 0 8px; }
th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); padding: 4px 8px 4px 0; }
td { border-bottom: 1px solid #f1f2f4; padding: 4px 8px 4px 0; vertical-align: top; overflow-wrap: break-word; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { font: 12px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; overflow-wrap: anywhere; }
.bar { display: inline-block; height: 9px; min-width: 2px; border-radius: 3px; background: var(--accent); opacity: .7; }
.note { margin: 6px 0; color: var(--muted); font-style: italic; }
.muted { color: var(--muted); margin: 6px 0; }
.pass { color: var(--good); font-weight: 700; }
.fail { color: var(--bad); font-weight: 700; }
.sev-error { color: var(--bad); font-weight: 600; }
.sev-warning { color: #b45309; font-weight: 600; }
footer { margin-top: 32px; color: var(--muted); font-size: 12.5px; }
@media print { body { background: white; } .card, figure.chart { break-inside: avoid; } }
`;
