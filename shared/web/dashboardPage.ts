import { AlertView } from '../app/alerts/listAlerts';
import { DashboardView } from '../app/dashboard/DashboardData';
import { AttentionDevice } from '../app/dashboard/needsAttention';
import {
  CHART_DATA_ELEMENT_ID,
  DASHBOARD_SCRIPT,
  DASHBOARD_SCRIPT_HASH,
  DashboardChartData,
  cspHash,
} from './dashboardScript';
import { jsonInScript, text, uriComponent } from './html';

/**
 * The fleet dashboard as one HTML page (`GET /api/dashboard`): every number is written into the
 * page by the server, in headings, tiles and tables (each with a stable `data-testid`), so the
 * page reads without JavaScript and a test can read it; the charts draw the same numbers from a
 * JSON block. Everything a device chose (ids, hubs, issuers, cohorts) is escaped (html.ts).
 */
export interface DashboardPageOptions {
  /** The path the API's routes hang from, with its trailing slash (`/api/`): dashboardApiBase. */
  apiBase: string;
  /** The function key the page was opened with (`?code=`), carried into its links to the API. */
  code?: string;
  /** Where Chart.js is served from (functions/dashboard.ts). */
  chartScriptUrl: string;
}

/**
 * The fleet's states (shared/domain/reports/fleetState.ts) in the order the page lists them,
 * each with its colour; a state the summary names beyond these is listed after them.
 */
const STATUS_COLOURS: readonly (readonly [string, string])[] = [
  ['healthy', '#16a34a'],
  ['due', '#ca8a04'],
  ['requested', '#2563eb'],
  ['retrying', '#ea580c'],
  ['unreachable', '#64748b'],
  ['failed', '#dc2626'],
  ['expired', '#991b1b'],
  ['unknown', '#a8a29e'],
];
const OTHER_COLOUR = '#94a3b8';

/** Rows shown of each fleet-composition breakdown (by issuer, hub…); the rest are summed. */
const COMPOSITION_ROWS = 12;

const STYLE = `
:root { color-scheme: light; --ink: #0f172a; --muted: #475569; --line: #e2e8f0; --card: #fff; --bg: #f1f5f9; --link: #1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; }
h2 { font-size: 1.1rem; margin: 0 0 8px; }
h3 { font-size: 0.95rem; margin: 12px 0 4px; }
p { margin: 4px 0 8px; }
.muted { color: var(--muted); }
a { color: var(--link); }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 8rem), 1fr)); gap: 12px; margin: 12px 0; padding: 0; }
.tiles div { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.tiles dt { color: var(--muted); font-size: 0.85rem; }
.tiles dd { margin: 0; font-size: 1.6rem; font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr)); gap: 16px; margin-bottom: 16px; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 0 0 16px; min-width: 0; }
.grid section.card { margin: 0; }
.chart { position: relative; height: 260px; }
.chart.tall { height: 320px; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.id { overflow-wrap: anywhere; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
.critical { color: #b91c1c; font-weight: 600; }
.warning { color: #b45309; font-weight: 600; }
details { margin-top: 8px; }
summary { cursor: pointer; color: var(--link); }
.note { background: #fef3c7; border: 1px solid #fcd34d; border-radius: 6px; padding: 6px 10px; }
footer { padding-bottom: 24px; }
${STATUS_COLOURS.map(([s, colour]) => `.s-${s} { background: ${colour}; }`).join('\n')}
.s-other { background: ${OTHER_COLOUR}; }
`;

const STYLE_HASH = cspHash(STYLE);

/**
 * What the page may load and run: its own stylesheet and script (by hash) and Chart.js from
 * certfleet itself; nothing else, no frames around it, no forms, no requests from script.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src 'self' ${DASHBOARD_SCRIPT_HASH}`,
  `style-src ${STYLE_HASH}`,
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The page's response headers. It is not cached (it holds the fleet as it was, and may hold
 * the caller's function key in its links), is not framed, and sends no Referer, so a key in
 * the page's URL goes nowhere else.
 */
export function dashboardHeaders(): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': DASHBOARD_CSP,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
  };
}

