import {
  ChainedAuditRecord,
  canonicalJson,
  chainEntries,
  genesisHead,
  recordHash,
  verifyChain,
} from '../../shared/domain/AuditChain';
import { AuditEntry } from '../../shared/domain/AuditEntry';

const BLOB = '2026/11/23/shard-03.jsonl';
const OTHER_BLOB = '2026/11/24/shard-03.jsonl';

function anEntry(n: number, overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: `entry-${n}`,
    type: n === 1 ? 'certificate.first-seen' : 'certificate.renewed',
    hub: 'contoso-hub',
    deviceId: `thermostat-000${n}`,
    occurredAt: `2026-11-23T0${n}:00:00.000Z`,
    recordedAt: `2026-11-23T0${n}:00:05.000Z`,
    opType: 'updateTwin',
    reportedVersion: n,
    new: {
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: '2026-12-01T00:00:00.000Z',
      thumbprintSha256: String(n).repeat(64),
    },
    findings: ['chain-untrusted'],
    ...overrides,
  };
}

/** The lines of a blob holding `count` chained entries, as the audit trail appends them. */
function linesOf(blobName: string, count: number): string[] {
  const entries = Array.from({ length: count }, (_, i) => anEntry(i + 1));
  return chainEntries(genesisHead(blobName), entries).map((record) => JSON.stringify(record));
}

function editLine(lines: string[], lineNo: number, edit: (record: ChainedAuditRecord) => void) {
  const copy = [...lines];
  const record = JSON.parse(copy[lineNo - 1] as string) as ChainedAuditRecord;
  edit(record);
  copy[lineNo - 1] = JSON.stringify(record);
  return copy;
}

