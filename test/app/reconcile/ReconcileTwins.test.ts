import { X509CertificateInspector } from '../../../shared/adapters/x509/X509CertificateInspector';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { IngestIotHubEvents } from '../../../shared/app/ingest/IngestIotHubEvents';
import { ReconcileTwins } from '../../../shared/app/reconcile/ReconcileTwins';
import { TransientFault, TwinPage, TwinQueryFailed, TwinSource } from '../../../shared/app/ports';
import { MINUTE_MS, ManualClock } from '../../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY } from '../../../shared/domain/RenewalPolicy';
import { deviceDeleted } from '../../../shared/local/iotHubMessages';
import { InMemoryAuditTrail, InMemoryDeadLetters, InMemoryLedger } from '../../support/memoryPorts';

const NOW = '2026-11-27T12:00:00.000Z';

/** A device twin as IoT Hub's query returns it, reporting a certificate unless told otherwise. */
function aTwin(
  deviceId: string,
  options: {
    reportedVersion?: number;
    lastUpdated?: string;
    certificate?: Record<string, unknown> | null;
    tags?: Record<string, unknown>;
  } = {},
) {
  const lastUpdated = options.lastUpdated ?? '2026-11-20T08:00:00.0000000Z';
  const certificate =
    options.certificate === null
      ? {}
      : {
          certificate: options.certificate ?? {
            validFrom: '2026-11-01T00:00:00Z',
            validUntil: '2026-12-01T00:00:00Z',
          },
        };
  return {
    deviceId,
    etag: 'AAAAAAAAAAE=',
    deviceEtag: 'NjQ0MzU1NjEz',
    status: 'enabled',
    connectionState: 'Connected',
    authenticationType: 'selfSigned',
    version: (options.reportedVersion ?? 3) + 2,
    tags: options.tags ?? {},
    properties: {
      desired: { $metadata: { $lastUpdated: '2026-11-01T00:00:00Z' }, $version: 1 },
      reported: {
        firmware: '1.4.2',
        ...certificate,
        $metadata: { $lastUpdated: lastUpdated },
        $version: options.reportedVersion ?? 3,
      },
    },
  };
}

type Script = (hub: string, continuation: string | undefined, call: number) => void;

/**
 * A twin source whose pages and failures the test writes: page N's continuation is `N`. Each
 * query is logged with the clock time it was asked at.
 */
class ScriptedTwins implements TwinSource {
  readonly queries: { hub: string; continuation?: string; at: string }[] = [];
  /** Throw from here to fail a query. */
  script: Script = () => undefined;

  constructor(
    private readonly clock: ManualClock,
    readonly pages: Map<string, unknown[][]>,
  ) {}

  get hubs() {
    return [...this.pages.keys()];
  }

  async queryTwins(hub: string, continuation?: string): Promise<TwinPage> {
    const call = this.queries.filter((q) => q.hub === hub).length;
    this.queries.push({
      hub,
      ...(continuation !== undefined ? { continuation } : {}),
      at: this.clock.now().toISOString(),
    });
    this.script(hub, continuation, call);
    const pages = this.pages.get(hub) ?? [[]];
    const index = continuation === undefined ? 0 : Number(continuation);
    const more = index + 1 < pages.length;
    return { twins: pages[index] ?? [], ...(more ? { continuation: String(index + 1) } : {}) };
  }
}

function aReconcile(
  pages: Record<string, unknown[][]>,
  options: { queriesPerMinute?: number; ingest?: (m: RawIotHubMessage[]) => void } = {},
) {
  const clock = new ManualClock(NOW);
  const ledger = new InMemoryLedger();
  const audit = new InMemoryAuditTrail();
  const deadLetters = new InMemoryDeadLetters();
  const ingest = new IngestIotHubEvents({
    ledger,
    audit,
    deadLetters,
    inspector: new X509CertificateInspector(undefined),
    clock,
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: 32 * 1024,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
      cohortTag: 'cohort',
    },
  });
  const twins = new ScriptedTwins(clock, new Map(Object.entries(pages)));
  const sleeps: number[] = [];
  const batches: number[] = [];
  const reconcile = new ReconcileTwins({
    twins,
    ingest: {
      apply: async (messages) => {
        batches.push(messages.length);
        options.ingest?.([...messages]);
        return ingest.apply(messages);
      },
    },
    clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.advance(ms);
    },
    settings: { queriesPerMinute: options.queriesPerMinute ?? 10 },
  });
  return { reconcile, twins, clock, ledger, audit, deadLetters, ingest, sleeps, batches };
}