/**
 * The path the API's routes hang from, from the path the dashboard was served at
 * (`/api/dashboard` gives `/api/`), so links work under any route prefix (host.json's
 * `routePrefix`) and with or without a trailing slash.
 */
export function dashboardApiBase(pathname: string): string {
  const match = /^(.*\/)dashboard\/?$/.exec(pathname);
  return match ? match[1]! : '/api/';
}

/** The history route of one device (functions/reports.ts), with the caller's key when given. */
export function historyUrl(
  apiBase: string,
  key: { hub: string; deviceId: string },
  code?: string,
): string | undefined {
  const id = uriComponent(key.deviceId);
  const hub = uriComponent(key.hub);
  if (id === undefined || hub === undefined) return undefined;
  return `${apiBase}devices/${id}/history?hub=${hub}${keyParameter(code)}`;
}

function keyParameter(code: string | undefined): string {
  const encoded = code ? uriComponent(code) : undefined;
  return encoded ? `&code=${encoded}` : '';
}

export function renderDashboard(view: DashboardView, options: DashboardPageOptions): string {
  const { summary } = view;
  const states = stateRows(summary.byState);
  const expiringIn90Days = sum(summary.expiryHistogram.map((d) => d.devices));
  const chartData: DashboardChartData = {
    states: states.map(([name, devices, colour]) => ({ name, devices, colour })),
    expiry: { expired: summary.expired, days: summary.expiryHistogram },
    outcomes: summary.renewalOutcomes,
    alertsByRule: openRules(summary.openAlerts.byRule).map(([rule, alerts]) => ({ rule, alerts })),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>certfleet: fleet dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>certfleet fleet dashboard</h1>
<p class="muted">The fleet as of <time datetime="${text(summary.at)}" data-testid="summary-at">${text(displayTime(summary.at))}</time>. Counts are of active devices.</p>
<p id="charts-note" class="note" hidden></p>
</header>
<main>
${overview(view, expiringIn90Days)}
<div class="grid">
${statesSection(states, summary.devices)}
${expirySection(summary.expiryHistogram, summary.expired, expiringIn90Days)}
${outcomesSection(summary.renewalOutcomes)}
${alertsSection(view)}
</div>
${alertList(view.openAlerts, options)}
${attentionSection(view, options)}
${compositionSection(view)}
</main>
<footer class="muted"><p>The same numbers as JSON: <code>GET ${text(options.apiBase)}reports/summary</code>; open alerts: <code>GET ${text(options.apiBase)}alerts</code>.</p></footer>
<script type="application/json" id="${CHART_DATA_ELEMENT_ID}">${jsonInScript(chartData)}</script>
<script src="${text(options.chartScriptUrl)}"></script>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
}

function overview(view: DashboardView, expiringIn90Days: number): string {
  const { summary } = view;
  const tile = (label: string, testId: string, value: number) =>
    `<div><dt>${label}</dt><dd data-testid="${testId}">${value}</dd></div>`;
  return `<section class="card" aria-labelledby="h-overview">
<h2 id="h-overview">Overview</h2>
<dl class="tiles">
${tile('Devices', 'devices-total', summary.devices)}
${tile('Certificates expired', 'expired', summary.expired)}
${tile(`Expiring in the next ${summary.expiryHistogram.length} days`, 'histogram-total', expiringIn90Days)}
${tile('Devices needing attention', 'attention-total', view.attention.total)}
${tile('Open alerts', 'alerts-open', summary.openAlerts.total)}
${tile('Critical alerts', 'alerts-critical', summary.openAlerts.bySeverity['critical'] ?? 0)}
</dl>
</section>`;
}

type StateRow = [name: string, devices: number, colour: string];

/** Every known status (0 when none), then any other the summary names, in a stable order. */
function stateRows(byState: Record<string, number>): StateRow[] {
  const known = new Set(STATUS_COLOURS.map(([s]) => s));
  const rows: StateRow[] = STATUS_COLOURS.map(([s, colour]) => [s, byState[s] ?? 0, colour]);
  for (const s of Object.keys(byState).sort()) {
    if (!known.has(s)) rows.push([s, byState[s] ?? 0, OTHER_COLOUR]);
  }
  return rows;
}

function statesSection(rows: StateRow[], devices: number): string {
  const described = rows
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');
  return `<section class="card" aria-labelledby="h-states">
<h2 id="h-states">Devices by renewal status</h2>
<div class="chart"><canvas id="chart-states" role="img" aria-label="${text(`Devices by renewal status: ${described || 'none'}`)}"></canvas></div>
<div class="scroll"><table>
<caption>Devices by renewal status (${devices} in all)</caption>
<thead><tr><th scope="col">Status</th><th scope="col" class="n">Devices</th></tr></thead>
<tbody>
${rows
  .map(
    ([s, n]) =>
      `<tr><th scope="row"><span class="swatch ${swatchClass(s)}"></span>${text(s)}</th><td class="n" data-testid="${testId('state', s)}">${n}</td></tr>`,
  )
  .join('\n')}
</tbody>
<tfoot><tr><th scope="row">all devices</th><td class="n" data-testid="state-total">${sum(rows.map(([, n]) => n))}</td></tr></tfoot>
</table></div>
</section>`;
}

function expirySection(
  days: { date: string; devices: number }[],
  expired: number,
  total: number,
): string {
  const busiest = days.reduce<{ date: string; devices: number } | undefined>(
    (best, d) => (d.devices > (best?.devices ?? 0) ? d : best),
    undefined,
  );
  const first = days[0]?.date;
  const last = days[days.length - 1]?.date;
  const said =
    `${total} certificates expire in the next ${days.length} days` +
    (first && last ? ` (${first} to ${last}, UTC days)` : '') +
    (busiest ? `; the busiest day is ${busiest.date} with ${busiest.devices}` : '') +
    `. ${expired} have expired already.`;
  return `<section class="card" aria-labelledby="h-expiry">
<h2 id="h-expiry">Certificate expiry, next ${days.length} days</h2>
<div class="chart"><canvas id="chart-expiry" role="img" aria-label="${text(said)}"></canvas></div>
<p>${text(said)}</p>
<details><summary>The numbers, day by day</summary>
<div class="scroll"><table>
<caption>Certificates expiring per UTC day</caption>
<thead><tr><th scope="col">Day</th><th scope="col" class="n">Certificates</th></tr></thead>
<tbody>
<tr><th scope="row">already expired</th><td class="n" data-testid="histogram-expired">${expired}</td></tr>
${days.map((d) => `<tr><th scope="row">${text(d.date)}</th><td class="n" data-testid="${testId('histogram', d.date)}">${d.devices}</td></tr>`).join('\n')}
</tbody>
<tfoot><tr><th scope="row">next ${days.length} days</th><td class="n" data-testid="histogram-days-total">${total}</td></tr></tfoot>
</table></div>
</details>
</section>`;
}

function outcomesSection(
  days: { date: string; renewed: number; failed: number; expired: number }[],
): string {
  const renewed = sum(days.map((d) => d.renewed));
  const failed = sum(days.map((d) => d.failed));
  const expired = sum(days.map((d) => d.expired));
  const said = `Over the last ${days.length} days: ${renewed} renewed, ${failed} failed, ${expired} expired.`;
  return `<section class="card" aria-labelledby="h-outcomes">
<h2 id="h-outcomes">Renewal outcomes, last ${days.length} days</h2>
<div class="chart"><canvas id="chart-outcomes" role="img" aria-label="${text(said)}"></canvas></div>
<p>${text(said)}</p>
<details><summary>The numbers, day by day</summary>
<div class="scroll"><table>
<caption>Renewal outcomes per UTC day</caption>
<thead><tr><th scope="col">Day</th><th scope="col" class="n">Renewed</th><th scope="col" class="n">Failed</th><th scope="col" class="n">Expired</th></tr></thead>
<tbody>
${days.map((d) => `<tr><th scope="row">${text(d.date)}</th><td class="n">${d.renewed}</td><td class="n">${d.failed}</td><td class="n">${d.expired}</td></tr>`).join('\n')}
</tbody>
<tfoot><tr><th scope="row">all ${days.length} days</th><td class="n" data-testid="outcomes-renewed">${renewed}</td><td class="n" data-testid="outcomes-failed">${failed}</td><td class="n" data-testid="outcomes-expired">${expired}</td></tr></tfoot>
</table></div>
</details>
</section>`;
}

function alertsSection(view: DashboardView): string {
  const { openAlerts } = view.summary;
  const rules = openRules(openAlerts.byRule);
  const severities = ['critical', 'warning', ...Object.keys(openAlerts.bySeverity).sort()].filter(
    (s, i, all) => all.indexOf(s) === i,
  );
  const byRule =
    rules.length > 0
      ? `<div class="chart"><canvas id="chart-alerts" role="img" aria-label="${text(`Open alerts by rule: ${rules.map(([r, n]) => `${r} ${n}`).join(', ')}`)}"></canvas></div>
<div class="scroll"><table>
<caption>Open alerts by rule</caption>
<thead><tr><th scope="col">Rule</th><th scope="col" class="n">Open</th></tr></thead>
<tbody>
${rules.map(([rule, n]) => `<tr><th scope="row">${text(rule)}</th><td class="n" data-testid="${testId('alerts-rule', rule)}">${n}</td></tr>`).join('\n')}
</tbody>
</table></div>`
      : '<p>No open alerts.</p>';
  return `<section class="card" aria-labelledby="h-alerts">
<h2 id="h-alerts">Open alerts</h2>
<p>${openAlerts.total} open: ${severities
    .map(
      (s) =>
        `<span class="${s === 'critical' ? 'critical' : 'warning'}">${text(s)} <span data-testid="${testId('alerts-severity', s)}">${openAlerts.bySeverity[s] ?? 0}</span></span>`,
    )
    .join(', ')}.</p>
${byRule}
</section>`;
}

function alertList(listed: DashboardView['openAlerts'], options: DashboardPageOptions): string {
  if (listed.total === 0) return '';
  const shown = listed.alerts.length;
  const row = (a: AlertView) => {
    const about =
      a.scope === 'fleet'
        ? `fleet: ${a.count ?? 0} devices`
        : a.deviceId !== undefined && a.hub !== undefined
          ? deviceLink({ hub: a.hub, deviceId: a.deviceId }, options) +
            ` <span class="muted">(${text(a.hub)})</span>`
          : '';
    const covered = a.rolledUpInto ? ' <span class="muted">(in a fleet alert)</span>' : '';
    return `<tr data-testid="alert-row"><td class="${a.severity === 'critical' ? 'critical' : 'warning'}">${text(a.severity)}</td><td>${text(a.rule)}</td><td class="id">${about}${covered}</td><td>${timeCell(a.raisedAt)}</td><td>${text(a.summary)}</td></tr>`;
  };
  return `<section class="card" aria-labelledby="h-alert-list">
<h2 id="h-alert-list">The open alerts</h2>
<p class="muted">Showing <span data-testid="alerts-listed">${shown}</span> of ${listed.total}, critical first${shown < listed.total ? `; all of them: <code>GET ${text(options.apiBase)}alerts</code>` : ''}.</p>
<div class="scroll"><table>
<caption>Open alerts, critical first</caption>
<thead><tr><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">About</th><th scope="col">Raised</th><th scope="col">Summary</th></tr></thead>
<tbody>
${listed.alerts.map(row).join('\n')}
</tbody>
</table></div>
</section>`;
}

function attentionSection(view: DashboardView, options: DashboardPageOptions): string {
  const { total, devices } = view.attention;
  const row = (d: AttentionDevice) =>
    `<tr data-testid="attention-row"><td class="id">${deviceLink(d, options)}</td><td class="id">${text(d.hub)}</td><td>${text(d.status)}</td><td>${d.reasons.map((r) => (r.startsWith('critical') || r === 'expired' ? `<span class="critical">${text(r)}</span>` : text(r))).join('<br>')}</td><td>${d.validUntil ? timeCell(d.validUntil) : '<span class="muted">none</span>'}</td><td>${d.lastAttempt ? `${text(d.lastAttempt.outcome)} ${timeCell(d.lastAttempt.at)}` : ''}</td><td>${d.nextAttemptAt ? timeCell(d.nextAttemptAt) : ''}</td><td class="id">${d.issuer !== undefined ? text(d.issuer) : ''}</td></tr>`;
  const table =
    devices.length > 0
      ? `<div class="scroll"><table>
<caption>Devices needing attention, most urgent first</caption>
<thead><tr><th scope="col">Device (its history)</th><th scope="col">Hub</th><th scope="col">Status</th><th scope="col">Why</th><th scope="col">Certificate expires</th><th scope="col">Last attempt</th><th scope="col">Next attempt</th><th scope="col">Issuer</th></tr></thead>
<tbody>
${devices.map(row).join('\n')}
</tbody>
</table></div>`
      : '<p>No device needs attention.</p>';
  return `<section class="card" aria-labelledby="h-attention">
<h2 id="h-attention">Devices needing attention</h2>
<p class="muted">Renewals due, requested, retrying, unreachable or failed, expired certificates, and critical findings or alerts. Expired first, then what certfleet cannot fix alone, then renewals in trouble, then renewals under way; within each, the earliest expiry first. Showing <span data-testid="attention-shown">${devices.length}</span> of ${total}.</p>
${table}
</section>`;
}

function compositionSection(view: DashboardView): string {
  const { summary } = view;
  const breakdown = (title: string, counts: Record<string, number>, testPrefix?: string) => {
    const rows = byCountThenName(counts);
    const shown = rows.slice(0, COMPOSITION_ROWS);
    const rest = rows.slice(COMPOSITION_ROWS);
    return `<div class="scroll"><table>
<caption>${title}</caption>
<tbody>
${shown.map(([k, n]) => `<tr><th scope="row" class="id">${text(k)}</th><td class="n"${testPrefix ? ` data-testid="${testId(testPrefix, k)}"` : ''}>${n}</td></tr>`).join('\n') || '<tr><td colspan="2">none</td></tr>'}
${rest.length > 0 ? `<tr><th scope="row">${rest.length} more</th><td class="n">${sum(rest.map(([, n]) => n))}</td></tr>` : ''}
</tbody>
</table></div>`;
  };
  return `<section class="card" aria-labelledby="h-composition">
<h2 id="h-composition">The fleet's certificates</h2>
<div class="grid">
${breakdown('By issuer', summary.byIssuer)}
${breakdown('By key algorithm', summary.byKeyAlgorithm)}
${breakdown('By hub', summary.byHub)}
${breakdown('By renewal cohort', summary.byCohort)}
${breakdown('Fleet audit checks: findings by check', summary.findings, 'findings')}
</div>
</section>`;
}

/** A device id linking to its history, escaped; the id alone when no link can be made. */
function deviceLink(key: { hub: string; deviceId: string }, options: DashboardPageOptions): string {
  const url = historyUrl(options.apiBase, key, options.code);
  return url === undefined
    ? text(key.deviceId)
    : `<a href="${text(url)}" data-testid="history-link">${text(key.deviceId)}</a>`;
}

function timeCell(iso: string): string {
  return `<time datetime="${text(iso)}">${text(displayTime(iso))}</time>`;
}

/** `2026-11-23T12:00:00.000Z` as `2026-11-23 12:00 UTC`; anything else as it is. */
function displayTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2}(\.\d+)?)?Z$/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

/** A `data-testid` from certfleet's own names: anything else in the name becomes `_`. */
function testId(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^A-Za-z0-9._:-]/g, '_')}`;
}

/** The rules with open alerts, most first (the summary lists every rule, 0 when none). */
function openRules(byRule: Record<string, number>): [string, number][] {
  return byCountThenName(byRule).filter(([, n]) => n > 0);
}

function byCountThenName(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort(([a, m], [b, n]) => n - m || (a < b ? -1 : a > b ? 1 : 0));
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** The class that colours a status's swatch (STYLE defines one per known status). */
function swatchClass(status: string): string {
  return STATUS_COLOURS.some(([s]) => s === status) ? `s-${status}` : 's-other';
}
