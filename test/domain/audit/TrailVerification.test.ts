import {
  ChainHead,
  ChainedAuditRecord,
  chainEntries,
  genesisHead,
} from '../../../shared/domain/AuditChain';
import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import {
  BlobSeal,
  CHECKPOINT_FORMAT,
  SignedCheckpoint,
  checkpointText,
  storedCheckpointHash,
} from '../../../shared/domain/audit/Checkpoint';
import {
  CheckpointRead,
  SealOf,
  TrailProblem,
  datesBetween,
  missingBlob,
  sealsByBlob,
  verifyBlob,
  verifyCheckpointChain,
} from '../../../shared/domain/audit/TrailVerification';
import { dateRangeFrom, scheduledCheckpointKind } from '../../../shared/domain/audit/dateRange';
import { anAuditEntry } from '../../support/auditEntries';

const STALE_AFTER = 2 * HOUR_MS + 15 * MINUTE_MS;
const FIRST_AT = Date.parse('2026-11-23T00:05:00.000Z');
const BLOB = '2026/11/23/shard-00.jsonl';

const iso = (ms: number) => new Date(ms).toISOString();

function aCheckpoint(seq: number, overrides: Partial<SignedCheckpoint> = {}): SignedCheckpoint {
  return {
    format: CHECKPOINT_FORMAT,
    seq,
    kind: 'hourly',
    at: iso(FIRST_AT + (seq - 1) * HOUR_MS),
    full: seq === 1,
    previous: null,
    dates: [],
    keyId: 'local:test',
    algorithm: 'ES256',
    signature: 'c2ln',
    ...overrides,
  };
}

/** Checkpoints `from`..`to`, an hour apart, each naming the stored text of the one before. */
function linkedCheckpoints(from: number, to: number): SignedCheckpoint[] {
  const out: SignedCheckpoint[] = [];
  for (let seq = from; seq <= to; seq += 1) {
    const before = out[out.length - 1];
    const previous = before
      ? { seq: before.seq, hash: storedCheckpointHash(checkpointText(before)) }
      : seq === 1
        ? null
        : { seq: seq - 1, hash: 'e'.repeat(64) };
    out.push(aCheckpoint(seq, { previous }));
  }
  return out;
}

/** Each checkpoint as read back from its own number, signature checked and good. */
function readBack(checkpoints: readonly SignedCheckpoint[]): CheckpointRead[] {
  return checkpoints.map((c) => ({ seq: c.seq, stored: checkpointText(c), checkpoint: c }));
}

function checkChain(
  read: readonly CheckpointRead[],
  options: { listed?: number[]; reachedStart?: boolean; now?: string } = {},
) {
  const newestAt = Math.max(...read.map((r) => Date.parse(r.checkpoint?.at ?? '')), FIRST_AT);
  return verifyCheckpointChain({
    listed: options.listed ?? read.map((r) => r.seq),
    read,
    reachedStart: options.reachedStart ?? true,
    now: options.now ?? iso(newestAt + 10 * MINUTE_MS),
    staleAfterMs: STALE_AFTER,
  });
}

const kinds = (problems: readonly TrailProblem[]) => problems.map((p) => p.kind);

