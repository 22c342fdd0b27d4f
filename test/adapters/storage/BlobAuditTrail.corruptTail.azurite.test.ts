import { BlobAuditTrail } from '../../../shared/adapters/storage/BlobAuditTrail';
import { AuditEntry } from '../../../shared/domain/AuditEntry';
import {
  BadAuditLine,
  ChainedAuditRecord,
  chainEntries,
  genesisHead,
} from '../../../shared/domain/AuditChain';
import { containerClient, freshPrefix } from '../../support/rawStorage';
import { AUDIT_DAY, anAuditEntry } from '../../support/auditEntries';

/**
 * A corrupt last line in an audit blob (garbage, a torn write, text that is not JSON, a record
 * that does not chain) must not block its shard-day: appends go on in the shard-day's next
 * segment, whose first record names the blob and line where the chain broke; reading and
 * verifying report each bad line, never its content, and go on with the rest. The corrupt
 * bytes are written underneath the adapter, with the SDK's own appendBlock.
 */
const DAY = AUDIT_DAY;
const SEGMENT_0 = `2026/11/23/shard-00.jsonl`;
const SEGMENT_1 = `2026/11/23/shard-00.1.jsonl`;
/** Stands for whatever a corrupt line may hold (here, text shaped like a secret). */
const MARKER = 'LEAKED-IF-QUOTED';

/** An entry as the other audit tests write it, without the old certificate. */
function anEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  const { old: _old, ...entry } = anAuditEntry();
  return { ...entry, ...overrides };
}

/** A trail of one shard whose first segment holds three records. */
async function aTrailOfThreeRecords() {
  const container = `${freshPrefix()}-audit`;
  const trail = new BlobAuditTrail(containerClient(container), 1);
  const written = [anEntry(), anEntry(), anEntry()];
  await trail.append(written, { mayAlreadyBeWritten: false });
  return { trail, container, written };
}

async function rawAppend(container: string, blobName: string, bytes: Buffer): Promise<void> {
  await containerClient(container).getAppendBlobClient(blobName).appendBlock(bytes, bytes.length);
}

async function textOf(container: string, blobName: string): Promise<string> {
  return (await containerClient(container).getBlobClient(blobName).downloadToBuffer()).toString(
    'utf8',
  );
}

async function blobNames(container: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of containerClient(container).listBlobsFlat()) names.push(blob.name);
  return names.sort();
}

async function readAll(trail: BlobAuditTrail) {
  const badLines: BadAuditLine[] = [];
  const records: ChainedAuditRecord[] = [];
  for await (const entry of trail.readDate(DAY, { onBadLine: (bad) => badLines.push(bad) }))
    records.push(entry as ChainedAuditRecord);
  return { records, badLines };
}

/** The head after the blob's last line, as a writer that trusts it would chain from. */
function headOf(text: string) {
  const last = JSON.parse(text.trimEnd().split('\n').pop() ?? '') as ChainedAuditRecord;
  return { seq: last.seq, hash: last.hash };
}

type Corruption = (blob: { container: string; text: string }) => Buffer;

const corruptions: [string, Corruption, string][] = [
  [
    'garbage bytes',
    () => Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b]), Buffer.from(MARKER)]),
    'line is not JSON',
  ],
  [
    'half a record (a torn write)',
    ({ text }) => {
      const [record] = chainEntries(headOf(text), [anEntry({ detail: MARKER })]);
      const line = JSON.stringify(record);
      return Buffer.from(line.slice(0, Math.floor(line.length / 2)));
    },
    'line is not JSON',
  ],
  ['a line that is not JSON', () => Buffer.from(`${MARKER} was here\n`), 'line is not JSON'],
  [
    'a record whose hash does not chain (copied from another blob)',
    () => {
      const other = chainEntries(genesisHead('2026/11/22/shard-00.jsonl'), [
        anEntry(),
        anEntry(),
        anEntry(),
        anEntry({ detail: MARKER }),
      ]);
      return Buffer.from(`${JSON.stringify(other[3])}\n`);
    },
    'prevHash does not match the line before',
  ],
  [
    'a chained record without its newline',
    ({ text }) => {
      const [record] = chainEntries(headOf(text), [anEntry({ detail: MARKER })]);
      return Buffer.from(JSON.stringify(record));
    },
    'the line does not end with a newline',
  ],
];

