import { InvocationContext, Timer } from '@azure/functions';
import { reconcileTwinsTrigger, runReconcile } from '../../functions/reconcileTwins';
import { loadSettings } from '../../shared/config/settings';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { MINUTE_MS, ManualClock } from '../../shared/domain/Clock';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { twinUpdated } from '../../shared/local/iotHubMessages';
import { StandInIotHub } from '../../shared/local/StandInIotHub';
import { Services, buildServices, useServices } from '../../shared/services';
import { IssuedLeaf, TestPki, aPki } from '../support/certificates';
import { testEnvironment } from '../support/testStorage';

/**
 * Backfill and reconcile end to end: the real services on Azurite, the real twin-query adapter
 * over HTTP to the stand-in IoT Hub (SAS tokens checked), a ManualClock that the reconcile's
 * paced waits move instead of sleeping.
 */
const HUB = 'contoso-hub';
const KEY = Buffer.from('contoso hub service policy key..').toString('base64');
const CONNECTION = `HostName=${HUB}.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY}`;
const START = '2026-11-27T03:30:00.000Z';
const IMPORTED_ON = '2026-11-02';
const PAGES_PER_MINUTE = 3;
const TWINS_PER_PAGE = 7;

let pki: TestPki;
let camera: IssuedLeaf;
let cameraRenewed: IssuedLeaf;

beforeAll(async () => {
  pki = await aPki();
  camera = await pki.leaf('fleet-03').validFrom('2026-11-01T00:00:00Z').forDays(30).issue();
  cameraRenewed = await pki.leaf('fleet-03').validFrom('2026-11-25T00:00:00Z').forDays(30).issue();
});

/** A device twin as IoT Hub's query answers it. */
function aTwin(
  deviceId: string,
  reportedVersion: number,
  reported: Record<string, unknown>,
  lastUpdated: string,
) {
  return {
    deviceId,
    etag: 'AAAAAAAAAAM=',
    deviceEtag: 'ODI3NzI5Njc5',
    status: 'enabled',
    statusUpdateTime: '0001-01-01T00:00:00Z',
    connectionState: 'Connected',
    lastActivityTime: lastUpdated,
    cloudToDeviceMessageCount: 0,
    authenticationType: 'selfSigned',
    x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
    version: reportedVersion + 3,
    tags: { site: 'plant-4' },
    properties: {
      desired: { $metadata: { $lastUpdated: '2026-11-01T00:00:00.0000000Z' }, $version: 1 },
      reported: {
        ...reported,
        $metadata: { $lastUpdated: lastUpdated },
        $version: reportedVersion,
      },
    },
    capabilities: { iotEdge: false },
  };
}

/**
 * 30 devices: fleet-00 to fleet-19 report a certificate (fleet-03 with its PEM chain, the others
 * the fields Microsoft asks for), fleet-20 to fleet-29 report none (firmware only).
 */
function existingFleet(): Map<string, ReturnType<typeof aTwin>> {
  const fleet = new Map<string, ReturnType<typeof aTwin>>();
  for (let i = 0; i < 30; i += 1) {
    const id = `fleet-${String(i).padStart(2, '0')}`;
    const lastUpdated = `${IMPORTED_ON}T0${i % 10}:15:00.1234567Z`;
    const reported: Record<string, unknown> =
      i === 3
        ? { certificate: camera.report({ thumbprint: camera.sha256 }) }
        : i < 20
          ? {
              firmware: '2.1.0',
              certificate: {
                validFrom: '2026-11-01T00:00:00Z',
                validUntil: '2026-12-01T00:00:00Z',
              },
            }
          : { firmware: '2.1.0' };
    fleet.set(id, aTwin(id, 4, reported, lastUpdated));
  }
  return fleet;
}

interface World {
  services: Services;
  clock: ManualClock;
  hub: StandInIotHub;
  fleet: Map<string, ReturnType<typeof aTwin>>;
  /** Numbers of the query calls (0-based) the hub answers 429. */
  throttle: Set<number>;
}

const worlds: World[] = [];
afterAll(async () => {
  for (const world of worlds) await world.hub.stop();
});