describe('verifyCheckpointChain', () => {
  it('reports a made-up checkpoint number far ahead as one gap and one invalid checkpoint, at once', () => {
    const good = linkedCheckpoints(1, 3);
    const read = [
      ...readBack(good),
      {
        seq: 9_999_999_999,
        stored: '{}',
        problem: 'is not a checkpoint: not a certfleet checkpoint',
      },
    ];

    const result = checkChain(read, { now: iso(Date.parse(good[2]!.at) + MINUTE_MS) });

    expect(result.problems.filter((p) => p.kind === 'checkpoint-missing')).toEqual([
      expect.objectContaining({
        message: 'checkpoints 4 to 9999999998 are missing: they were deleted',
      }),
    ]);
    expect(result.problems.filter((p) => p.kind === 'checkpoint-invalid')).toHaveLength(1);
    expect(result.newest?.seq).toBe(3);
  });

  it('finds nothing wrong with checkpoints numbered from 1, each naming the one before', () => {
    const result = checkChain(readBack(linkedCheckpoints(1, 5)));

    expect(result.problems).toEqual([]);
    expect(result.valid.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(result.newest?.seq).toBe(5);
  });

  it('reports deleted checkpoints as ranges of missing numbers, one problem a gap', () => {
    const read = readBack(linkedCheckpoints(1, 9).filter((c) => ![3, 4, 7].includes(c.seq)));

    const result = checkChain(read);

    expect(result.problems).toEqual([
      {
        kind: 'checkpoint-missing',
        checkpoint: 3,
        message: 'checkpoints 3 to 4 are missing: they were deleted',
      },
      {
        kind: 'checkpoint-missing',
        checkpoint: 7,
        message: 'checkpoint 7 is missing: it was deleted',
      },
    ]);
  });

  it('reports the first checkpoints missing when the window read reaches the oldest stored', () => {
    const read = readBack(linkedCheckpoints(4, 6));

    expect(checkChain(read, { reachedStart: true }).problems).toEqual([
      {
        kind: 'checkpoint-missing',
        checkpoint: 1,
        message: 'checkpoints 1 to 3 are missing: they were deleted',
      },
    ]);
  });

  it('does not call checkpoints before a window that stops short of the oldest missing', () => {
    const read = readBack(linkedCheckpoints(4, 6));

    expect(checkChain(read, { listed: [1, 2, 3, 4, 5, 6], reachedStart: false }).problems).toEqual(
      [],
    );
  });

  it('breaks the link of the checkpoint after one that was replaced by another signed one', () => {
    const checkpoints = linkedCheckpoints(1, 3);
    const replaced = {
      ...(checkpoints[1] as SignedCheckpoint),
      at: iso(FIRST_AT + 90 * MINUTE_MS),
    };

    const result = checkChain(readBack([checkpoints[0]!, replaced, checkpoints[2]!]));

    expect(result.problems).toEqual([
      {
        kind: 'checkpoint-chain-broken',
        checkpoint: 3,
        message:
          'checkpoint 3 names a checkpoint 2 other than the one stored: that one was replaced',
      },
    ]);
  });

  it('breaks the link of a first checkpoint that names one before it', () => {
    const first = aCheckpoint(1, { previous: { seq: 0, hash: 'e'.repeat(64) } });

    expect(checkChain(readBack([first])).problems).toEqual([
      {
        kind: 'checkpoint-chain-broken',
        checkpoint: 1,
        message: 'checkpoint 1 is the first but names one before it',
      },
    ]);
  });

  it('breaks the link of a checkpoint that names none before it, or another number', () => {
    const [one, two] = linkedCheckpoints(1, 2) as [SignedCheckpoint, SignedCheckpoint];
    const orphan = aCheckpoint(3, { previous: null });
    const misnamed = aCheckpoint(3, {
      previous: { seq: 1, hash: storedCheckpointHash(checkpointText(one)) },
    });

    for (const third of [orphan, misnamed]) {
      expect(checkChain(readBack([one, two, third])).problems).toEqual([
        {
          kind: 'checkpoint-chain-broken',
          checkpoint: 3,
          message: 'checkpoint 3 does not name checkpoint 2 as the one before it',
        },
      ]);
    }
  });

  it('breaks the link of a checkpoint taken before the one it names, beyond clock skew', () => {
    const [one, two] = linkedCheckpoints(1, 2) as [SignedCheckpoint, SignedCheckpoint];
    const earlier = aCheckpoint(3, {
      at: iso(Date.parse(two.at) - 10 * MINUTE_MS),
      previous: { seq: 2, hash: storedCheckpointHash(checkpointText(two)) },
    });
    const skewed = aCheckpoint(3, {
      at: iso(Date.parse(two.at) - MINUTE_MS),
      previous: { seq: 2, hash: storedCheckpointHash(checkpointText(two)) },
    });

    expect(checkChain(readBack([one, two, skewed])).problems).toEqual([]);
    expect(checkChain(readBack([one, two, earlier])).problems).toEqual([
      {
        kind: 'checkpoint-chain-broken',
        checkpoint: 3,
        message: 'checkpoint 3 was taken before checkpoint 2',
      },
    ]);
  });

  it('calls the checkpoints stale once the newest is older than the period allows, not before', () => {
    const read = readBack(linkedCheckpoints(1, 3));
    const newestAt = Date.parse(read[2]!.checkpoint!.at);

    const fresh = checkChain(read, { now: iso(newestAt + STALE_AFTER) });
    const stale = checkChain(read, { now: iso(newestAt + STALE_AFTER + 1) });

    expect(fresh.problems).toEqual([]);
    expect(stale.problems).toEqual([
      {
        kind: 'checkpoints-stale',
        checkpoint: 3,
        message: `the newest checkpoint that verifies (3) was taken at ${iso(newestAt)}: checkpoints stopped, or newer ones were deleted`,
      },
    ]);
  });

  it('judges staleness by the newest checkpoint that verifies, not the newest stored', () => {
    const read = readBack(linkedCheckpoints(1, 4));
    const forged = {
      seq: 4,
      stored: read[3]!.stored,
      problem: 'is signed with a key this deployment does not trust',
    };
    // Fresh by checkpoint 4, an hour newer; stale by checkpoint 3.
    const now = iso(Date.parse(read[2]!.checkpoint!.at) + STALE_AFTER + 1);

    const result = checkChain([...read.slice(0, 3), forged], { now });

    expect(kinds(result.problems)).toEqual(['checkpoint-invalid', 'checkpoints-stale']);
    expect(result.problems[1]?.checkpoint).toBe(3);
    expect(result.valid.map((c) => c.seq)).toEqual([1, 2, 3]);
  });

  it('leaves out of the valid ones a checkpoint that vanished, is unreadable or sits under another number', () => {
    const [one, two, three] = linkedCheckpoints(1, 3) as SignedCheckpoint[];
    const read: CheckpointRead[] = [
      { seq: 1, stored: checkpointText(one!), problem: 'is not a checkpoint: not JSON' },
      { seq: 2 },
      { seq: 3, stored: checkpointText(two!), checkpoint: two! },
    ];

    const result = checkChain(read, { now: three!.at });

    expect(result.valid).toEqual([]);
    expect(result.problems).toEqual([
      {
        kind: 'checkpoint-invalid',
        checkpoint: 1,
        message: 'checkpoint 1 is not a checkpoint: not JSON',
      },
      {
        kind: 'checkpoint-invalid',
        checkpoint: 2,
        message: 'checkpoint 2 vanished while being read',
      },
      {
        kind: 'checkpoint-invalid',
        checkpoint: 3,
        message: 'checkpoint 3 says it is checkpoint 2: a checkpoint copied over another',
      },
      {
        kind: 'no-checkpoint',
        message: 'no checkpoint verifies: nothing proves the trail complete or unaltered',
      },
    ]);
    expect(result.newest).toBeUndefined();
  });

  it('says nothing proves the trail when there is no checkpoint at all', () => {
    const result = checkChain([], { listed: [] });

    expect(kinds(result.problems)).toEqual(['no-checkpoint']);
  });
});

const headOf = (r: ChainedAuditRecord): ChainHead => ({ seq: r.seq, hash: r.hash });
const textOf = (records: readonly (ChainedAuditRecord | string)[]) =>
  records.map((r) => `${typeof r === 'string' ? r : JSON.stringify(r)}\n`).join('');

function sealThrough(records: readonly ChainedAuditRecord[], count: number): BlobSeal {
  const last = records[count - 1] as ChainedAuditRecord;
  return {
    name: BLOB,
    bytes: Buffer.byteLength(textOf(records.slice(0, count))),
    records: count,
    lastSeq: last.seq,
    lastHash: last.hash,
  };
}

function sealOf(checkpoint: number, seal: BlobSeal): SealOf {
  return { checkpoint, at: iso(FIRST_AT + (checkpoint - 1) * HOUR_MS), seal };
}

function entries(count: number, overrides: Partial<AuditEntry> = {}): AuditEntry[] {
  return Array.from({ length: count }, () => anAuditEntry(overrides));
}

/** Checkpoint 3 at 02:05, the newest; records before it were appended at 01:30. */
const NEWEST = aCheckpoint(3);
const BEFORE = '2026-11-23T01:30:00.000Z';

function verify(
  content: string,
  seals: readonly SealOf[],
  options: {
    skewMs?: number;
    recordedIn?: (line: number) => string | undefined;
    newest?: SignedCheckpoint | null;
  } = {},
) {
  return verifyBlob({
    name: BLOB,
    content,
    bytes: Buffer.byteLength(content),
    seals,
    newest: options.newest === null ? undefined : (options.newest ?? NEWEST),
    skewMs: options.skewMs ?? 5 * MINUTE_MS,
    ...(options.recordedIn ? { recordedIn: options.recordedIn } : {}),
  });
}

describe('verifyBlob', () => {
  it('finds an untouched blob wholly sealed', () => {
    const records = chainEntries(genesisHead(BLOB), entries(5), BEFORE);

    const result = verify(textOf(records), [sealOf(3, sealThrough(records, 5))]);

    expect(result).toEqual({
      name: BLOB,
      records: 5,
      sealed: 5,
      pending: { count: 0 },
      recordedBreaks: 0,
      problems: [],
    });
  });

  it('counts records appended after the newest checkpoint as pending, with their lines', () => {
    const sealed = chainEntries(genesisHead(BLOB), entries(3), BEFORE);
    const late = chainEntries(headOf(sealed[2]!), entries(2), '2026-11-23T02:20:00.000Z');

    const result = verify(textOf([...sealed, ...late]), [sealOf(3, sealThrough(sealed, 3))]);

    expect(result.problems).toEqual([]);
    expect(result.sealed).toBe(3);
    expect(result.pending).toEqual({ count: 2, lines: { from: 4, to: 5 } });
  });

  it('reports records past the seals that say they were appended before the newest checkpoint', () => {
    const sealed = chainEntries(genesisHead(BLOB), entries(3), BEFORE);
    const slipped = chainEntries(headOf(sealed[2]!), entries(2), '2026-11-23T01:45:00.000Z');

    const result = verify(textOf([...sealed, ...slipped]), [sealOf(3, sealThrough(sealed, 3))]);

    expect(result.pending).toEqual({ count: 0 });
    expect(result.problems).toEqual([
      {
        kind: 'appended-after-checkpoint',
        blob: BLOB,
        lines: { from: 4, to: 5 },
        checkpoint: 3,
        message: `${BLOB}: 2 records (lines 4-5) after what the checkpoints sealed say they were appended before checkpoint 3 (${NEWEST.at}): slipped in afterwards`,
      },
    ]);
  });

  it('judges records written before appendedAt existed by when they were recorded', () => {
    const sealed = chainEntries(genesisHead(BLOB), entries(2), BEFORE);
    const late = chainEntries(
      headOf(sealed[1]!),
      entries(1, { recordedAt: '2026-11-23T02:30:00.000Z' }),
    );
    const early = chainEntries(
      headOf(sealed[1]!),
      entries(1, { recordedAt: '2026-11-23T01:00:00.000Z' }),
    );
    const seals = [sealOf(3, sealThrough(sealed, 2))];

    expect(late[0]?.appendedAt).toBeUndefined();
    expect(verify(textOf([...sealed, ...late]), seals).pending.count).toBe(1);
    expect(kinds(verify(textOf([...sealed, ...early]), seals).problems)).toEqual([
      'appended-after-checkpoint',
    ]);
  });

  it('allows the instances’ clocks the skew, and no more', () => {
    const sealed = chainEntries(genesisHead(BLOB), entries(2), BEFORE);
    const seals = [sealOf(3, sealThrough(sealed, 2))];
    const at = (ms: number) =>
      chainEntries(headOf(sealed[1]!), entries(1), iso(Date.parse(NEWEST.at) - ms));

    const within = verify(textOf([...sealed, ...at(4 * MINUTE_MS)]), seals, {
      skewMs: 5 * MINUTE_MS,
    });
    const beyond = verify(textOf([...sealed, ...at(6 * MINUTE_MS)]), seals, {
      skewMs: 5 * MINUTE_MS,
    });

    expect(within.problems).toEqual([]);
    expect(within.pending.count).toBe(1);
    expect(kinds(beyond.problems)).toEqual(['appended-after-checkpoint']);
  });

  it('reports a blob no checkpoint sealed whose records predate the newest checkpoint', () => {
    const records = chainEntries(genesisHead(BLOB), entries(2), BEFORE);

    const result = verify(textOf(records), []);

    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]?.message).toContain('in a blob no checkpoint sealed');
  });

  it('holds every record pending, and none slipped in, when no checkpoint verifies', () => {
    const records = chainEntries(genesisHead(BLOB), entries(2), BEFORE);

    const result = verify(textOf(records), [], { newest: null });

    expect(result.problems).toEqual([]);
    expect(result.pending).toEqual({ count: 2, lines: { from: 1, to: 2 } });
  });

  it('counts a torn last line an audit.chain-broken record names, and reports one nobody recorded', () => {
    const before = chainEntries(genesisHead(BLOB), entries(2), BEFORE);
    const content = textOf([...before, '{"seq": 3, "prevH']);
    const seals = [sealOf(3, { ...sealThrough(before, 2), bytes: Buffer.byteLength(content) })];

    const recorded = verify(content, seals, {
      recordedIn: (line) => (line === 3 ? '2026/11/23/shard-00.1.jsonl' : undefined),
    });
    const silent = verify(content, seals);

    expect(recorded.problems).toEqual([]);
    expect(recorded.recordedBreaks).toBe(1);
    expect(recorded.records).toBe(2);
    expect(silent.recordedBreaks).toBe(0);
    expect(silent.problems).toEqual([
      {
        kind: 'chain-broken',
        blob: BLOB,
        lines: { from: 3, to: 3 },
        message: `${BLOB} line 3: line is not JSON`,
      },
    ]);
  });

  it('reports a bad line with lines after it even when a record claims it as a recorded break', () => {
    const before = chainEntries(genesisHead(BLOB), entries(2), BEFORE);
    const after = chainEntries(headOf(before[1]!), entries(2), BEFORE);
    const content = textOf([...before, '{"seq": 3, "prevH', ...after]);
    const seals = [
      sealOf(3, { ...sealThrough(after, 2), bytes: Buffer.byteLength(content), records: 4 }),
    ];

    const claimed = verify(content, seals, {
      recordedIn: (line) => (line === 3 ? '2026/11/23/shard-00.1.jsonl' : undefined),
    });

    expect(claimed.recordedBreaks).toBe(0);
    expect(claimed.problems).toEqual([
      expect.objectContaining({ kind: 'chain-broken', lines: { from: 3, to: 3 } }),
    ]);
  });

  it('brackets records rewritten under a recomputed chain between the seals around them', () => {
    const original = chainEntries(genesisHead(BLOB), entries(6), BEFORE);
    const seals = [
      sealOf(1, sealThrough(original, 2)),
      sealOf(2, sealThrough(original, 4)),
      sealOf(3, sealThrough(original, 6)),
    ];
    const plain = original
      .slice(2)
      .map(({ seq: _s, prevHash: _p, hash: _h, appendedAt: _a, ...e }) => e);
    plain[0] = { ...plain[0]!, deviceId: 'thermostat-9999' };
    const rewritten = [
      ...original.slice(0, 2),
      ...chainEntries(headOf(original[1]!), plain, BEFORE),
    ];

    const result = verify(textOf(rewritten), seals);

    expect(result.problems).toEqual([
      {
        kind: 'records-rewritten',
        blob: BLOB,
        lines: { from: 3, to: 4 },
        checkpoint: 2,
        message: `${BLOB}: records 3 to 4 (lines 3-4) are not the ones checkpoint 2 sealed (checkpoint 1 matched up to record 2): rewritten under a recomputed chain`,
      },
    ]);
  });

  it('reports records deleted at the end of a sealed blob', () => {
    const records = chainEntries(genesisHead(BLOB), entries(5), BEFORE);

    const result = verify(textOf(records.slice(0, 4)), [sealOf(3, sealThrough(records, 5))]);

    expect(kinds(result.problems)).toEqual(['records-missing']);
    expect(result.problems[0]).toMatchObject({ checkpoint: 3, lines: { from: 4, to: 4 } });
    expect(result.problems[0]?.message).toContain('1 record gone');
  });
});