describe('chainEntries', () => {
  it('numbers the records from the head and links each to the hash of the one before', () => {
    const head = genesisHead(BLOB);
    const [first, second] = chainEntries(head, [anEntry(1), anEntry(2)]);

    expect(first).toMatchObject({ ...anEntry(1), seq: 1, prevHash: head.hash });
    expect(second).toMatchObject({ ...anEntry(2), seq: 2, prevHash: first?.hash });
    expect(first?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(first?.hash).not.toBe(second?.hash);
  });

  it('hashes each record over its entry, its seq and its link', () => {
    const [record] = chainEntries(genesisHead(BLOB), [anEntry(1)]);
    if (!record) throw new Error('expected a record');
    const { hash, ...unsigned } = record;

    expect(recordHash(unsigned)).toBe(hash);
    expect(recordHash({ ...unsigned, seq: 2 })).not.toBe(hash);
  });

  it('derives a different genesis for every blob', () => {
    expect(genesisHead(BLOB).hash).not.toBe(genesisHead(OTHER_BLOB).hash);
    expect(genesisHead(BLOB)).toEqual({ seq: 0, hash: genesisHead(BLOB).hash });
  });
});

describe('verifyChain', () => {
  it('verifies the records it chained and returns the head to append after', () => {
    const lines = linesOf(BLOB, 3);
    const last = JSON.parse(lines[2] as string) as ChainedAuditRecord;

    expect(verifyChain(BLOB, lines)).toEqual({
      ok: true,
      records: 3,
      head: { seq: 3, hash: last.hash },
    });
  });

  it('verifies a blob appended to in several batches', () => {
    const firstBatch = chainEntries(genesisHead(BLOB), [anEntry(1), anEntry(2)]);
    const head = verifyChain(
      BLOB,
      firstBatch.map((r) => JSON.stringify(r)),
    );
    if (!head.ok) throw new Error(head.problem);
    const secondBatch = chainEntries(head.head, [anEntry(3)]);

    const lines = [...firstBatch, ...secondBatch].map((r) => JSON.stringify(r));

    expect(verifyChain(BLOB, lines)).toMatchObject({ ok: true, records: 3 });
  });

  it('verifies an empty blob and skips blank lines', () => {
    expect(verifyChain(BLOB, [])).toEqual({ ok: true, records: 0, head: genesisHead(BLOB) });
    expect(verifyChain(BLOB, [...linesOf(BLOB, 2), ''])).toMatchObject({ ok: true, records: 2 });
  });

  it('does not depend on the key order a line was written in', () => {
    const lines = linesOf(BLOB, 2);
    const reordered = lines.map((line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify(Object.fromEntries(Object.entries(record).reverse()));
    });

    expect(reordered).not.toEqual(lines);
    expect(verifyChain(BLOB, reordered)).toMatchObject({ ok: true, records: 2 });
  });

  it.each<[string, (record: ChainedAuditRecord) => void]>([
    ['type', (r) => (r.type = 'certificate.changed-unexpectedly')],
    ['deviceId', (r) => (r.deviceId = 'thermostat-9999')],
    ['occurredAt', (r) => (r.occurredAt = '2026-11-23T02:00:00.001Z')],
    ['reportedVersion', (r) => (r.reportedVersion = 3)],
    ['a nested certificate field', (r) => r.new && (r.new.validUntil = '2027-12-01T00:00:00.000Z')],
    ['the findings', (r) => (r.findings = [])],
    ['an added field', (r) => (r.detail = 'nothing to see')],
    ['a removed field', (r) => delete r.opType],
    ['the hash', (r) => (r.hash = '0'.repeat(64))],
  ])('detects an edit of %s on the line edited', (_what, edit) => {
    const lines = editLine(linesOf(BLOB, 3), 2, edit);

    expect(verifyChain(BLOB, lines)).toEqual({
      ok: false,
      records: 1,
      line: 2,
      problem: 'hash does not match the record',
    });
  });

  it('detects an edit whose hash was recomputed on the line after it', () => {
    const lines = editLine(linesOf(BLOB, 3), 2, (record) => {
      record.deviceId = 'thermostat-9999';
      const { hash: _old, ...unsigned } = record;
      record.hash = recordHash(unsigned);
    });

    expect(verifyChain(BLOB, lines)).toEqual({
      ok: false,
      records: 2,
      line: 3,
      problem: 'prevHash does not match the line before',
    });
  });

  it('detects a renumbered line', () => {
    const lines = editLine(linesOf(BLOB, 3), 3, (record) => (record.seq = 7));

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      line: 3,
      problem: 'expected seq 3, found 7',
    });
  });

  it('detects a deleted line at the line that follows it', () => {
    const lines = linesOf(BLOB, 4);
    lines.splice(1, 1);

    expect(verifyChain(BLOB, lines)).toEqual({
      ok: false,
      records: 1,
      line: 2,
      problem: 'expected seq 2, found 3',
    });
  });

  it('detects a deleted first line', () => {
    const lines = linesOf(BLOB, 3).slice(1);

    expect(verifyChain(BLOB, lines)).toMatchObject({ ok: false, line: 1, records: 0 });
  });

  it('detects reordered lines', () => {
    const [one, two, three] = linesOf(BLOB, 3) as [string, string, string];

    expect(verifyChain(BLOB, [one, three, two])).toEqual({
      ok: false,
      records: 1,
      line: 2,
      problem: 'expected seq 2, found 3',
    });
  });

  it('detects lines moved to another blob', () => {
    expect(verifyChain(OTHER_BLOB, linesOf(BLOB, 2))).toEqual({
      ok: false,
      records: 0,
      line: 1,
      problem: 'prevHash does not match the line before',
    });
  });

  it('detects a line from another blob spliced in with the right number', () => {
    const lines = linesOf(BLOB, 3);
    lines[1] = linesOf(OTHER_BLOB, 3)[1] as string;

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      line: 2,
      problem: 'prevHash does not match the line before',
    });
  });

  it('counts lines from 1 including the blank ones it skipped', () => {
    const [one, two] = linesOf(BLOB, 2) as [string, string];

    expect(verifyChain(BLOB, [one, '', two, two])).toMatchObject({
      ok: false,
      records: 2,
      line: 4,
    });
  });

  it.each([
    ['not JSON', '{"seq": 2, '],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON array', '[1, 2]'],
  ])('reports a line that is %s instead of failing', (_what, bad) => {
    const lines = linesOf(BLOB, 2);
    lines.splice(1, 0, bad);

    expect(verifyChain(BLOB, lines)).toMatchObject({ ok: false, records: 1, line: 2 });
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ hub: 'h', seq: 1, new: { validUntil: 'u', validFrom: 'f' } })).toBe(
      canonicalJson({ new: { validFrom: 'f', validUntil: 'u' }, seq: 1, hub: 'h' }),
    );
  });

  it('keeps the order of array items, which is meaningful', () => {
    expect(canonicalJson(['b', 'a'])).not.toBe(canonicalJson(['a', 'b']));
  });

  it('leaves out undefined members, as JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });
});
