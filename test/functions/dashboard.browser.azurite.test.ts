import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, Page, chromium } from 'playwright-core';
import { loadSettings } from '../../shared/config/settings';
import { ManualClock, isoUtc } from '../../shared/domain/Clock';
import { FleetSummary } from '../../shared/domain/reports/FleetSummary';
import { LocalHost } from '../../shared/local/LocalHost';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { httpTriggers } from '../../shared/local/triggerDefinitions';
import { Services, useServices } from '../../shared/services';
import { FleetOptions, defaultFleetOptions } from '../../shared/simulation/fleet/FleetOptions';
import { runSimulatedFleet } from '../../shared/simulation/fleet/FleetRun';
import { SimulatedFleet } from '../../shared/simulation/fleet/SimulatedFleet';
import { testEnvironment } from '../support/testStorage';

// The same lookup `npm test` runs first (shared/scripts/ensure-browser.js), and its message.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { findChromium, HOW_TO } = require('../../shared/scripts/ensure-browser.js') as {
  findChromium: () => string | undefined;
  HOW_TO: string;
};

/**
 * The dashboard in a real browser (Debian's Chromium, driven by playwright-core), served by the
 * local host from the Functions' own routes, on a fleet in Azurite: a small simulated fleet
 * (real keys, the stand-in DPS, sweeps, alerts) run for 13½ days of virtual time, plus devices
 * whose ids and issuer mean something in HTML and URLs. The numbers on the page must be those
 * of `GET /api/reports/summary`.
 */
const START = '2026-11-01T00:00:00.000Z';
const KEY = 'test-Key_0123456789==';

/**
 * Ids IoT Hub allows that mean something in HTML, URLs and JavaScript, with expired
 * certificates (so they are among the devices needing attention), and an issuer that is markup.
 */
const HOSTILE = [
  { deviceId: "o'clock#1?x=(y)", validUntilDays: -2 },
  { deviceId: "s1-:.+%_#*?!(),=@;$'z", validUntilDays: -3 },
  { deviceId: 'a%2Fb', validUntilDays: -1 },
];
const HOSTILE_ISSUER = 'CN=<img src=x onerror=alert(1)><script>alert(2)</script>';

/** 28 devices and a cohort of 8 for 13½ days, on 7- and 14-day leaves. */
function smallFleet(): FleetOptions {
  return {
    ...defaultFleetOptions(3),
    start: START,
    // Stops part way through a day of renewals: some retrying, some unreachable, alerts open.
    days: 13.5,
    devices: 28,
    cohort: { size: 8, hourStart: '2026-11-04T09:00:00.000Z', tag: 'batch-a', policy: 'weekly' },
    policies: [
      { name: 'weekly', leafValidityDays: 7, share: 0.5 },
      { name: 'fortnightly', leafValidityDays: 14, share: 0.5 },
    ],
    provisioningDays: 5,
    refusalProbability: [0.6, 1],
    mix: {
      'self-renewing': 0.3,
      passive: 0.2,
      'part-time': 0.1,
      refusing: 0.15,
      flaky: 0.1,
      'goes-dark': 0.15,
    },
    // Dark for longer than the run has left: some are unreachable at the end.
    darkDays: [12, 30],
    dpsOutages: [],
    manualRenewals: [],
    renewalsPerMinute: 1,
  };
}

let services: Services;
let host: LocalHost;
let base: string;
let browser: Browser;
let shots: string;

