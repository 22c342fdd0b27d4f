import {
  ChainedAuditRecord,
  appendPoint,
  appendPointFromTail,
  canonicalJson,
  chainBreakEntry,
  chainEntries,
  genesisHead,
  readChain,
  recordHash,
  verifyAuditBlobs,
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
      breaks: [],
    });
  });

  it('verifies a blob appended to in several batches', () => {
    const firstBatch = chainEntries(genesisHead(BLOB), [anEntry(1), anEntry(2)]);
    const head = verifyChain(
      BLOB,
      firstBatch.map((r) => JSON.stringify(r)),
    );
    if (!head.ok) throw new Error('expected the first batch to verify');
    const secondBatch = chainEntries(head.head, [anEntry(3)]);

    const lines = [...firstBatch, ...secondBatch].map((r) => JSON.stringify(r));

    expect(verifyChain(BLOB, lines)).toMatchObject({ ok: true, records: 3 });
  });

  it('verifies an empty blob and skips blank lines', () => {
    expect(verifyChain(BLOB, [])).toEqual({
      ok: true,
      records: 0,
      head: genesisHead(BLOB),
      breaks: [],
    });
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
  ])('detects an edit of %s on the line edited, and verifies the lines after it', (_what, edit) => {
    const lines = editLine(linesOf(BLOB, 3), 2, edit);

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      records: 2,
      breaks: [{ line: 2, problem: 'hash does not match the record' }],
    });
  });

  it('detects an edit of the hash on the line edited, and on the line that links to it', () => {
    const lines = editLine(linesOf(BLOB, 3), 2, (r) => (r.hash = '0'.repeat(64)));

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      records: 1,
      breaks: [
        { line: 2, problem: 'hash does not match the record' },
        { line: 3, problem: 'prevHash does not match the line before' },
      ],
    });
  });

  it('detects an edit whose hash was recomputed on the line after it', () => {
    const lines = editLine(linesOf(BLOB, 3), 2, (record) => {
      record.deviceId = 'thermostat-9999';
      const { hash: _old, ...unsigned } = record;
      record.hash = recordHash(unsigned);
    });

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      records: 2,
      breaks: [{ line: 3, problem: 'prevHash does not match the line before' }],
    });
  });

  it('detects a renumbered line', () => {
    const lines = editLine(linesOf(BLOB, 3), 3, (record) => (record.seq = 7));

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      breaks: [{ line: 3, problem: 'expected seq 3, found 7' }],
    });
  });

  it('detects a deleted line at the line that follows it, once', () => {
    const lines = linesOf(BLOB, 4);
    lines.splice(1, 1);

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      records: 2,
      breaks: [{ line: 2, problem: 'expected seq 2, found 3' }],
    });
  });

  it('detects a deleted first line', () => {
    const lines = linesOf(BLOB, 3).slice(1);

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      records: 1,
      breaks: [{ line: 1, problem: 'expected seq 1, found 2' }],
    });
  });

  it('detects reordered lines at the line out of place', () => {
    const [one, two, three] = linesOf(BLOB, 3) as [string, string, string];

    expect(verifyChain(BLOB, [one, three, two])).toMatchObject({
      ok: false,
      records: 2,
      breaks: [{ line: 2, problem: 'expected seq 2, found 3' }],
    });
  });

  it('detects lines moved to another blob', () => {
    expect(verifyChain(OTHER_BLOB, linesOf(BLOB, 2))).toMatchObject({
      ok: false,
      records: 1,
      breaks: [{ line: 1, problem: 'prevHash does not match the line before' }],
    });
  });

  it('detects a line from another blob spliced in with the right number', () => {
    const lines = linesOf(BLOB, 3);
    lines[1] = linesOf(OTHER_BLOB, 3)[1] as string;

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      breaks: [
        { line: 2, problem: 'prevHash does not match the line before' },
        { line: 3, problem: 'prevHash does not match the line before' },
      ],
    });
  });

  it('counts lines from 1 including the blank ones it skipped', () => {
    const [one, two] = linesOf(BLOB, 2) as [string, string];

    expect(verifyChain(BLOB, [one, '', two, two])).toMatchObject({
      ok: false,
      records: 2,
      breaks: [{ line: 4, problem: 'expected seq 3, found 2' }],
    });
  });

  it.each([
    ['not JSON', '{"seq": 2, ', 'line is not JSON'],
    ['JSON null', 'null', 'line is not a JSON object'],
    ['a JSON number', '42', 'line is not a JSON object'],
    ['a JSON array', '[1, 2]', 'line is not a JSON object'],
    [
      'an object without a seq',
      '{"id": "x"}',
      'line is not an audit record: seq is missing or not a whole number',
    ],
  ])('reports a line that is %s instead of failing, and goes on', (_what, bad, problem) => {
    const lines = linesOf(BLOB, 2);
    lines.splice(1, 0, bad);

    expect(verifyChain(BLOB, lines)).toEqual({
      ok: false,
      records: 2,
      head: verifyChain(BLOB, linesOf(BLOB, 2)).head,
      breaks: [{ line: 2, problem }],
    });
  });

  it('reports every bad line of a blob and verifies the lines between them', () => {
    const [one, two, three, four, five] = linesOf(BLOB, 5) as string[];
    const edited = editLine([three as string], 1, (r) => (r.deviceId = 'thermostat-9999'))[0];

    const lines = [one, 'garbage', two, edited, four, '{"half": "a rec', five] as string[];

    expect(verifyChain(BLOB, lines)).toMatchObject({
      ok: false,
      records: 4,
      breaks: [
        { line: 2, problem: 'line is not JSON' },
        { line: 4, problem: 'hash does not match the record' },
        { line: 6, problem: 'line is not JSON' },
      ],
    });
  });

  it('names what is wrong with a line without quoting anything it holds', () => {
    const secret = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC';
    const [one] = linesOf(BLOB, 1) as [string];
    const record = JSON.parse(one) as Record<string, unknown>;
    const lines = [
      `-----BEGIN PRIVATE KEY-----${secret}`,
      JSON.stringify({ ...record, seq: secret }),
      JSON.stringify({ ...record, hub: { key: secret } }),
      JSON.stringify({ ...record, detail: secret }),
    ];

    const verification = verifyChain(BLOB, lines);

    expect(verification.breaks.map((b) => b.problem)).toEqual([
      'line is not JSON',
      'line is not an audit record: seq is missing or not a whole number',
      'line is not an audit record: hub is missing or not a string',
      'hash does not match the record',
    ]);
    expect(JSON.stringify(verification)).not.toContain(secret);
  });

  it('reads a blob as stored, where its last line must end with a newline', () => {
    const text = `${linesOf(BLOB, 3).join('\n')}\n`;

    expect(verifyChain(BLOB, text)).toMatchObject({ ok: true, records: 3 });
    expect(verifyChain(BLOB, text.slice(0, -1))).toMatchObject({
      ok: false,
      records: 2,
      breaks: [{ line: 3, problem: 'the line does not end with a newline' }],
    });
    expect(verifyChain(BLOB, `${text}\n \r\n`)).toMatchObject({ ok: true, records: 3 });
  });
});

