import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { DashboardView } from '../../shared/app/dashboard/DashboardData';
import { AttentionDevice } from '../../shared/app/dashboard/needsAttention';
import { FleetSummary } from '../../shared/domain/reports/FleetSummary';
import {
  DASHBOARD_CSP,
  dashboardApiBase,
  dashboardHeaders,
  historyUrl,
  renderDashboard,
} from '../../shared/web/dashboardPage';
import { DASHBOARD_SCRIPT } from '../../shared/web/dashboardScript';
import { escapeHtml, jsonInScript, text } from '../../shared/web/html';

/**
 * The dashboard page rendered without a browser: every number where a test (and a reader) finds
 * it, and every name a device chose escaped, whatever it holds.
 */
const AT = '2026-11-23T12:00:00.000Z';
const OPTIONS = { apiBase: '/api/', chartScriptUrl: '/api/dashboard/chart.js?v=4.6.1' };

/** Device ids IoT Hub allows that mean something in HTML, URLs or JavaScript. */
const HOSTILE_IDS = [
  "s1-:.+%_#*?!(),=@;$'z",
  "o'clock",
  'a%2Fb',
  'x?code=stolen#frag',
  "';alert(1);'",
];
/** Issuer DNs are the device's text: anything at all. */
const HOSTILE_ISSUER = 'CN="><img src=x onerror=alert(1)></script><script>alert(2)</script>';

function days(from: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) =>
    new Date(Date.parse(from) + i * 86_400_000).toISOString().slice(0, 10),
  );
}

function aSummary(overrides: Partial<FleetSummary> = {}): FleetSummary {
  return {
    at: AT,
    devices: 42,
    byState: {
      healthy: 30,
      due: 3,
      requested: 2,
      retrying: 1,
      unreachable: 2,
      failed: 1,
      expired: 2,
      unknown: 1,
    },
    byIssuer: { 'CN=Contoso Issuing CA': 38, [HOSTILE_ISSUER]: 3, unknown: 1 },
    byKeyAlgorithm: { 'ECDSA P-384': 40, unknown: 2 },
    byHub: { 'contoso-hub': 40, 'fabrikam-hub': 2 },
    byCohort: { default: 34, 'batch-<b>2026</b>': 8 },
    expired: 2,
    expiryHistogram: days('2026-11-23', 90).map((date, i) => ({
      date,
      devices: i % 10 === 3 ? 4 : 0,
    })),
    renewalOutcomes: days('2026-10-25', 30).map((date, i) => ({
      date,
      renewed: i % 3,
      failed: i === 20 ? 1 : 0,
      expired: i === 25 ? 2 : 0,
    })),
    openAlerts: {
      total: 5,
      bySeverity: { critical: 3, warning: 2 },
      byRule: {
        'certificate-expired': 2,
        'certificate-expiring': 1,
        'key-not-rotated': 2,
        'device-silent': 0,
      },
    },
    findings: { 'expiring-device-certificates': 3, 'shared-keys': 0 },
    ...overrides,
  };
}

function anAttentionDevice(deviceId: string, hub = 'contoso-hub'): AttentionDevice {
  return {
    hub,
    deviceId,
    status: 'expired',
    validUntil: '2026-11-20T00:00:00.000Z',
    issuer: HOSTILE_ISSUER,
    reasons: ['expired'],
    tier: 0,
    lastAttempt: { at: '2026-11-19T10:00:00.000Z', outcome: 'offline' },
  };
}

function aView(overrides: Partial<DashboardView> = {}): DashboardView {
  return {
    summary: aSummary(),
    attention: {
      total: 9,
      limit: 50,
      devices: HOSTILE_IDS.map((id) => anAttentionDevice(id)),
    },
    openAlerts: {
      total: 5,
      limit: 100,
      alerts: [
        {
          id: 'a1',
          rule: 'certificate-expired',
          severity: 'critical',
          scope: 'device',
          summary: "certificate of o'clock expired <now>",
          raisedAt: '2026-11-20T00:00:00.000Z',
          hub: 'contoso-hub',
          deviceId: "o'clock",
        },
        {
          id: 'a2',
          rule: 'certificate-expiring',
          severity: 'critical',
          scope: 'fleet',
          summary: '12 certificates expire on 2026-12-01',
          raisedAt: '2026-11-21T00:00:00.000Z',
          count: 12,
        },
      ],
    },
    ...overrides,
  };
}

/** The value of the element carrying `data-testid="id"` (numbers are written alone inside). */
function testValue(html: string, id: string): string | undefined {
  const match = new RegExp(`data-testid="${id}">([^<]*)<`).exec(html);
  return match?.[1];
}

/** Every tag the page opens or closes, in order: escaping must add none. */
function tagsOf(html: string): string[] {
  return html.match(/<\/?[A-Za-z][^\s>/]*/g) ?? [];
}