async function aWorld(): Promise<World> {
  const clock = new ManualClock(START);
  const fleet = existingFleet();
  const throttle = new Set<number>();
  let queryCalls = 0;
  const hub = new StandInIotHub(() => 'not-found', {
    sharedAccessKeys: { service: KEY },
    now: () => clock.now(),
    throttleRetryAfterSeconds: 45,
    maxTwinsPerPage: TWINS_PER_PAGE,
    twins: (hubName) => {
      const call = queryCalls++;
      if (throttle.has(call)) return 'throttled';
      return hubName === HUB ? [...fleet.values()] : [];
    },
  });
  const { url } = await hub.start();
  const env = testEnvironment({
    IotHub: CONNECTION,
    CERTFLEET_IOTHUB_ENDPOINT: url,
    CERTFLEET_TWIN_QUERIES_PER_MINUTE: String(PAGES_PER_MINUTE),
    CERTFLEET_TRUST_BUNDLE: pki.trustBundlePem,
  });
  const services = buildServices(loadSettings(env), {
    clock,
    // Nothing really waits: a paced wait moves the clock, and the stand-in hub sees that time.
    sleep: async (ms) => clock.advance(ms),
  });
  const world = { services, clock, hub, fleet, throttle };
  worlds.push(world);
  return world;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function auditOf(services: Services, dates: string[]): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (const date of dates) entries.push(...(await collect(services.audit.readDate(date))));
  return entries;
}

function reconcileOf(services: Services) {
  if (!services.reconcile) throw new Error('expected reconcile with an IoT Hub configured');
  return services.reconcile;
}

const byId = (records: DeviceRecord[]) =>
  Object.fromEntries(records.map((r) => [r.deviceId, r])) as Record<string, DeviceRecord>;