describe('sealsByBlob and missingBlob', () => {
  it('gathers each blob’s seals oldest first, for the dates wanted only', () => {
    const other = '2026/11/24/shard-00.jsonl';
    const seal = (name: string, records: number): BlobSeal => ({
      name,
      bytes: records * 100,
      records,
      lastSeq: records,
      lastHash: 'f'.repeat(64),
    });
    const one = aCheckpoint(1, { dates: [{ date: '2026-11-23', blobs: [seal(BLOB, 1)] }] });
    const two = aCheckpoint(2, {
      dates: [
        { date: '2026-11-23', blobs: [seal(BLOB, 3)] },
        { date: '2026-11-24', blobs: [seal(other, 1)] },
      ],
    });

    const seals = sealsByBlob([one, two], (date) => date === '2026-11-23');

    expect([...seals.keys()]).toEqual([BLOB]);
    expect(seals.get(BLOB)?.map((s) => [s.checkpoint, s.seal.records])).toEqual([
      [1, 1],
      [2, 3],
    ]);
    expect(missingBlob(BLOB, seals.get(BLOB)!)).toEqual({
      kind: 'blob-missing',
      blob: BLOB,
      checkpoint: 2,
      message: `${BLOB} is gone: checkpoint 2 sealed it with 3 records`,
    });
  });
});