describe('the dashboard page', () => {
  it('writes every number of the summary where a test can read it', () => {
    const html = renderDashboard(aView(), OPTIONS);

    expect(testValue(html, 'devices-total')).toBe('42');
    expect(testValue(html, 'expired')).toBe('2');
    expect(testValue(html, 'histogram-total')).toBe('36');
    expect(testValue(html, 'histogram-expired')).toBe('2');
    expect(testValue(html, 'histogram-2026-11-26')).toBe('4');
    expect(testValue(html, 'histogram-2026-11-27')).toBe('0');
    expect(testValue(html, 'alerts-open')).toBe('5');
    expect(testValue(html, 'alerts-severity-critical')).toBe('3');
    expect(testValue(html, 'alerts-severity-warning')).toBe('2');
    expect(testValue(html, 'alerts-rule-key-not-rotated')).toBe('2');
    expect(html).not.toContain('data-testid="alerts-rule-device-silent"');
    expect(testValue(html, 'attention-total')).toBe('9');
    expect(testValue(html, 'attention-shown')).toBe('5');
    expect(testValue(html, 'outcomes-renewed')).toBe('30');
    expect(testValue(html, 'outcomes-failed')).toBe('1');
    expect(testValue(html, 'outcomes-expired')).toBe('2');
    expect(testValue(html, 'findings-expiring-device-certificates')).toBe('3');
    for (const [state, n] of Object.entries(aSummary().byState))
      expect(testValue(html, `state-${state}`)).toBe(String(n));
    expect(html).not.toContain('data-testid="state-moved"');
    expect(testValue(html, 'state-total')).toBe('42');
  });

  it('lists a state the summary names that the page does not know, rather than dropping it', () => {
    const summary = aSummary({ byState: { healthy: 1, 'on-hold': 2 } });

    const html = renderDashboard(aView({ summary }), OPTIONS);

    expect(testValue(html, 'state-on-hold')).toBe('2');
    expect(testValue(html, 'state-total')).toBe('3');
  });

  it('escapes hostile device ids, issuers and cohorts, so they add no element and no attribute', () => {
    const html = renderDashboard(aView(), OPTIONS);
    const benign = renderDashboard(
      aView({
        summary: aSummary({
          byIssuer: { 'CN=Contoso Issuing CA': 38, 'CN=Other': 3, unknown: 1 },
          byCohort: { default: 34, 'batch-2026': 8 },
        }),
        attention: {
          total: 9,
          limit: 50,
          devices: HOSTILE_IDS.map((_, i) => ({
            ...anAttentionDevice(`d${i}`),
            issuer: 'CN=Other',
          })),
        },
      }),
      OPTIONS,
    );

    expect(tagsOf(html)).toEqual(tagsOf(benign));
    expect(html).not.toMatch(/<img|<b>|<\/script><script>alert/);
    expect(html).toContain(escapeHtml(HOSTILE_ISSUER));
    expect(html).toContain('batch-&lt;b&gt;2026&lt;/b&gt;');
    expect(html).toContain('o&#39;clock');
    expect(html).toContain('&#39;;alert(1);&#39;');
  });

  it("links each device to its history, its id and hub percent-encoded, carrying the caller's key", () => {
    const html = renderDashboard(aView(), { ...OPTIONS, code: 'k3y/with+and=' });

    const links = [...html.matchAll(/<a href="([^"]*)" data-testid="history-link">([^<]*)<\/a>/g)];
    expect(links.map((l) => l[2])).toEqual([
      'o&#39;clock', // the alert list comes first
      ...HOSTILE_IDS.map((id) => escapeHtml(id)),
    ]);
    const hrefs = links.map((l) => l[1]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'"));
    expect(hrefs[1]).toBe(
      "/api/devices/s1-%3A.%2B%25_%23*%3F!()%2C%3D%40%3B%24'z/history?hub=contoso-hub&code=k3y%2Fwith%2Band%3D",
    );
    for (const [i, id] of HOSTILE_IDS.entries()) {
      const url = new URL(hrefs[i + 1]!, 'https://certfleet.example');
      expect(decodeURIComponent(url.pathname.split('/')[3]!)).toBe(id);
      expect(url.searchParams.get('hub')).toBe('contoso-hub');
      expect(url.searchParams.get('code')).toBe('k3y/with+and=');
    }
  });

  it('links without a key when the page was opened without one', () => {
    const html = renderDashboard(aView(), OPTIONS);

    expect(html).toContain('href="/api/devices/o&#39;clock/history?hub=contoso-hub"');
    expect(html).not.toContain('&amp;code=');
  });

  /** Any text, leaning on what HTML, URLs and scripts give meaning to. */
  const hostileText = fc.oneof(
    fc.string({
      unit: fc.constantFrom(
        '<',
        '>',
        '"',
        "'",
        '&',
        '/',
        '=',
        ' ',
        'img',
        'script',
        'a',
        '\u2028',
        '%',
        '#',
        '?',
      ),
      maxLength: 30,
    }),
    fc.string({ unit: 'binary', maxLength: 30 }),
  );

  it('escapes any text at all in names and in the link, and never adds a tag (property)', () => {
    fc.assert(
      fc.property(hostileText, hostileText, (deviceId, issuer) => {
        const view = aView({
          summary: aSummary({ byIssuer: { [issuer]: 1 }, byHub: { [deviceId]: 1 } }),
          attention: {
            total: 1,
            limit: 50,
            devices: [{ ...anAttentionDevice(deviceId, issuer), issuer }],
          },
        });
        const html = renderDashboard(view, { ...OPTIONS, code: deviceId });
        const baseline = renderDashboard(
          aView({
            summary: aSummary({ byIssuer: { x: 1 }, byHub: { x: 1 } }),
            attention: {
              total: 1,
              limit: 50,
              devices: [{ ...anAttentionDevice('x', 'x'), issuer: 'x' }],
            },
          }),
          { ...OPTIONS, code: 'x' },
        );
        expect(tagsOf(html)).toEqual(tagsOf(baseline));
      }),
    );
  });

  it('embeds the chart data as JSON that cannot close its script element', () => {
    const summary = aSummary({
      byState: { healthy: 1, '</script><script>alert(1)</script>\u2028': 1 },
    });

    const html = renderDashboard(aView({ summary }), OPTIONS);

    const block = /<script type="application\/json" id="dashboard-data">([^]*?)<\/script>/.exec(
      html,
    );
    expect(block).not.toBeNull();
    expect(block![1]).not.toMatch(/[<>\u2028\u2029]/);
    const data = JSON.parse(block![1]!) as { states: { name: string; devices: number }[] };
    expect(data.states.map((s) => s.name)).toContain('</script><script>alert(1)</script>\u2028');
    expect((html.match(/<script/g) ?? []).length).toBe(3);
  });

  it('gives every chart a text alternative and a table of its numbers', () => {
    const html = renderDashboard(aView(), OPTIONS);

    for (const chart of ['chart-states', 'chart-expiry', 'chart-outcomes', 'chart-alerts'])
      expect(html).toMatch(new RegExp(`<canvas id="${chart}" role="img" aria-label="[^"]+">`));
    expect(html).toContain('aria-label="Devices by renewal status: healthy 30, due 3,');
    expect((html.match(/<caption>/g) ?? []).length).toBeGreaterThanOrEqual(6);
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html.match(/<h2 /g)?.length).toBe(8);
  });

  it('says so when nothing needs attention and no alert is open', () => {
    const html = renderDashboard(
      aView({
        summary: aSummary({ openAlerts: { total: 0, bySeverity: {}, byRule: {} } }),
        attention: { total: 0, limit: 50, devices: [] },
        openAlerts: { total: 0, limit: 100, alerts: [] },
      }),
      OPTIONS,
    );

    expect(html).toContain('No device needs attention.');
    expect(html).toContain('No open alerts.');
    expect(html).not.toContain('<canvas id="chart-alerts"');
    expect(testValue(html, 'alerts-severity-critical')).toBe('0');
  });

  it('shows control and bidirectional characters in names instead of letting them act', () => {
    expect(text('CN=evil\u202egpj.exe\u0000')).toBe('CN=evil\\u{202e}gpj.exe\\u{0000}');
    expect(text('lone \ud800 surrogate')).toBe('lone \\u{d800} surrogate');
    expect(text('CN=café 😀')).toBe('CN=café 😀');
  });
});