beforeAll(async () => {
  const executablePath = findChromium();
  // Never a silent skip: without a browser this suite fails, saying how to get one.
  if (!executablePath) throw new Error(`no Chromium for the dashboard's browser test: ${HOW_TO}`);
  const options = smallFleet();
  const clock = new ManualClock(options.start);
  const fleet = await SimulatedFleet.create(options, clock);
  const run = await runSimulatedFleet({
    settings: loadSettings(testEnvironment(fleet.environment)),
    clock,
    fleet,
    start: options.start,
    days: options.days,
  });
  services = run.services;
  const now = clock.now().getTime();
  const day = 86_400_000;
  const applied = await services.ingest.apply(
    HOSTILE.map(({ deviceId, validUntilDays }, i) =>
      twinUpdated({ hub: 'sim-hub', deviceId, at: isoUtc(now - 60_000) }, 2 + i, {
        certificate: {
          validFrom: isoUtc(now - 20 * day),
          validUntil: isoUtc(now + validUntilDays * day),
          issuer: HOSTILE_ISSUER,
        },
      }),
    ),
  );
  expect(applied.deadLettered).toBe(0);
  useServices(services);
  host = new LocalHost(httpTriggers);
  base = await host.listen(0);
  browser = await chromium.launch({
    executablePath,
    // Root in a container: Chromium's sandbox needs user namespaces it may not have.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  shots = mkdtempSync(join(tmpdir(), 'certfleet-dashboard-'));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await host?.close();
  useServices(undefined);
  if (shots) rmSync(shots, { recursive: true, force: true });
});

/** A page that records what went wrong in it: script errors, console errors, CSP refusals, dialogs. */
async function openDashboard(width: number): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  const response = await page.goto(`${base}/api/dashboard?code=${encodeURIComponent(KEY)}`);
  expect(response?.status()).toBe(200);
  await page.waitForSelector('html[data-charts="ready"]', { timeout: 15_000 });
  return { page, problems };
}

async function numberOf(page: Page, testId: string): Promise<number> {
  const text = await page.getByTestId(testId).first().textContent();
  expect(text).toMatch(/^\d+$/);
  return Number(text);
}

async function summary(): Promise<FleetSummary> {
  const response = await fetch(`${base}/api/reports/summary`);
  expect(response.status).toBe(200);
  return (await response.json()) as FleetSummary;
}

describe('the dashboard in a browser', () => {
  it('shows the numbers GET /api/reports/summary answers, and draws its charts', async () => {
    const { page, problems } = await openDashboard(1280);
    const expected = await summary();

    expect(await numberOf(page, 'devices-total')).toBe(expected.devices);
    expect(await numberOf(page, 'expired')).toBe(expected.expired);
    expect(await numberOf(page, 'histogram-total')).toBe(
      expected.expiryHistogram.reduce((n, d) => n + d.devices, 0),
    );
    expect(await numberOf(page, 'histogram-expired')).toBe(expected.expired);
    for (const d of expected.expiryHistogram)
      expect(await numberOf(page, `histogram-${d.date}`)).toBe(d.devices);
    expect(await numberOf(page, 'alerts-open')).toBe(expected.openAlerts.total);
    for (const [severity, n] of Object.entries(expected.openAlerts.bySeverity))
      expect(await numberOf(page, `alerts-severity-${severity}`)).toBe(n);
    for (const [rule, n] of Object.entries(expected.openAlerts.byRule)) {
      if (n > 0) expect(await numberOf(page, `alerts-rule-${rule}`)).toBe(n);
    }
    for (const [state, n] of Object.entries(expected.byState))
      expect(await numberOf(page, `state-${state}`)).toBe(n);
    expect(await numberOf(page, 'state-total')).toBe(expected.devices);
    const outcomes = expected.renewalOutcomes;
    expect(await numberOf(page, 'outcomes-renewed')).toBe(
      outcomes.reduce((n, d) => n + d.renewed, 0),
    );
    expect(await numberOf(page, 'outcomes-failed')).toBe(
      outcomes.reduce((n, d) => n + d.failed, 0),
    );
    expect(await numberOf(page, 'outcomes-expired')).toBe(
      outcomes.reduce((n, d) => n + d.expired, 0),
    );

    // A fleet worth a dashboard: the run left devices in more than one state, some expired,
    // some renewed, some alerts open.
    expect(Object.values(expected.byState).filter((n) => n > 0).length).toBeGreaterThanOrEqual(4);
    expect(expected.expired).toBeGreaterThan(0);
    expect(expected.openAlerts.total).toBeGreaterThan(0);
    expect(outcomes.some((d) => d.renewed > 0)).toBe(true);

    // Each chart is drawn by Chart.js on a canvas of some size. (Run in the page: the tests are
    // compiled without the DOM's types, so the page's code is given as text.)
    const charts = (await page.evaluate(`
      ['chart-states', 'chart-expiry', 'chart-outcomes', 'chart-alerts'].map((id) => {
        const canvas = document.getElementById(id);
        const drawn = canvas !== null && window.Chart.getChart(canvas) !== undefined;
        return { id, drawn, width: canvas ? canvas.width : 0 };
      })
    `)) as { id: string; drawn: boolean; width: number }[];
    expect(charts.map((c) => c.id)).toHaveLength(4);
    for (const c of charts) {
      expect(c).toMatchObject({ drawn: true });
      expect(c.width).toBeGreaterThan(100);
    }
    const shot = join(shots, 'dashboard-1280.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    expect(problems).toEqual([]);
    await page.close();
  });

  it("links the most urgent device to its history with the page's key, and the link answers", async () => {
    const { page, problems } = await openDashboard(1280);

    const first = page.getByTestId('attention-row').first().getByTestId('history-link');
    const href = await first.getAttribute('href');
    const shownId = await first.textContent();
    const url = new URL(href!, base);
    expect(url.pathname).toMatch(/^\/api\/devices\/[^/]+\/history$/);
    expect(decodeURIComponent(url.pathname.split('/')[3]!)).toBe(shownId);
    expect(url.searchParams.get('hub')).toBe('sim-hub');
    expect(url.searchParams.get('code')).toBe(KEY);

    const history = await page.request.get(url.toString());
    expect(history.status()).toBe(200);
    expect(((await history.json()) as { deviceId?: string }).deviceId).toBe(shownId);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows hostile device ids and issuers as text, runs none of them, and links them to their own history', async () => {
    const { page, problems } = await openDashboard(1280);

    const shownIds = await page.getByTestId('history-link').allTextContents();
    for (const { deviceId } of HOSTILE) expect(shownIds).toContain(deviceId);
    const issuerCells = await page.locator('td', { hasText: HOSTILE_ISSUER }).count();
    expect(issuerCells).toBeGreaterThan(0);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(3);
    for (const { deviceId } of HOSTILE) {
      const link = page.getByTestId('history-link').filter({ hasText: deviceId }).first();
      const url = new URL((await link.getAttribute('href'))!, base);
      const answer = await page.request.get(url.toString());
      expect(answer.status()).toBe(200);
      expect(((await answer.json()) as { deviceId?: string }).deviceId ?? '').toBe(deviceId);
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('fits a narrow window without scrolling sideways', async () => {
    const { page, problems } = await openDashboard(360);

    const overflow = (await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    )) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, 'dashboard-360.png'), fullPage: true });
    expect(existsSync(join(shots, 'dashboard-360.png'))).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('serves Chart.js itself, with the version in the URL and a year of caching', async () => {
    const response = await fetch(`${base}/api/dashboard`);
    const html = await response.text();
    const src = /<script src="([^"]+)"><\/script>/.exec(html)?.[1];

    expect(src).toMatch(/^\/api\/dashboard\/chart\.js\?v=4\.6\.1$/);
    const script = await fetch(`${base}${src!}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await script.text()).startsWith('/*!\n * Chart.js v4.6.1')).toBe(true);
  });
});