describe('BlobAuditTrail after a corrupt last line', () => {
  it.each(corruptions)(
    'goes on in a new segment that records the break, after %s',
    async (_what, corrupt, problem) => {
      const { trail, container, written } = await aTrailOfThreeRecords();
      const text = await textOf(container, SEGMENT_0);
      await rawAppend(container, SEGMENT_0, corrupt({ container, text }));
      const next = [anEntry(), anEntry()];

      await trail.append(next, { mayAlreadyBeWritten: false });

      expect(await blobNames(container)).toEqual([SEGMENT_1, SEGMENT_0]);
      const { records, badLines } = await readAll(trail);
      expect(badLines).toEqual([{ blob: SEGMENT_0, line: 4, problem }]);
      expect(records.map((r) => r.id)).toEqual([
        ...written.map((e) => e.id),
        records[3]?.id,
        ...next.map((e) => e.id),
      ]);
      expect(records[3]).toMatchObject({
        type: 'audit.chain-broken',
        chainBreak: { blob: SEGMENT_0, line: 4, problem },
        recordedAt: next[0]?.recordedAt,
        seq: 1,
      });
      expect(await trail.verifyDate(DAY)).toEqual({
        date: DAY,
        blobs: [
          {
            name: SEGMENT_0,
            result: expect.objectContaining({
              ok: false,
              records: 3,
              breaks: [{ line: 4, problem, recordedIn: SEGMENT_1 }],
            }),
          },
          { name: SEGMENT_1, result: expect.objectContaining({ ok: true, records: 3 }) },
        ],
      });
      // Nothing certfleet wrote or said quotes the corrupt line.
      const said = JSON.stringify([records, badLines, await trail.verifyDate(DAY)]);
      expect(said).not.toContain(MARKER);
      expect(await textOf(container, SEGMENT_1)).not.toContain(MARKER);
    },
  );

  it.each(corruptions)(
    'keeps every entry exactly once across the segments when a restarted process appends again, after %s',
    async (_what, corrupt) => {
      const { trail, container, written } = await aTrailOfThreeRecords();
      const text = await textOf(container, SEGMENT_0);
      await rawAppend(container, SEGMENT_0, corrupt({ container, text }));
      const next = anEntry();
      await trail.append([next], { mayAlreadyBeWritten: false });

      // A new process: it finds the newest segment, and entries already written in any segment.
      const restarted = new BlobAuditTrail(containerClient(container), 1);
      const fresh = anEntry();
      await restarted.append([...written, next, fresh], { mayAlreadyBeWritten: true });
      await restarted.append([next, fresh], { mayAlreadyBeWritten: false });

      const { records } = await readAll(restarted);
      expect(records.filter((r) => r.type !== 'audit.chain-broken').map((r) => r.id)).toEqual(
        [...written, next, fresh].map((e) => e.id),
      );
      expect(records.filter((r) => r.type === 'audit.chain-broken')).toHaveLength(1);
      const [, newSegment] = (await restarted.verifyDate(DAY)).blobs;
      expect(newSegment).toEqual({
        name: SEGMENT_1,
        result: expect.objectContaining({ ok: true, records: 3, breaks: [] }),
      });
    },
  );

  it('reports a corrupt last line as a silent break until an append records it', async () => {
    const { trail, container } = await aTrailOfThreeRecords();
    await rawAppend(container, SEGMENT_0, Buffer.from(`${MARKER}\n`));

    const before = await trail.verifyDate(DAY);
    await trail.append([anEntry()], { mayAlreadyBeWritten: false });
    const after = await trail.verifyDate(DAY);

    expect(before.blobs).toEqual([
      {
        name: SEGMENT_0,
        result: expect.objectContaining({
          ok: false,
          breaks: [{ line: 4, problem: 'line is not JSON' }],
        }),
      },
    ]);
    expect(after.blobs[0]?.result.breaks).toEqual([
      { line: 4, problem: 'line is not JSON', recordedIn: SEGMENT_1 },
    ]);
  });

  it('appends in the same segment after a bad line that a chained record follows, and reports that line', async () => {
    const { trail, container, written } = await aTrailOfThreeRecords();
    const head = headOf(await textOf(container, SEGMENT_0));
    const [follower] = chainEntries(head, [anEntry()]);
    await rawAppend(container, SEGMENT_0, Buffer.from(`${MARKER}\n${JSON.stringify(follower)}\n`));
    const next = anEntry();

    await trail.append([next], { mayAlreadyBeWritten: false });

    expect(await blobNames(container)).toEqual([SEGMENT_0]);
    const { records, badLines } = await readAll(trail);
    expect(records.map((r) => r.id)).toEqual([...written, follower, next].map((e) => e?.id));
    expect(badLines).toEqual([{ blob: SEGMENT_0, line: 4, problem: 'line is not JSON' }]);
    expect((await trail.verifyDate(DAY)).blobs[0]?.result).toMatchObject({
      ok: false,
      records: 5,
      breaks: [{ line: 4, problem: 'line is not JSON' }],
    });
  });

  it('writes the break once, and every entry once, when two instances find the corrupt tail together', async () => {
    const { container, written } = await aTrailOfThreeRecords();
    await rawAppend(container, SEGMENT_0, Buffer.from('{"seq": 4, '));
    const first = new BlobAuditTrail(containerClient(container), 1);
    const second = new BlobAuditTrail(containerClient(container), 1);
    const batches = Array.from({ length: 12 }, (_, i) => [
      anEntry({ deviceId: `sensor-${i}` }),
      anEntry({ deviceId: `sensor-${i}` }),
    ]);

    await Promise.all(
      batches.map((batch, i) =>
        (i % 2 === 0 ? first : second).append(batch, { mayAlreadyBeWritten: false }),
      ),
    );

    const { records, badLines } = await readAll(first);
    expect(badLines).toEqual([{ blob: SEGMENT_0, line: 4, problem: 'line is not JSON' }]);
    expect(records.filter((r) => r.type === 'audit.chain-broken')).toHaveLength(1);
    expect(records.filter((r) => r.type !== 'audit.chain-broken').map((r) => r.id)).toEqual([
      ...written.map((e) => e.id),
      ...records.slice(4).map((r) => r.id),
    ]);
    expect(
      records
        .slice(4)
        .map((r) => r.id)
        .sort(),
    ).toEqual(
      batches
        .flat()
        .map((e) => e.id)
        .sort(),
    );
    expect((await first.verifyDate(DAY)).blobs.map((b) => [b.name, b.result.ok])).toEqual([
      [SEGMENT_0, false],
      [SEGMENT_1, true],
    ]);
  });
});
