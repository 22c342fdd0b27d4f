import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync, sign } from 'node:crypto';
import { ContainerClient } from '@azure/storage-blob';
import { BlobAuditTrail } from '../../shared/adapters/storage/BlobAuditTrail';
import { BlobCheckpointStore, nameOf } from '../../shared/adapters/storage/BlobCheckpointStore';
import { BlobReportArchive } from '../../shared/adapters/storage/BlobReportArchive';
import { LocalCheckpointKey } from '../../shared/adapters/keys/LocalCheckpointKey';
import { TakeCheckpoint } from '../../shared/app/audit/TakeCheckpoint';
import { TrailVerificationReport, VerifyAuditTrail } from '../../shared/app/audit/VerifyAuditTrail';
import {
  ChainedAuditRecord,
  chainBreakEntry,
  chainEntries,
  genesisHead,
} from '../../shared/domain/AuditChain';
import { HOUR_MS, ManualClock } from '../../shared/domain/Clock';
import {
  bodyOf,
  checkpointMessage,
  checkpointText,
  parseCheckpoint,
} from '../../shared/domain/audit/Checkpoint';
import { TrailProblemKind } from '../../shared/domain/audit/TrailVerification';
import { anAuditEntry } from '../support/auditEntries';
import { containerClient, freshPrefix } from '../support/rawStorage';

/**
 * The audit trail tried as an attacker with write access to the storage account would: every
 * way of altering, removing, adding or replaying records, blobs and checkpoints, each on a fresh
 * copy of the same trail of thousands of records under signed checkpoints. Each is detected and
 * located (the blob, and the lines where the trail can tell); the untouched trail verifies.
 */

const DAY1 = '2026-11-23';
const DAY2 = '2026-11-24';
const SHARDS = 4;
const DEVICES = 120;

interface Stored {
  name: string;
  body: Buffer;
}

let auditName: string;
let checkpointsName: string;
let audit: ContainerClient;
let checkpoints: ContainerClient;
let key: LocalCheckpointKey;
let clock: ManualClock;
let pristine: { audit: Stored[]; checkpoints: Stored[] };
let records = 0;

beforeAll(async () => {
  const prefix = freshPrefix();
  auditName = `${prefix}-audit`;
  checkpointsName = `${prefix}-auditcheckpoints`;
  audit = containerClient(auditName);
  checkpoints = containerClient(checkpointsName);
  key = new LocalCheckpointKey(join(mkdtempSync(join(tmpdir(), 'certfleet-key-')), 'key.pem'));
  clock = new ManualClock(`${DAY1}T09:00:00.000Z`);
  const trail = new BlobAuditTrail(audit, SHARDS, clock);
  const checkpointer = new TakeCheckpoint({
    blobs: trail,
    store: new BlobCheckpointStore(checkpoints),
    signer: key,
    keys: key,
    clock,
  });
  // Three rounds a few hours apart on each day, each sealed by the hourly checkpoint after it.
  for (const [day, hours] of [
    [DAY1, [9, 13, 18]],
    [DAY2, [8, 12]],
  ] as const) {
    for (const hour of hours) {
      clock.set(`${day}T${String(hour).padStart(2, '0')}:00:00.000Z`);
      const round = Array.from({ length: DEVICES * 3 }, (_, i) =>
        anAuditEntry({
          deviceId: `meter-${String(i % DEVICES).padStart(4, '0')}`,
          occurredAt: `${day}T${String(hour).padStart(2, '0')}:00:00.000Z`,
          recordedAt: `${day}T${String(hour).padStart(2, '0')}:00:00.000Z`,
        }),
      );
      records += await trail.append(round, { mayAlreadyBeWritten: false });
      clock.advance(HOUR_MS);
      await checkpointer.run(hour === 9 && day === DAY2 ? 'daily' : 'hourly');
    }
  }
  pristine = { audit: await snapshot(audit), checkpoints: await snapshot(checkpoints) };
}, 120_000);

beforeEach(async () => {
  await restore(audit, pristine.audit, 'append');
  await restore(checkpoints, pristine.checkpoints, 'block');
  clock.set(`${DAY2}T13:10:00.000Z`);
});