describe('readChain', () => {
  it('gives the records that verify, and leaves out the lines that do not', () => {
    const [one, two, three] = linesOf(BLOB, 3) as [string, string, string];

    const { records, verification } = readChain(BLOB, [one, 'garbage', two, '[]', three]);

    expect(records.map((r) => r.id)).toEqual(['entry-1', 'entry-2', 'entry-3']);
    expect(verification.breaks.map((b) => b.line)).toEqual([2, 4]);
  });
});

describe('appendPoint', () => {
  const text = (lines: readonly string[]) => lines.map((l) => `${l}\n`).join('');

  it('appends after the last record, knowing the entries written', () => {
    const lines = linesOf(BLOB, 3);

    expect(appendPoint(BLOB, text(lines))).toEqual({
      ok: true,
      head: verifyChain(BLOB, lines).head,
      ids: new Set(['entry-1', 'entry-2', 'entry-3']),
    });
  });

  it('appends after the genesis of an empty or blank blob', () => {
    expect(appendPoint(BLOB, '')).toEqual({ ok: true, head: genesisHead(BLOB), ids: new Set() });
    expect(appendPoint(BLOB, '\n  \n')).toMatchObject({ ok: true, head: genesisHead(BLOB) });
  });

  it('appends after a bad line in the middle that a chained record follows', () => {
    const [one, two] = linesOf(BLOB, 2) as [string, string];

    expect(appendPoint(BLOB, text([one, 'garbage', two, '']))).toMatchObject({
      ok: true,
      head: verifyChain(BLOB, [one, two]).head,
    });
  });

  it.each([
    ['garbage', 'garbage\n', 'line is not JSON'],
    ['half a record', '{"id": "entry-4", "seq": 4, "pre', 'line is not JSON'],
    ['a line that is not JSON', 'not json at all\n', 'line is not JSON'],
    [
      'a record that does not chain',
      `${linesOf(OTHER_BLOB, 4)[3]}\n`,
      'prevHash does not match the line before',
    ],
    [
      'a chained record without its newline',
      JSON.stringify(chainEntries(verifyChain(BLOB, linesOf(BLOB, 3)).head, [anEntry(4)])[0]),
      'the line does not end with a newline',
    ],
  ])('appends nothing after %s, naming its line', (_what, corrupt, problem) => {
    const point = appendPoint(BLOB, `${text(linesOf(BLOB, 3))}${corrupt}`);

    expect(point).toEqual({ ok: false, break: { line: 4, problem } });
  });
});

