import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCheckpointKey } from '../../../shared/adapters/keys/LocalCheckpointKey';
import {
  CHECKPOINT_LOG_PREFIX,
  TAMPERED_LOG_PREFIX,
  TakeCheckpoint,
} from '../../../shared/app/audit/TakeCheckpoint';
import { TransientFault } from '../../../shared/app/ports';
import { ChainedAuditRecord, chainEntries, genesisHead } from '../../../shared/domain/AuditChain';
import { HOUR_MS, ManualClock } from '../../../shared/domain/Clock';
import {
  BlobSeal,
  SignedCheckpoint,
  bodyOf,
  checkpointMessage,
  parseCheckpoint,
  storedCheckpointHash,
} from '../../../shared/domain/audit/Checkpoint';
import { anAuditEntry } from '../../support/auditEntries';
import { MemoryAuditBlobs, MemoryCheckpointStore } from '../../support/memoryCheckpoints';

const D1 = '2026-11-22';
const D2 = '2026-11-23';
const A0 = '2026/11/22/shard-00.jsonl';
const A1 = '2026/11/22/shard-01.jsonl';
const B0 = '2026/11/23/shard-00.jsonl';
const B1 = '2026/11/23/shard-01.jsonl';
const START = `${D2}T09:05:00.000Z`;

let key: LocalCheckpointKey;

beforeAll(() => {
  key = new LocalCheckpointKey(join(mkdtempSync(join(tmpdir(), 'certfleet-key-')), 'key.pem'));
});

function entries(count: number) {
  return Array.from({ length: count }, () => anAuditEntry());
}

/** A trail of two dates, four blobs, 8 records; a checkpointer over it logging to arrays. */
function aTrail() {
  const blobs = new MemoryAuditBlobs();
  blobs.appendEntries(A0, entries(3), `${D1}T10:00:00.000Z`);
  blobs.appendEntries(A1, entries(2), `${D1}T11:00:00.000Z`);
  blobs.appendEntries(B0, entries(1), `${D2}T08:00:00.000Z`);
  blobs.appendEntries(B1, entries(2), `${D2}T08:30:00.000Z`);
  const store = new MemoryCheckpointStore();
  const clock = new ManualClock(START);
  const log = { info: [] as string[], error: [] as string[] };
  const checkpointer = () =>
    new TakeCheckpoint({
      blobs,
      store,
      signer: key,
      keys: key,
      clock,
      log: { info: (line) => log.info.push(line), error: (line) => log.error.push(line) },
    });
  return { blobs, store, clock, log, checkpointer };
}

function storedCheckpoint(store: MemoryCheckpointStore, seq: number): SignedCheckpoint {
  const parsed = parseCheckpoint(store.stored(seq) ?? '');
  if (!('checkpoint' in parsed)) throw new Error(`checkpoint ${seq}: ${parsed.problem}`);
  return parsed.checkpoint;
}

/** What a blob holds now, as a checkpoint should seal it. */
function sealNow(blobs: MemoryAuditBlobs, name: string): BlobSeal {
  const records = blobs.records(name);
  const last = records[records.length - 1];
  const head = last ?? genesisHead(name);
  return {
    name,
    bytes: Buffer.byteLength(blobs.text(name)),
    records: records.length,
    lastSeq: head.seq,
    lastHash: head.hash,
  };
}

function sealIn(checkpoint: SignedCheckpoint, name: string): BlobSeal | undefined {
  return checkpoint.dates.flatMap((d) => d.blobs).find((b) => b.name === name);
}

