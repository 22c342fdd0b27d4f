import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCheckpointKey } from '../../../shared/adapters/keys/LocalCheckpointKey';
import { TakeCheckpoint } from '../../../shared/app/audit/TakeCheckpoint';
import { VerifyAuditTrail } from '../../../shared/app/audit/VerifyAuditTrail';
import { ManualClock, isoUtc } from '../../../shared/domain/Clock';
import { anAuditEntry } from '../../support/auditEntries';
import { MemoryAuditBlobs, MemoryCheckpointStore } from '../../support/memoryCheckpoints';

/**
 * Five days of a trail, one record an hour alternating between two shards, each hour sealed by
 * the scheduled checkpoint at :05: 120 checkpoints, the daily (full) ones at 00:05 being
 * numbers 1, 25, 49, 73 and 97.
 */
const DAYS = ['2026-11-20', '2026-11-21', '2026-11-22', '2026-11-23', '2026-11-24'] as const;
const [D1, D2, D3, , D5] = DAYS;
const blobName = (day: string, shard: number) =>
  `${day.replaceAll('-', '/')}/shard-${String(shard).padStart(2, '0')}.jsonl`;

let key: LocalCheckpointKey;

beforeAll(() => {
  key = new LocalCheckpointKey(join(mkdtempSync(join(tmpdir(), 'certfleet-key-')), 'key.pem'));
});

let history: { blobs: MemoryAuditBlobs; store: MemoryCheckpointStore };

beforeAll(async () => {
  const blobs = new MemoryAuditBlobs();
  const store = new MemoryCheckpointStore();
  const clock = new ManualClock(`${D1}T00:00:00.000Z`);
  const checkpointer = new TakeCheckpoint({ blobs, store, signer: key, keys: key, clock });
  for (const day of DAYS) {
    for (let hour = 0; hour < 24; hour += 1) {
      const hh = String(hour).padStart(2, '0');
      clock.set(`${day}T${hh}:00:00.000Z`);
      const at = isoUtc(clock.now());
      blobs.appendEntries(
        blobName(day, hour % 2),
        [anAuditEntry({ occurredAt: at, recordedAt: at })],
        at,
      );
      clock.set(`${day}T${hh}:05:00.000Z`);
      await checkpointer.runScheduled();
    }
  }
  history = { blobs, store };
});

/** A fresh copy of the five days, to verify (or tamper with) half an hour after the last. */
function fiveDaysOfCheckpoints() {
  const blobs = history.blobs.copy();
  const store = history.store.copy();
  const clock = new ManualClock(`${D5}T23:30:00.000Z`);
  const verifier = new VerifyAuditTrail({ blobs, store, keys: key, clock });
  return { blobs, store, clock, verifier };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('VerifyAuditTrail', () => {
  it('verifies an untouched trail: every record sealed, every checkpoint valid', async () => {
    const { store, verifier } = fiveDaysOfCheckpoints();

    const report = await verifier.run({ from: D1, to: D5 });

    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      from: D1,
      to: D5,
      at: `${D5}T23:30:00.000Z`,
      checkpoints: { read: 120, valid: 120, newest: { seq: 120, at: `${D5}T23:05:00.000Z` } },
      blobs: 10,
      records: 120,
      sealed: 120,
      pending: { records: 0, blobs: [] },
      recordedBreaks: 0,
    });
    expect(await store.list()).toHaveLength(120);
  });

  it('reads the checkpoints back only to the last full one taken before the day before the range', async () => {
    const { blobs, store, verifier } = fiveDaysOfCheckpoints();

    const report = await verifier.run({ from: D5, to: D5 });

    // The range starts on D5, so the window reaches back past D4's midnight to D3's daily
    // checkpoint, number 49; read 16 at a time from 120, that is the batch of 41 to 56.
    expect([...store.reads].sort((a, b) => a - b)).toEqual(range(41, 120));
    expect(report.checkpoints).toMatchObject({ read: 80, valid: 80 });
    expect(report.ok).toBe(true);
    expect(report).toMatchObject({ blobs: 2, records: 24, sealed: 24 });
    expect(new Set(blobs.reads.map((r) => r.name))).toEqual(
      new Set([blobName(D5, 0), blobName(D5, 1)]),
    );
  });

  it('reads every checkpoint when no full one predates the range', async () => {
    const { store, verifier } = fiveDaysOfCheckpoints();

    const report = await verifier.run({ from: D2, to: D2 });

    expect(report.checkpoints.read).toBe(120);
    expect(store.reads).toHaveLength(120);
    expect(report.ok).toBe(true);
  });

  it('reports a record appended after the newest checkpoint as pending, not as a problem', async () => {
    const { blobs, verifier } = fiveDaysOfCheckpoints();
    const at = `${D5}T23:20:00.000Z`;
    blobs.appendEntries(blobName(D5, 1), [anAuditEntry({ recordedAt: at })], at);

    const report = await verifier.run({ from: D5, to: D5 });

    expect(report.ok).toBe(true);
    expect(report.pending).toEqual({
      records: 1,
      blobs: [{ name: blobName(D5, 1), lines: { from: 13, to: 13 } }],
    });
    expect(report.sealed).toBe(24);
  });

  it('does not report a problem on a date outside the range, and reports it on its own date', async () => {
    const { blobs, verifier } = fiveDaysOfCheckpoints();
    const victim = blobName(D2, 0);
    blobs.put(victim, blobs.text(victim).replace('thermostat-0001', 'thermostat-0002'));

    const elsewhere = await verifier.run({ from: D3, to: D5 });
    const there = await verifier.run({ from: D2, to: D2 });

    expect(elsewhere.problems).toEqual([]);
    expect(elsewhere.ok).toBe(true);
    expect(there.ok).toBe(false);
    expect(there.problems).toEqual([
      expect.objectContaining({ kind: 'chain-broken', blob: victim, lines: { from: 1, to: 1 } }),
    ]);
  });

  it('reports a deleted checkpoint whatever dates are verified', async () => {
    const { store, verifier } = fiveDaysOfCheckpoints();
    store.replace(100, undefined);

    const report = await verifier.run({ from: D5, to: D5 });

    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      {
        kind: 'checkpoint-missing',
        checkpoint: 100,
        message: 'checkpoint 100 is missing: it was deleted',
      },
    ]);
  });

  it('says nothing proves the trail when no checkpoint was ever taken', async () => {
    const blobs = new MemoryAuditBlobs();
    blobs.appendEntries(blobName(D1, 0), [anAuditEntry()], `${D1}T09:00:00.000Z`);
    const verifier = new VerifyAuditTrail({
      blobs,
      store: new MemoryCheckpointStore(),
      keys: key,
      clock: new ManualClock(`${D1}T10:00:00.000Z`),
    });

    const report = await verifier.run({ from: D1, to: D1 });

    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.kind)).toEqual(['no-checkpoint']);
    expect(report.checkpoints).toEqual({ read: 0, valid: 0 });
    expect(report.pending.records).toBe(1);
  });
});