function verifier(): VerifyAuditTrail {
  return new VerifyAuditTrail({
    blobs: new BlobAuditTrail(audit, SHARDS, clock),
    store: new BlobCheckpointStore(checkpoints),
    keys: key,
    clock,
  });
}

async function verify(): Promise<TrailVerificationReport> {
  return verifier().run({ from: DAY1, to: DAY2 });
}

function blobsOf(day: string): Stored[] {
  return pristine.audit.filter((b) => b.name.startsWith(day.replaceAll('-', '/')));
}

/** A blob of DAY1 with enough lines to tamper in its middle. */
function victim(): Stored {
  return blobsOf(DAY1)[1] as Stored;
}

function linesOf(blob: Stored): string[] {
  return blob.body.toString('utf8').split('\n').slice(0, -1);
}

async function rewrite(name: string, lines: readonly string[] | string): Promise<void> {
  const text = typeof lines === 'string' ? lines : lines.map((l) => `${l}\n`).join('');
  await putAppendBlob(audit, name, Buffer.from(text, 'utf8'));
}

/** Records re-chained from the blob's genesis, as a careful attacker recomputes them. */
function rechained(name: string, entries: readonly ChainedAuditRecord[]): string[] {
  const plain = entries.map(({ seq: _s, prevHash: _p, hash: _h, appendedAt: _a, ...e }) => e);
  let head = genesisHead(name);
  const out: string[] = [];
  for (const [i, entry] of plain.entries()) {
    const [record] = chainEntries(head, [entry], entries[i]?.appendedAt);
    out.push(JSON.stringify(record));
    head = { seq: record!.seq, hash: record!.hash };
  }
  return out;
}

function parsed(lines: readonly string[]): ChainedAuditRecord[] {
  return lines.map((l) => JSON.parse(l) as ChainedAuditRecord);
}

function expectProblem(
  report: TrailVerificationReport,
  kind: TrailProblemKind,
  where: { blob?: string; line?: number; checkpoint?: number } = {},
): void {
  expect(report.ok).toBe(false);
  const found = report.problems.filter(
    (p) =>
      p.kind === kind &&
      (where.blob === undefined || p.blob === where.blob) &&
      (where.checkpoint === undefined || p.checkpoint === where.checkpoint) &&
      (where.line === undefined ||
        (p.lines !== undefined && p.lines.from <= where.line && where.line <= p.lines.to)),
  );
  if (found.length === 0)
    throw new Error(
      `no ${kind} problem at ${JSON.stringify(where)} in:\n${report.problems.map((p) => `${p.kind}: ${p.message}`).join('\n')}`,
    );
}