describe('TakeCheckpoint', () => {
  it('takes a full first checkpoint that lists every date and seals every blob as it is', async () => {
    const { blobs, store, checkpointer } = aTrail();

    const report = await checkpointer().run('hourly');

    expect(report).toEqual({
      seq: 1,
      kind: 'hourly',
      at: START,
      full: true,
      dates: 2,
      blobs: 4,
      records: 8,
      changedBlobs: 4,
      problems: [],
    });
    const checkpoint = storedCheckpoint(store, 1);
    expect(checkpoint.previous).toBeNull();
    expect(checkpoint.dates).toEqual([
      { date: D1, blobs: [sealNow(blobs, A0), sealNow(blobs, A1)] },
      { date: D2, blobs: [sealNow(blobs, B0), sealNow(blobs, B1)] },
    ]);
  });

  it('lists only the dates that changed in an hourly checkpoint, reading only the bytes appended', async () => {
    const { blobs, store, clock, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    const sealedBytes = Buffer.byteLength(blobs.text(B0));
    blobs.appendEntries(B0, entries(2), `${D2}T09:30:00.000Z`);
    const appended = Buffer.byteLength(blobs.text(B0)) - sealedBytes;
    blobs.resetCounts();
    clock.advance(HOUR_MS);

    const report = await checkpointer().run('hourly');

    expect(report).toMatchObject({ seq: 2, full: false, dates: 1, changedBlobs: 1, records: 5 });
    // The sealed part's last byte (its newline) and what came after it: nothing more.
    expect(blobs.reads).toEqual([{ name: B0, from: sealedBytes - 1 }]);
    expect(blobs.bytesRead).toBe(appended + 1);
    const checkpoint = storedCheckpoint(store, 2);
    expect(checkpoint.dates).toEqual([
      { date: D2, blobs: [sealNow(blobs, B0), sealNow(blobs, B1)] },
    ]);
    expect(sealIn(checkpoint, B0)).toMatchObject({ records: 3, lastSeq: 3 });
    expect(checkpoint.previous).toEqual({
      seq: 1,
      hash: storedCheckpointHash(store.stored(1) as string),
    });
  });

  it('lists no date and reads no blob in an hourly checkpoint when nothing changed', async () => {
    const { blobs, store, clock, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    blobs.resetCounts();
    clock.advance(HOUR_MS);

    const report = await checkpointer().run('hourly');

    expect(report).toMatchObject({ seq: 2, full: false, dates: 0, blobs: 0, changedBlobs: 0 });
    expect(storedCheckpoint(store, 2).dates).toEqual([]);
    expect(blobs.reads).toEqual([]);
  });

  it('lists every date in a daily checkpoint, still reading only what was appended', async () => {
    const { blobs, store, clock, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    blobs.appendEntries(A1, entries(1), `${D2}T09:40:00.000Z`);
    blobs.resetCounts();
    clock.advance(HOUR_MS);

    const report = await checkpointer().run('daily');

    expect(report).toMatchObject({ seq: 2, kind: 'daily', full: true, dates: 2, blobs: 4 });
    expect(report.records).toBe(9);
    expect(blobs.reads.map((r) => r.name)).toEqual([A1]);
    expect(storedCheckpoint(store, 2).dates.map((d) => d.blobs.map((b) => b.name))).toEqual([
      [A0, A1],
      [B0, B1],
    ]);
  });

  it('builds on the newest full checkpoint and the hourly ones after it', async () => {
    const { blobs, store, clock, checkpointer } = aTrail();
    await checkpointer().run('daily');
    blobs.appendEntries(A0, entries(1), `${D2}T09:10:00.000Z`);
    clock.advance(HOUR_MS);
    await checkpointer().run('hourly');
    blobs.appendEntries(B1, entries(1), `${D2}T10:10:00.000Z`);
    clock.advance(HOUR_MS);
    await checkpointer().run('hourly');
    blobs.resetCounts();
    store.resetCounts();
    clock.advance(HOUR_MS);

    const daily = await checkpointer().run('daily');

    expect(daily.changedBlobs).toBe(0);
    expect(blobs.reads).toEqual([]);
    expect(store.reads).toEqual([1, 2, 3]);
    expect(storedCheckpoint(store, 4).dates.flatMap((d) => d.blobs)).toEqual(
      [A0, A1, B0, B1].map((name) => sealNow(blobs, name)),
    );
  });

  it('takes the checkpoint after midnight UTC as daily and the others as hourly', async () => {
    const { clock, checkpointer } = aTrail();
    await checkpointer().run('hourly');

    clock.set(`${D2}T13:05:00.000Z`);
    const afternoon = await checkpointer().runScheduled();
    clock.set('2026-11-24T00:05:00.000Z');
    const midnight = await checkpointer().runScheduled();

    expect([afternoon.kind, afternoon.full]).toEqual(['hourly', false]);
    expect([midnight.kind, midnight.full]).toEqual(['daily', true]);
  });

  it('retries after losing the race for a number, and chains its checkpoint to the winner’s', async () => {
    const { blobs, store, clock, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    blobs.appendEntries(B1, entries(1), `${D2}T09:30:00.000Z`);
    clock.advance(HOUR_MS);
    store.resetCounts();
    store.loseNextCreateTo(async () => {
      await checkpointer().run('manual');
    });

    const report = await checkpointer().run('hourly');

    expect(report.seq).toBe(3);
    expect(store.creates).toEqual([2, 2, 3]);
    const winner = storedCheckpoint(store, 2);
    expect(winner.kind).toBe('manual');
    expect(storedCheckpoint(store, 3).previous).toEqual({
      seq: 2,
      hash: storedCheckpointHash(store.stored(2) as string),
    });
    // The winner sealed the new record; the retry, built on it, found nothing more changed.
    expect(sealIn(winner, B1)).toEqual(sealNow(blobs, B1));
    expect(report.changedBlobs).toBe(0);
  });

  it('gives up with a transient fault when another checkpointer keeps taking the number', async () => {
    const { store, checkpointer } = aTrail();
    store.loseEveryCreate();

    await expect(checkpointer().run('hourly')).rejects.toBeInstanceOf(TransientFault);
    expect(store.creates).toEqual([1, 2, 3]);
  });

  it('keeps the old seal of a blob that shrank, and logs it as tampered', async () => {
    const { blobs, store, clock, log, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    const sealed = sealNow(blobs, A0);
    const lines = blobs.text(A0).split('\n');
    blobs.put(A0, `${lines.slice(0, 2).join('\n')}\n`);
    blobs.appendEntries(A1, entries(1), `${D2}T09:30:00.000Z`);
    clock.advance(HOUR_MS);

    const report = await checkpointer().run('hourly');

    const problem = `${A0} is ${Buffer.byteLength(blobs.text(A0))} bytes, shorter than the ${sealed.bytes} sealed`;
    expect(report.problems).toEqual([problem]);
    expect(sealIn(storedCheckpoint(store, 2), A0)).toEqual(sealed);
    expect(sealIn(storedCheckpoint(store, 2), A1)).toEqual(sealNow(blobs, A1));
    expect(log.error).toEqual([
      `${TAMPERED_LOG_PREFIX} ${JSON.stringify({ checkpoint: 2, problem })}`,
    ]);
  });

  it('keeps the old seal of a blob that vanished, in the next full checkpoint too', async () => {
    const { blobs, store, clock, log, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    const sealed = sealNow(blobs, B1);
    blobs.delete(B1);
    clock.advance(HOUR_MS);

    const hourly = await checkpointer().run('hourly');
    clock.advance(HOUR_MS);
    const daily = await checkpointer().run('daily');

    expect(hourly.problems).toEqual([`${B1} is gone (sealed with 2 records)`]);
    expect(daily.problems).toEqual([`${B1} is gone (sealed with 2 records)`]);
    expect(sealIn(storedCheckpoint(store, 3), B1)).toEqual(sealed);
    expect(log.error).toHaveLength(2);
    expect(log.error.every((line) => line.startsWith(`${TAMPERED_LOG_PREFIX} `))).toBe(true);
  });

  it('keeps the old seal of a blob rewritten under a recomputed chain and extended', async () => {
    const { blobs, store, clock, log, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    const sealed = sealNow(blobs, A0);
    const plain = blobs
      .records(A0)
      .map(({ seq: _s, prevHash: _p, hash: _h, appendedAt: _a, ...entry }) => entry);
    plain[1] = { ...plain[1]!, type: 'renewal.failed' };
    const forged: ChainedAuditRecord[] = chainEntries(
      genesisHead(A0),
      [...plain, anAuditEntry()],
      `${D1}T10:00:00.000Z`,
    );
    blobs.put(A0, forged.map((r) => `${JSON.stringify(r)}\n`).join(''));
    clock.advance(HOUR_MS);

    const report = await checkpointer().run('hourly');

    expect(report.problems).toEqual([
      expect.stringMatching(/^2026\/11\/22\/shard-00\.jsonl: .*\(rewritten\)$/),
    ]);
    expect(log.error).toHaveLength(1);
    expect(storedCheckpoint(store, 2).dates).toEqual([]);
    clock.advance(HOUR_MS);
    await checkpointer().run('daily');
    expect(sealIn(storedCheckpoint(store, 3), A0)).toEqual(sealed);
  });

  it('seals a blob sealed empty from its genesis once it grows', async () => {
    const { blobs, store, clock, checkpointer } = aTrail();
    const empty = '2026/11/23/shard-02.jsonl';
    blobs.put(empty, '');
    await checkpointer().run('hourly');
    expect(sealIn(storedCheckpoint(store, 1), empty)).toEqual({
      name: empty,
      bytes: 0,
      records: 0,
      lastSeq: 0,
      lastHash: genesisHead(empty).hash,
    });
    blobs.appendEntries(empty, entries(2), `${D2}T09:20:00.000Z`);
    clock.advance(HOUR_MS);

    const report = await checkpointer().run('hourly');

    expect(report.problems).toEqual([]);
    expect(sealIn(storedCheckpoint(store, 2), empty)).toEqual(sealNow(blobs, empty));
  });

  it('seals a torn line appended after a seal as bytes, leaving the break to verification', async () => {
    const { blobs, store, clock, log, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    const sealed = sealNow(blobs, B0);
    blobs.appendText(B0, '{"seq": 2, "prevHa\n');
    clock.advance(HOUR_MS);

    const report = await checkpointer().run('hourly');

    expect(report.problems).toEqual([]);
    expect(log.error).toEqual([]);
    expect(sealIn(storedCheckpoint(store, 2), B0)).toEqual({
      ...sealed,
      bytes: Buffer.byteLength(blobs.text(B0)),
    });
  });

  it('logs each checkpoint with the hash of its stored text, for a witness outside storage', async () => {
    const { blobs, store, clock, log, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    blobs.appendEntries(B0, entries(1), `${D2}T09:30:00.000Z`);
    clock.advance(HOUR_MS);
    await checkpointer().run('hourly');

    const logged = log.info.map((line) => {
      expect(line.startsWith(`${CHECKPOINT_LOG_PREFIX} `)).toBe(true);
      return JSON.parse(line.slice(CHECKPOINT_LOG_PREFIX.length + 1)) as Record<string, unknown>;
    });

    expect(logged).toEqual([
      {
        seq: 1,
        at: START,
        kind: 'hourly',
        full: true,
        hash: storedCheckpointHash(store.stored(1) as string),
        dates: 2,
        blobs: 4,
        records: 8,
      },
      {
        seq: 2,
        at: `${D2}T10:05:00.000Z`,
        kind: 'hourly',
        full: false,
        hash: storedCheckpointHash(store.stored(2) as string),
        dates: 1,
        blobs: 2,
        records: 4,
      },
    ]);
    expect(log.error).toEqual([]);
  });

  it('signs each checkpoint so the key that made it verifies it, and no other key does', async () => {
    const { store, checkpointer } = aTrail();
    await checkpointer().run('hourly');
    const checkpoint = storedCheckpoint(store, 1);
    const signature = Buffer.from(checkpoint.signature, 'base64url');
    const message = checkpointMessage(bodyOf(checkpoint));
    const otherKey = new LocalCheckpointKey(
      join(mkdtempSync(join(tmpdir(), 'certfleet-key-')), 'other.pem'),
    );
    await otherKey.keyId(); // makes the other key's file
    const altered = checkpointMessage({ ...bodyOf(checkpoint), at: `${D2}T09:06:00.000Z` });

    expect(checkpoint.keyId).toBe(await key.keyId());
    expect(await key.verify(checkpoint.keyId, message, signature)).toBe('valid');
    expect(await key.verify(checkpoint.keyId, altered, signature)).toBe('invalid');
    expect(await otherKey.verify(checkpoint.keyId, message, signature)).toBe('untrusted-key');
  });

  it('names a blob too large to read whole and seals the others, rather than stopping every checkpoint', async () => {
    const { blobs, store, checkpointer } = aTrail();
    const readBlob = blobs.readBlob.bind(blobs);
    jest.spyOn(blobs, 'readBlob').mockImplementation(async (name, from) => {
      if (name === A1) throw new RangeError('Array buffer allocation failed');
      return readBlob(name, from);
    });

    const report = await checkpointer().run('hourly');

    expect(report.problems).toEqual([
      expect.stringMatching(
        new RegExp(`^${A1} \\(\\d+ bytes\\) is too large to read whole: not sealed$`),
      ),
    ]);
    const sealed = storedCheckpoint(store, 1).dates.flatMap((d) => d.blobs.map((b) => b.name));
    expect(sealed).toEqual([A0, B0, B1]);
  });
});