describe('the JSON a page embeds', () => {
  it('escapes what could end a script element or break JavaScript, and parses back to the same value', () => {
    const value = { s: '</script><!-- & \u2028\u2029 "quoted"', n: 1 };

    const json = jsonInScript(value);

    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('the dashboard response', () => {
  it('allows only its own inline script, by hash, and Chart.js from certfleet itself', () => {
    const hash = createHash('sha256').update(DASHBOARD_SCRIPT, 'utf8').digest('base64');
    const html = renderDashboard(aView(), OPTIONS);

    expect(DASHBOARD_CSP).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(DASHBOARD_CSP).toContain("default-src 'none'");
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
    expect(html).toContain(`<script>${DASHBOARD_SCRIPT}</script>`);
    expect(html).toContain('<script src="/api/dashboard/chart.js?v=4.6.1"></script>');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('is neither cached, framed nor referred on, since it may carry the caller’s key', () => {
    expect(dashboardHeaders()).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
    });
  });

  it.each([
    ['/api/dashboard', '/api/'],
    ['/api/dashboard/', '/api/'],
    ['/certfleet/v1/dashboard', '/certfleet/v1/'],
    ['/dashboard', '/'],
    ['/somewhere/else', '/api/'],
  ])('finds the API base of %s at %s', (path, base) => {
    expect(dashboardApiBase(path)).toBe(base);
  });

  it('makes no link for an id that is not text (a lone surrogate)', () => {
    expect(historyUrl('/api/', { hub: 'h', deviceId: 'bad\ud800' })).toBeUndefined();
  });
});