describe('the audit trail under signed checkpoints, tampered with', () => {
  it('verifies when untouched: thousands of records, every one sealed', async () => {
    const report = await verify();
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.records).toBe(records);
    expect(records).toBeGreaterThanOrEqual(1800);
    expect(report.sealed).toBe(records);
    expect(report.pending.records).toBe(0);
    expect(report.blobs).toBe(2 * SHARDS);
    expect(report.checkpoints.valid).toBe(5);
  });

  it('finds an edited byte, on its line', async () => {
    const lines = linesOf(victim());
    lines[99] = (lines[99] as string).replace('meter-', 'meteR-');
    await rewrite(victim().name, lines);
    expectProblem(await verify(), 'chain-broken', { blob: victim().name, line: 100 });
  });

  it('finds a deleted middle record, where it was', async () => {
    const lines = linesOf(victim());
    lines.splice(99, 1);
    await rewrite(victim().name, lines);
    expectProblem(await verify(), 'chain-broken', { blob: victim().name, line: 100 });
  });

  it('finds two middle records swapped', async () => {
    const lines = linesOf(victim());
    [lines[99], lines[100]] = [lines[100] as string, lines[99] as string];
    await rewrite(victim().name, lines);
    expectProblem(await verify(), 'chain-broken', { blob: victim().name, line: 100 });
  });

  it('finds a replayed line', async () => {
    const lines = linesOf(victim());
    lines.splice(100, 0, lines[99] as string);
    await rewrite(victim().name, lines);
    expectProblem(await verify(), 'chain-broken', { blob: victim().name, line: 101 });
  });

  it('finds a line copied from another blob', async () => {
    const lines = linesOf(victim());
    lines.splice(50, 0, linesOf(blobsOf(DAY2)[0] as Stored)[49] as string);
    await rewrite(victim().name, lines);
    expectProblem(await verify(), 'chain-broken', { blob: victim().name, line: 51 });
  });

  it('finds lines reordered across two blobs of the day', async () => {
    const [a, b] = blobsOf(DAY1) as [Stored, Stored];
    const linesA = linesOf(a);
    const linesB = linesOf(b);
    [linesA[10], linesB[10]] = [linesB[10] as string, linesA[10] as string];
    await rewrite(a.name, linesA);
    await rewrite(b.name, linesB);
    const report = await verify();
    expectProblem(report, 'chain-broken', { blob: a.name, line: 11 });
    expectProblem(report, 'chain-broken', { blob: b.name, line: 11 });
  });

  it('finds an edited line that a forged audit.chain-broken record claims as a recorded break', async () => {
    const lines = linesOf(victim());
    // Edited in place, its chain fields kept: one bad line, and the lines after it still follow.
    lines[2] = (lines[2] as string).replace('meter-', 'meteR-');
    await rewrite(victim().name, lines);
    const [other] = blobsOf(DAY1).filter((b) => b.name !== victim().name) as [Stored];
    const otherLines = linesOf(other);
    const last = JSON.parse(otherLines[otherLines.length - 1] as string) as ChainedAuditRecord;
    const [excuse] = chainEntries(
      { seq: last.seq, hash: last.hash },
      [
        chainBreakEntry(
          { blob: victim().name, line: 3, problem: 'line is not JSON' },
          `${DAY2}T13:05:00.000Z`,
        ),
      ],
      `${DAY2}T13:05:00.000Z`,
    );
    await rewrite(other.name, [...otherLines, JSON.stringify(excuse)]);

    const report = await verify();

    expectProblem(report, 'chain-broken', { blob: victim().name, line: 3 });
    expect(report.recordedBreaks).toBe(0);
  });

  it('reports a forged report.written record of a shape certfleet never writes, without failing', async () => {
    const lines = linesOf(victim());
    const last = JSON.parse(lines[lines.length - 1] as string) as ChainedAuditRecord;
    const [forged] = chainEntries(
      { seq: last.seq, hash: last.hash },
      [anAuditEntry({ type: 'report.written', report: { date: DAY1 } as never })],
      `${DAY2}T13:05:00.000Z`,
    );
    await rewrite(victim().name, [...lines, JSON.stringify(forged)]);

    const report = await new VerifyAuditTrail({
      blobs: new BlobAuditTrail(audit, SHARDS, clock),
      store: new BlobCheckpointStore(checkpoints),
      keys: key,
      clock,
      reports: new BlobReportArchive(containerClient(`${freshPrefix()}-reports`)),
    }).run({ from: DAY1, to: DAY2 });

    expectProblem(report, 'report-altered', { blob: victim().name });
  });

  it('finds the last record deleted', async () => {
    const lines = linesOf(victim());
    await rewrite(victim().name, lines.slice(0, -1));
    expectProblem(await verify(), 'records-missing', { blob: victim().name });
  });

  it('finds a blob truncated in the middle of a line', async () => {
    const body = victim().body;
    await rewrite(victim().name, body.subarray(0, Math.floor(body.length / 2)).toString('utf8'));
    const report = await verify();
    expectProblem(report, 'records-missing', { blob: victim().name });
  });

  it('finds a blob emptied', async () => {
    await rewrite(victim().name, '');
    expectProblem(await verify(), 'records-missing', { blob: victim().name });
  });

  it('finds a whole shard blob deleted', async () => {
    await audit.deleteBlob(victim().name);
    expectProblem(await verify(), 'blob-missing', { blob: victim().name });
  });

  it('finds a record edited under a recomputed chain, between the checkpoints that bracket it', async () => {
    const records = parsed(linesOf(victim()));
    const at = 40;
    records[at] = { ...(records[at] as ChainedAuditRecord), deviceId: 'meter-9999' };
    await rewrite(victim().name, rechained(victim().name, records));
    expectProblem(await verify(), 'records-rewritten', { blob: victim().name, line: at + 1 });
  });

  it('finds a record deleted under a recomputed chain', async () => {
    const records = parsed(linesOf(victim()));
    records.splice(40, 1);
    await rewrite(victim().name, rechained(victim().name, records));
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(
      report.problems.some(
        (p) =>
          (p.kind === 'records-rewritten' || p.kind === 'records-missing') &&
          p.blob === victim().name,
      ),
    ).toBe(true);
  });

  it('finds a forged record appended under a correct chain, dated before the newest checkpoint', async () => {
    const lines = linesOf(victim());
    const last = JSON.parse(lines[lines.length - 1] as string) as ChainedAuditRecord;
    const [forged] = chainEntries(
      { seq: last.seq, hash: last.hash },
      [anAuditEntry({ deviceId: 'meter-0001', type: 'renewal.requested' })],
      `${DAY1}T19:00:00.000Z`,
    );
    await rewrite(victim().name, [...lines, JSON.stringify(forged)]);
    expectProblem(await verify(), 'appended-after-checkpoint', {
      blob: victim().name,
      line: lines.length + 1,
    });
  });

  it('finds an extra self-consistent shard blob', async () => {
    const name = `${DAY1.replaceAll('-', '/')}/shard-07.jsonl`;
    const entries = Array.from({ length: 5 }, () => anAuditEntry({ deviceId: 'meter-0042' }));
    const forged = chainEntries(genesisHead(name), entries, `${DAY1}T12:00:00.000Z`);
    await rewrite(
      name,
      forged.map((r) => JSON.stringify(r)),
    );
    expectProblem(await verify(), 'appended-after-checkpoint', { blob: name, line: 1 });
  });

  it('finds a whole day rewritten under recomputed chains, every blob of it', async () => {
    for (const blob of blobsOf(DAY1)) {
      const records = parsed(linesOf(blob)).map((r) => ({ ...r, deviceId: `x-${r.deviceId}` }));
      await rewrite(blob.name, rechained(blob.name, records));
    }
    const report = await verify();
    for (const blob of blobsOf(DAY1))
      expectProblem(report, 'records-rewritten', { blob: blob.name });
    expect(report.problems.filter((p) => p.blob?.startsWith(DAY2.replaceAll('-', '/')))).toEqual(
      [],
    );
  });

  it('finds a removed checkpoint by the gap in their numbers', async () => {
    await checkpoints.deleteBlob(nameOf(3));
    expectProblem(await verify(), 'checkpoint-missing', { checkpoint: 3 });
  });

  it('finds an altered checkpoint by its signature', async () => {
    const text = (await checkpoints.getBlockBlobClient(nameOf(2)).downloadToBuffer()).toString();
    const altered = text.replace(
      /"records": (\d+)/,
      (_m, n: string) => `"records": ${Number(n) - 1}`,
    );
    expect(altered).not.toBe(text);
    await checkpoints.getBlockBlobClient(nameOf(2)).upload(altered, Buffer.byteLength(altered));
    expectProblem(await verify(), 'checkpoint-invalid', { checkpoint: 2 });
  });

  it('finds a checkpoint re-signed with a key the deployment does not trust', async () => {
    const text = (await checkpoints.getBlockBlobClient(nameOf(5)).downloadToBuffer()).toString();
    const original = parseCheckpoint(text);
    if (!('checkpoint' in original)) throw new Error('checkpoint 5 does not read');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const body = { ...bodyOf(original.checkpoint), keyId: 'local:attacker' };
    const signature = sign('sha256', checkpointMessage(body), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    }).toString('base64url');
    const forged = checkpointText({ ...body, signature });
    await checkpoints.getBlockBlobClient(nameOf(5)).upload(forged, Buffer.byteLength(forged));
    expectProblem(await verify(), 'checkpoint-invalid', { checkpoint: 5 });
  });

  it('finds an older checkpoint copied over a newer one', async () => {
    const older = await checkpoints.getBlockBlobClient(nameOf(4)).downloadToBuffer();
    await checkpoints.getBlockBlobClient(nameOf(5)).upload(older, older.length);
    expectProblem(await verify(), 'checkpoint-invalid', { checkpoint: 5 });
  });

  it('finds the newest checkpoints deleted once the checkpointer should have taken another', async () => {
    await checkpoints.deleteBlob(nameOf(5));
    clock.set(`${DAY2}T16:00:00.000Z`);
    expectProblem(await verify(), 'checkpoints-stale', { checkpoint: 4 });
  });

  it('reports records appended after the newest checkpoint as pending, located, not as problems', async () => {
    const lines = linesOf(victim());
    const last = JSON.parse(lines[lines.length - 1] as string) as ChainedAuditRecord;
    const [late] = chainEntries(
      { seq: last.seq, hash: last.hash },
      [anAuditEntry({ deviceId: 'meter-0001' })],
      `${DAY2}T13:05:00.000Z`,
    );
    await rewrite(victim().name, [...lines, JSON.stringify(late)]);
    const report = await verify();
    expect(report.problems).toEqual([]);
    expect(report.pending.records).toBe(1);
    expect(report.pending.blobs).toEqual([
      { name: victim().name, lines: { from: lines.length + 1, to: lines.length + 1 } },
    ]);
  });

  it('keeps the sealed state when the next checkpoint finds a blob rewritten, so it stays detected', async () => {
    const records = parsed(linesOf(victim()));
    records[10] = { ...(records[10] as ChainedAuditRecord), type: 'renewal.failed' };
    const rewritten = rechained(victim().name, records);
    // The attacker also appends, so the blob is longer than the checkpoint says.
    const last = JSON.parse(rewritten[rewritten.length - 1] as string) as ChainedAuditRecord;
    const [extra] = chainEntries(
      { seq: last.seq, hash: last.hash },
      [anAuditEntry()],
      `${DAY2}T13:20:00.000Z`,
    );
    await rewrite(victim().name, [...rewritten, JSON.stringify(extra)]);
    const log: string[] = [];
    clock.set(`${DAY2}T14:05:00.000Z`);
    const report = await new TakeCheckpoint({
      blobs: new BlobAuditTrail(audit, SHARDS, clock),
      store: new BlobCheckpointStore(checkpoints),
      signer: key,
      keys: key,
      clock,
      log: { info: () => undefined, error: (line) => log.push(line) },
    }).run('hourly');
    expect(report.problems).toEqual([expect.stringContaining(victim().name)]);
    expect(log).toEqual([expect.stringMatching(/^CERTFLEET_AUDIT_TAMPERED /)]);
    expectProblem(await verify(), 'records-rewritten', { blob: victim().name, line: 11 });
  });
});

async function snapshot(container: ContainerClient): Promise<Stored[]> {
  const out: Stored[] = [];
  for await (const item of container.listBlobsFlat()) {
    out.push({
      name: item.name,
      body: await container.getBlobClient(item.name).downloadToBuffer(),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

async function restore(
  container: ContainerClient,
  blobs: readonly Stored[],
  kind: 'append' | 'block',
): Promise<void> {
  for await (const item of container.listBlobsFlat()) await container.deleteBlob(item.name);
  for (const blob of blobs) {
    if (kind === 'append') await putAppendBlob(container, blob.name, blob.body);
    else await container.getBlockBlobClient(blob.name).upload(blob.body, blob.body.length);
  }
}

async function putAppendBlob(
  container: ContainerClient,
  name: string,
  body: Buffer,
): Promise<void> {
  const blob = container.getAppendBlobClient(name);
  await blob.deleteIfExists();
  await blob.create();
  for (let offset = 0; offset < body.length; offset += 4 * 1024 * 1024) {
    const chunk = body.subarray(offset, offset + 4 * 1024 * 1024);
    await blob.appendBlock(chunk, chunk.length);
  }
}