describe('appendPointFromTail', () => {
  const whole = `${linesOf(BLOB, 4).join('\n')}\n`;

  it('appends after the last record of a window that starts inside a line, knowing its entries', () => {
    const tail = whole.slice(whole.indexOf('\n') - 10);

    expect(appendPointFromTail(tail)).toEqual({
      ok: true,
      head: verifyChain(BLOB, whole).head,
      ids: new Set(['entry-2', 'entry-3', 'entry-4']),
    });
  });

  it('cannot tell from a window that holds one record, or that ends in a bad line', () => {
    const lastTwoLines = whole.slice(whole.lastIndexOf('\n', whole.length - 2) - 10);

    expect(appendPointFromTail(lastTwoLines)).toBeUndefined();
    expect(appendPointFromTail(`${whole}garbage\n`)).toBeUndefined();
    expect(appendPointFromTail(whole.slice(0, -1))).toBeUndefined();
  });
});

describe('chainBreakEntry', () => {
  const broken = { blob: BLOB, line: 4, problem: 'line is not JSON' };

  it('names the blob and line where the chain broke, and no device', () => {
    expect(chainBreakEntry(broken, '2026-11-23T12:00:00.000Z')).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      type: 'audit.chain-broken',
      hub: '',
      deviceId: '',
      occurredAt: '2026-11-23T12:00:00.000Z',
      recordedAt: '2026-11-23T12:00:00.000Z',
      chainBreak: broken,
    });
  });

  it('has the same id whoever records the break, and when', () => {
    const id = chainBreakEntry(broken, '2026-11-23T12:00:00.000Z').id;

    expect(chainBreakEntry(broken, '2026-11-24T08:00:00.000Z').id).toBe(id);
    expect(chainBreakEntry({ ...broken, line: 5 }, '2026-11-23T12:00:00.000Z').id).not.toBe(id);
    expect(
      chainBreakEntry({ ...broken, blob: OTHER_BLOB }, '2026-11-23T12:00:00.000Z').id,
    ).not.toBe(id);
  });
});

describe('verifyAuditBlobs', () => {
  const NEXT = '2026/11/23/shard-03.1.jsonl';
  const corrupt = [...linesOf(BLOB, 3), 'garbage'];

  it('tells a break recorded in a later segment from a silent one', () => {
    const recording = chainEntries(genesisHead(NEXT), [
      chainBreakEntry(
        { blob: BLOB, line: 4, problem: 'line is not JSON' },
        '2026-11-23T12:00:00.000Z',
      ),
      anEntry(5),
    ]).map((r) => JSON.stringify(r));

    expect(verifyAuditBlobs([{ name: BLOB, content: corrupt }])).toEqual([
      {
        name: BLOB,
        result: expect.objectContaining({ breaks: [{ line: 4, problem: 'line is not JSON' }] }),
      },
    ]);
    expect(
      verifyAuditBlobs([
        { name: BLOB, content: corrupt },
        { name: NEXT, content: recording },
      ]),
    ).toEqual([
      {
        name: BLOB,
        result: expect.objectContaining({
          ok: false,
          records: 3,
          breaks: [{ line: 4, problem: 'line is not JSON', recordedIn: NEXT }],
        }),
      },
      { name: NEXT, result: expect.objectContaining({ ok: true, records: 2, breaks: [] }) },
    ]);
  });

  it('does not take a break record that itself fails to verify, or names another line, as a record of it', () => {
    const forged = JSON.stringify({
      ...chainEntries(genesisHead(NEXT), [
        chainBreakEntry(
          { blob: BLOB, line: 4, problem: 'line is not JSON' },
          '2026-11-23T12:00:00.000Z',
        ),
      ])[0],
      seq: 2,
    });
    const otherLine = chainEntries(genesisHead(NEXT), [
      chainBreakEntry(
        { blob: BLOB, line: 3, problem: 'line is not JSON' },
        '2026-11-23T12:00:00.000Z',
      ),
    ]).map((r) => JSON.stringify(r));

    for (const content of [[forged], otherLine]) {
      const [blob] = verifyAuditBlobs([
        { name: BLOB, content: corrupt },
        { name: NEXT, content },
      ]);
      expect(blob?.result.breaks).toEqual([{ line: 4, problem: 'line is not JSON' }]);
    }
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

describe('the record hash, with a key named __proto__', () => {
  it('covers it: a line that gains one no longer verifies', () => {
    const name = '2026/11/23/shard-00.jsonl';
    const [record] = chainEntries(genesisHead(name), [
      {
        id: 'a1',
        type: 'certificate.renewed',
        hub: 'h',
        deviceId: 'd',
        occurredAt: '2026-11-23T10:00:00.000Z',
        recordedAt: '2026-11-23T10:00:00.000Z',
      },
    ]);
    const line = JSON.stringify(record);
    const injected = `${line.slice(0, -1)},"__proto__":{"note":"injected"}}`;

    expect(verifyChain(name, [line]).ok).toBe(true);
    expect(verifyChain(name, [injected]).ok).toBe(false);
  });
});