describe('backfill and reconcile from the twin query, on Azurite', () => {
  it('imports an existing fleet: a record and a certificate.first-seen audit record for each device reporting a certificate, none for the others', async () => {
    const { services } = await aWorld();

    const report = await reconcileOf(services).reconcile();

    expect(report.hubs).toEqual([
      expect.objectContaining({ hub: HUB, outcome: 'complete', pages: 5, twins: 30 }),
    ]);
    expect(report.totals).toMatchObject({
      applied: 20,
      duplicate: 0,
      stale: 0,
      irrelevant: 10,
      deadLettered: 0,
      // 20 certificate.first-seen, and 20 device-silent alerts: their twins were last updated
      // on 2 November, 25 days before, with renewal due.
      auditWritten: 40,
      throttled: 0,
    });
    const records = byId(await collect(services.ledger.list({ hub: HUB })));
    expect(Object.keys(records).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `fleet-${String(i).padStart(2, '0')}`),
    );
    expect(records['fleet-03']).toMatchObject({
      lifecycle: 'active',
      reportedVersion: 4,
      current: {
        source: 'pem',
        thumbprintSha256: camera.sha256,
        firstSeenAt: `${IMPORTED_ON}T03:15:00.123Z`,
      },
      findings: [],
    });
    // Its audit entries are in the trail: read as a use case reads it, none is pending.
    expect(
      (await services.ledger.read({ hub: HUB, deviceId: 'fleet-03' }))?.value.pendingAudit,
    ).toEqual([]);
    expect(records['fleet-07']).toMatchObject({
      current: { source: 'reported', validUntil: '2026-12-01T00:00:00.000Z' },
    });
    const audit = await auditOf(services, [IMPORTED_ON]);
    expect(audit.filter((e) => e.type === 'certificate.first-seen')).toHaveLength(20);
    expect(await collect(services.deadLetters.list())).toHaveLength(0);
  });

  it('applies the newer certificate of a device whose twin moved on while its events were missed, with a certificate.renewed audit record; the next reconcile changes nothing', async () => {
    const { services, fleet, clock } = await aWorld();
    const reconcile = reconcileOf(services);
    await reconcile.reconcile();
    // Missed: fleet-03 renewed (reported $version 4 -> 6). Not missed, but not yet in the
    // query's answer (results lag up to 30 minutes): fleet-05's live report of $version 8.
    fleet.set(
      'fleet-03',
      aTwin(
        'fleet-03',
        6,
        { certificate: cameraRenewed.report({ thumbprint: cameraRenewed.sha256 }) },
        '2026-11-26T09:00:00.0000000Z',
      ),
    );
    await services.ingest.apply([
      twinUpdated({ hub: HUB, deviceId: 'fleet-05', at: '2026-11-27T02:00:00.000Z' }, 8, {
        certificate: { validFrom: '2026-11-26T00:00:00Z', validUntil: '2026-12-26T00:00:00Z' },
      }),
    ]);
    clock.advance(24 * 60 * MINUTE_MS);

    const second = await reconcile.reconcile();

    expect(second.totals).toMatchObject({
      twins: 30,
      applied: 1,
      duplicate: 18,
      stale: 1,
      irrelevant: 10,
      // certificate.renewed, and its device-silent alert resolved: the device was heard from.
      auditWritten: 2,
    });
    const records = byId(await collect(services.ledger.list({ hub: HUB })));
    expect(records['fleet-03']).toMatchObject({
      reportedVersion: 6,
      current: { thumbprintSha256: cameraRenewed.sha256, validUntil: cameraRenewed.validUntil },
      previous: { thumbprintSha256: camera.sha256 },
      findings: [],
    });
    expect(records['fleet-05']).toMatchObject({
      reportedVersion: 8,
      current: { validUntil: '2026-12-26T00:00:00.000Z' },
    });
    const renewed = (await auditOf(services, ['2026-11-26'])).filter(
      (e) => e.type === 'certificate.renewed',
    );
    expect(renewed).toEqual([
      expect.objectContaining({
        deviceId: 'fleet-03',
        reportedVersion: 6,
        opType: 'replaceTwin',
        occurredAt: '2026-11-26T09:00:00.000Z',
        old: expect.objectContaining({ thumbprintSha256: camera.sha256 }),
        new: expect.objectContaining({ thumbprintSha256: cameraRenewed.sha256 }),
      }),
    ]);

    const ledgerBefore = await collect(services.ledger.list({ hub: HUB }));
    const auditDates = [IMPORTED_ON, '2026-11-26', '2026-11-27'];
    const auditBefore = await auditOf(services, auditDates);
    clock.advance(24 * 60 * MINUTE_MS);

    const third = await reconcile.reconcile();

    expect(third.totals).toMatchObject({ applied: 0, auditWritten: 0, deadLettered: 0 });
    expect(await collect(services.ledger.list({ hub: HUB }))).toEqual(ledgerBefore);
    expect(await auditOf(services, auditDates)).toHaveLength(auditBefore.length);
  });

  it('never asks for more pages a minute than CERTFLEET_TWIN_QUERIES_PER_MINUTE, and asks for a throttled page again after the back-off', async () => {
    const { services, hub, throttle } = await aWorld();
    throttle.add(1); // the second query call: page 2

    const report = await reconcileOf(services).reconcile();

    expect(report.hubs[0]).toMatchObject({
      outcome: 'complete',
      pages: 5,
      twins: 30,
      applied: 20,
      throttled: 1,
    });
    const queries = hub.queries;
    expect(queries.map((q) => q.status)).toEqual([200, 429, 200, 200, 200, 200]);
    // The throttled page is asked for again, with the same continuation token, once the 45 s
    // the hub asked for (Retry-After) have passed.
    expect(queries[2]?.continuation).toBe(queries[1]?.continuation);
    expect(queries[1]?.continuation).toBeDefined();
    expect(Date.parse(queries[2]!.at) - Date.parse(queries[1]!.at)).toBe(45_000);
    const perMinute = new Map<string, number>();
    for (const q of queries)
      perMinute.set(q.at.slice(0, 16), (perMinute.get(q.at.slice(0, 16)) ?? 0) + 1);
    expect(Math.max(...perMinute.values())).toBe(PAGES_PER_MINUTE);
    expect(perMinute.size).toBeGreaterThan(1);
    expect(queries.every((q) => q.hub === HUB && q.maxItemCount === '100')).toBe(true);
  });

  it('runs daily as the timer function reconcileTwins, logging what it did', async () => {
    const { services } = await aWorld();
    const logged: string[] = [];
    const context = new InvocationContext({
      functionName: 'reconcileTwins',
      invocationId: 'integration-test',
      logHandler: (_level, ...args) => logged.push(args.map(String).join(' ')),
    });
    const timer = { isPastDue: false } as unknown as Timer;
    useServices(services);
    try {
      const report = await runReconcile(timer, context);
      expect(report?.totals).toMatchObject({ twins: 30, applied: 20 });
    } finally {
      useServices(undefined);
    }
    expect(reconcileTwinsTrigger.options.schedule).toBe('0 30 3 * * *');
    expect(logged[0]).toMatch(/^hub contoso-hub: complete; 5 pages, 30 twins: 20 applied/);
    expect(logged[1]).toMatch(
      /^reconcile 2026-11-27T03:30:00.000Z to 2026-11-27T03:31:20.000Z: 1 hubs;/,
    );
  });
});