const throttled = (retryAfterMs?: number) =>
  new TwinQueryFailed('throttled', 'hub hub-a: IoT Hub throttled the twin query (429 429001)', {
    status: 429,
    errorCode: 429001,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
const unavailable = () =>
  new TwinQueryFailed('unavailable', 'hub hub-a: IoT Hub is unavailable (503)', { status: 503 });
const millisBetween = (a?: string, b?: string) => Date.parse(b ?? '') - Date.parse(a ?? '');

describe('ReconcileTwins', () => {
  it("imports every hub's twins through ingest: devices reporting a certificate get a record, the others none", async () => {
    const { reconcile, ledger } = aReconcile({
      'hub-a': [[aTwin('a-1'), aTwin('a-2'), aTwin('a-3', { certificate: null })], [aTwin('a-4')]],
      'hub-b': [[aTwin('b-1')]],
    });

    const report = await reconcile.reconcile();

    expect(report.hubs).toMatchObject([
      { hub: 'hub-a', outcome: 'complete', pages: 2, twins: 4, applied: 3, irrelevant: 1 },
      { hub: 'hub-b', outcome: 'complete', pages: 1, twins: 1, applied: 1 },
    ]);
    expect(report.totals).toMatchObject({ pages: 3, twins: 5, applied: 4, irrelevant: 1 });
    expect([...ledger.records.keys()].sort()).toEqual([
      'hub-a/a-1',
      'hub-a/a-2',
      'hub-a/a-4',
      'hub-b/b-1',
    ]);
    expect(ledger.get('a-1', 'hub-a')).toMatchObject({
      lifecycle: 'active',
      reportedVersion: 3,
      current: { validUntil: '2026-12-01T00:00:00.000Z', firstSeenAt: '2026-11-20T08:00:00.000Z' },
    });
  });

  it('applies a newer reported version (an event missed), and changes nothing for the same or an older one', async () => {
    const { reconcile, twins, ledger, audit } = aReconcile({
      'hub-a': [
        [
          aTwin('d-1', { reportedVersion: 4 }),
          aTwin('d-2', { reportedVersion: 4 }),
          aTwin('d-3', { reportedVersion: 6 }),
        ],
      ],
    });
    await reconcile.reconcile();
    const etagOf = (id: string) => ledger.records.get(`hub-a/${id}`)?.etag;
    const before = ['d-2', 'd-3'].map(etagOf);
    const renewed = {
      validFrom: '2026-11-25T00:00:00Z',
      validUntil: '2026-12-25T00:00:00Z',
      serialNumber: 'BADC0DE',
    };
    twins.pages.set('hub-a', [
      [
        aTwin('d-1', {
          reportedVersion: 9,
          certificate: renewed,
          lastUpdated: '2026-11-25T06:00:00Z',
        }),
        aTwin('d-2', { reportedVersion: 4 }),
        // A lagging query answer: older than what the ledger has.
        aTwin('d-3', { reportedVersion: 5 }),
      ],
    ]);

    const report = await reconcile.reconcile();

    expect(report.totals).toMatchObject({ applied: 1, duplicate: 1, stale: 1, auditWritten: 1 });
    expect(['d-2', 'd-3'].map(etagOf)).toEqual(before);
    expect(ledger.get('d-1', 'hub-a')).toMatchObject({
      reportedVersion: 9,
      current: { validUntil: '2026-12-25T00:00:00.000Z', serialNumber: 'BADC0DE' },
    });
    expect(
      audit
        .all()
        .filter((e) => e.deviceId === 'd-1')
        .map((e) => e.type),
    ).toEqual(['certificate.first-seen', 'certificate.renewed']);
  });

  it('feeds a page to ingest in batches of at most 100 events, as the Event Hubs trigger does', async () => {
    const page = Array.from({ length: 250 }, (_, i) => aTwin(`d-${i}`, { certificate: null }));
    const { reconcile, batches } = aReconcile({ 'hub-a': [page] });
    const report = await reconcile.reconcile();
    expect(batches).toEqual([100, 100, 50]);
    expect(report.totals).toMatchObject({ twins: 250, irrelevant: 250 });
  });

  it('hands ingest replaceTwin events dated by the twin’s last report', async () => {
    const seen: RawIotHubMessage[] = [];
    const { reconcile } = aReconcile(
      { 'hub-a': [[aTwin('d-1', { lastUpdated: '2026-11-20T08:00:00.1234567Z' })]] },
      { ingest: (m) => seen.push(...m) },
    );
    await reconcile.reconcile();
    expect(seen[0]?.properties).toMatchObject({
      hubName: 'hub-a',
      deviceId: 'd-1',
      opType: 'replaceTwin',
      operationTimestamp: '2026-11-20T08:00:00.123Z',
    });
    expect(seen[0]?.systemProperties).toMatchObject({
      'iothub-message-source': 'twinChangeEvents',
      'iothub-enqueuedtime': NOW,
    });
  });

  it('does not bring back a device deleted after its last report, though the query still answers its twin (results lag up to 30 minutes)', async () => {
    const { reconcile, ledger, ingest } = aReconcile({
      'hub-a': [[aTwin('gone', { lastUpdated: '2026-11-27T11:00:00Z' })]],
    });
    await ingest.apply([
      deviceDeleted({ hub: 'hub-a', deviceId: 'gone', at: '2026-11-27T11:50:00.000Z' }),
    ]);

    const report = await reconcile.reconcile();

    expect(report.totals).toMatchObject({ applied: 0, stale: 1 });
    expect(ledger.get('gone', 'hub-a')?.lifecycle).toBe('deleted');
  });

  it('does not flag a certificate that expired since it was reported as expired when reported', async () => {
    const { reconcile, ledger } = aReconcile({
      'hub-a': [
        [
          aTwin('offline-for-weeks', {
            lastUpdated: '2026-10-02T00:00:00Z',
            certificate: { validFrom: '2026-10-01T00:00:00Z', validUntil: '2026-10-31T00:00:00Z' },
          }),
        ],
      ],
    });
    await reconcile.reconcile();
    const record = ledger.get('offline-for-weeks', 'hub-a');
    expect(record?.current?.validUntil).toBe('2026-10-31T00:00:00.000Z');
    expect(record?.findings.map((f) => f.code)).not.toContain('expired-when-reported');
  });

  it('never asks one hub for more pages a minute than configured, spacing them evenly', async () => {
    const pages = Array.from({ length: 7 }, (_, i) => [aTwin(`d-${i}`, { certificate: null })]);
    const { reconcile, twins } = aReconcile(
      { 'hub-a': pages, 'hub-b': pages },
      { queriesPerMinute: 3 },
    );

    await reconcile.reconcile();

    for (const hub of ['hub-a', 'hub-b']) {
      const times = twins.queries.filter((q) => q.hub === hub).map((q) => Date.parse(q.at));
      expect(times).toHaveLength(7);
      for (let i = 1; i < times.length; i += 1) {
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(20_000);
      }
      const perMinute = new Map<number, number>();
      for (const t of times) {
        const minute = Math.floor(t / MINUTE_MS);
        perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
      }
      expect(Math.max(...perMinute.values())).toBe(3);
    }
  });

  it('waits out a 429 for as long as the hub asks, then asks for the same page again', async () => {
    const { reconcile, twins } = aReconcile({
      'hub-a': [[aTwin('d-1')], [aTwin('d-2')]],
    });
    twins.script = (_hub, _continuation, call) => {
      if (call === 1) throw throttled(40_000);
    };

    const report = await reconcile.reconcile();

    expect(twins.queries.map((q) => q.continuation)).toEqual([undefined, '1', '1']);
    expect(millisBetween(twins.queries[1]?.at, twins.queries[2]?.at)).toBe(40_000);
    expect(report.hubs[0]).toMatchObject({
      outcome: 'complete',
      pages: 2,
      applied: 2,
      throttled: 1,
    });
  });

  it('backs off 15 s, doubling, while the hub keeps throttling without saying how long', async () => {
    const { reconcile, twins } = aReconcile({ 'hub-a': [[aTwin('d-1')]] });
    twins.script = (_hub, _continuation, call) => {
      if (call < 3) throw throttled();
    };

    await reconcile.reconcile();

    const at = twins.queries.map((q) => q.at);
    expect([1, 2, 3].map((i) => millisBetween(at[i - 1], at[i]))).toEqual([15_000, 30_000, 60_000]);
  });

  it('gives a hub up after 6 throttled answers on one page, and the other hub still completes', async () => {
    const { reconcile, twins } = aReconcile({
      'hub-a': [[aTwin('a-1')]],
      'hub-b': [[aTwin('b-1')]],
    });
    twins.script = (hub) => {
      if (hub === 'hub-a') throw throttled();
    };

    const report = await reconcile.reconcile();

    expect(twins.queries.filter((q) => q.hub === 'hub-a')).toHaveLength(7);
    expect(report.hubs).toMatchObject([
      {
        hub: 'hub-a',
        outcome: 'failed',
        throttled: 7,
        problem: expect.stringMatching(/gave up after 7 tries/),
      },
      { hub: 'hub-b', outcome: 'complete', applied: 1 },
    ]);
  });

  it('gives a hub up at once when it asks to wait longer than 15 minutes (a spent daily quota)', async () => {
    const { reconcile, twins } = aReconcile({ 'hub-a': [[aTwin('a-1')]] });
    twins.script = () => {
      throw new TwinQueryFailed('throttled', 'hub hub-a: the daily message quota is spent', {
        status: 403,
        errorCode: 403002,
        retryAfterMs: 12 * 60 * MINUTE_MS,
      });
    };
    const report = await reconcile.reconcile();
    expect(twins.queries).toHaveLength(1);
    expect(report.hubs[0]).toMatchObject({
      outcome: 'failed',
      problem: expect.stringMatching(/asks to wait 720 min/),
    });
  });

  it('asks again after the hub was unavailable, up to 3 times a page', async () => {
    const flaky = aReconcile({ 'hub-a': [[aTwin('a-1')]] });
    flaky.twins.script = (_hub, _continuation, call) => {
      if (call < 2) throw unavailable();
    };
    expect((await flaky.reconcile.reconcile()).hubs[0]).toMatchObject({
      outcome: 'complete',
      retried: 2,
      applied: 1,
    });

    const down = aReconcile({ 'hub-a': [[aTwin('a-1')]] });
    down.twins.script = () => {
      throw unavailable();
    };
    expect((await down.reconcile.reconcile()).hubs[0]).toMatchObject({
      outcome: 'failed',
      retried: 3,
      problem: expect.stringMatching(/IoT Hub is unavailable/),
    });
    expect(down.twins.queries).toHaveLength(4);
  });

  it('reports a hub that refuses certfleet at once, without asking it again', async () => {
    const { reconcile, twins } = aReconcile({
      'hub-a': [[aTwin('a-1')]],
      'hub-b': [[aTwin('b-1')]],
    });
    twins.script = (hub) => {
      if (hub === 'hub-a')
        throw new TwinQueryFailed(
          'refused',
          "hub hub-a: IoT Hub refused certfleet's credentials or role (401)",
        );
    };
    const report = await reconcile.reconcile();
    expect(twins.queries.filter((q) => q.hub === 'hub-a')).toHaveLength(1);
    expect(report.hubs.map((h) => h.outcome)).toEqual(['failed', 'complete']);
    expect(report.hubs[0]?.problem).toMatch(/refused certfleet's credentials/);
  });

  it('reports a hub that hands back the continuation token it was given, instead of looping', async () => {
    const { reconcile, twins } = aReconcile({ 'hub-a': [[aTwin('a-1')], [aTwin('a-2')]] });
    const query = twins.queryTwins.bind(twins);
    twins.queryTwins = async (hub, continuation) => ({
      ...(await query(hub, continuation)),
      continuation: '1',
    });
    const report = await reconcile.reconcile();
    expect(report.hubs[0]).toMatchObject({ outcome: 'failed', pages: 1 });
    expect(twins.queries).toHaveLength(2);
  });

  it('stops asking for pages when its time budget is spent, and says the hub was stopped', async () => {
    const pages = Array.from({ length: 5 }, (_, i) => [aTwin(`d-${i}`)]);
    const { reconcile, twins } = aReconcile({ 'hub-a': pages }, { queriesPerMinute: 2 });

    const report = await reconcile.reconcile({ timeBudgetMs: 90_000 });

    // Pages at 0 s, 30 s and 60 s; the fourth would go at 90 s, when the budget is spent.
    expect(twins.queries).toHaveLength(3);
    expect(report.hubs[0]).toMatchObject({ outcome: 'stopped', pages: 3, applied: 3 });
  });

  it('reconciles only the hubs it is told to', async () => {
    const { reconcile, twins } = aReconcile({
      'hub-a': [[aTwin('a-1')]],
      'hub-b': [[aTwin('b-1')]],
    });
    const report = await reconcile.reconcile({ hubs: ['hub-b'] });
    expect(report.hubs.map((h) => h.hub)).toEqual(['hub-b']);
    expect(twins.queries.map((q) => q.hub)).toEqual(['hub-b']);
  });

  it('fails the whole reconcile on a storage fault, as ingest does', async () => {
    const { reconcile } = aReconcile(
      { 'hub-a': [[aTwin('a-1')]] },
      {
        ingest: () => {
          throw new TransientFault('table service timed out');
        },
      },
    );
    await expect(reconcile.reconcile()).rejects.toBeInstanceOf(TransientFault);
  });
});