describe('datesBetween', () => {
  it('lists every date across a month end, both ends included', () => {
    expect(datesBetween('2026-11-29', '2026-12-02')).toEqual([
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
      '2026-12-02',
    ]);
  });

  it('counts a leap day and crosses a year end', () => {
    expect(datesBetween('2028-02-28', '2028-03-01')).toEqual([
      '2028-02-28',
      '2028-02-29',
      '2028-03-01',
    ]);
    expect(datesBetween('2026-12-31', '2027-01-01')).toEqual(['2026-12-31', '2027-01-01']);
  });

  it('lists one date for a one-day range and none when from is after to', () => {
    expect(datesBetween('2026-11-23', '2026-11-23')).toEqual(['2026-11-23']);
    expect(datesBetween('2026-11-24', '2026-11-23')).toEqual([]);
  });
});

describe('dateRangeFrom', () => {
  const TODAY = '2026-11-23';

  it('is today when neither end is given, and the one given when only one is', () => {
    expect(dateRangeFrom({}, TODAY)).toEqual({ range: { from: TODAY, to: TODAY } });
    expect(dateRangeFrom({ from: '2026-11-01' }, TODAY)).toEqual({
      range: { from: '2026-11-01', to: '2026-11-01' },
    });
    expect(dateRangeFrom({ to: ' 2026-11-02 ', from: '  ' }, TODAY)).toEqual({
      range: { from: '2026-11-02', to: '2026-11-02' },
    });
  });

  it.each([
    ['from', '2026-02-30'],
    ['to', '2026-13-01'],
    ['from', '2026-2-3'],
    ['to', '23/11/2026'],
    ['from', '2026-11-23T00:00:00Z'],
  ])('rejects %s=%s as not a UTC date, naming the parameter', (name, value) => {
    const other = name === 'from' ? 'to' : 'from';
    const result = dateRangeFrom({ [name]: value, [other]: '2026-11-23' }, TODAY);

    expect(result).toEqual({ problem: `${name} must be a UTC date, YYYY-MM-DD (got ${value})` });
  });

  it('names the end the caller gave wrong, not the one filled in from it', () => {
    expect(dateRangeFrom({ to: '2026-11-31' }, TODAY)).toEqual({
      problem: 'to must be a UTC date, YYYY-MM-DD (got 2026-11-31)',
    });
    expect(dateRangeFrom({ from: 'last week' }, TODAY)).toEqual({
      problem: 'from must be a UTC date, YYYY-MM-DD (got last week)',
    });
  });

  it('rejects from after to', () => {
    expect(dateRangeFrom({ from: '2026-11-24', to: '2026-11-23' }, TODAY)).toEqual({
      problem: 'from (2026-11-24) is after to (2026-11-23)',
    });
  });

  it('allows at most maxDays days, both ends counted', () => {
    expect(dateRangeFrom({ from: '2026-01-01', to: '2026-04-02' }, TODAY, 92)).toEqual({
      range: { from: '2026-01-01', to: '2026-04-02' },
    });
    expect(dateRangeFrom({ from: '2026-01-01', to: '2026-04-03' }, TODAY, 92)).toEqual({
      problem: 'the range holds 93 days; at most 92 at a time',
    });
    expect('range' in dateRangeFrom({ from: '2020-01-01', to: '2026-04-03' }, TODAY)).toBe(true);
  });
});

describe('scheduledCheckpointKind', () => {
  it.each([
    ['2026-11-23T00:00:00.000Z', 'daily'],
    ['2026-11-23T00:59:59.999Z', 'daily'],
    ['2026-11-23T01:00:00.000Z', 'hourly'],
    ['2026-11-23T23:05:00.000Z', 'hourly'],
  ])('takes the checkpoint at %s as %s', (at, kind) => {
    expect(scheduledCheckpointKind(new Date(at))).toBe(kind);
  });
});
