import {
  CHECKPOINT_FORMAT,
  CheckpointBody,
  SignedCheckpoint,
  bodyOf,
  checkpointMessage,
  checkpointText,
  dateOfBlob,
  parseCheckpoint,
  storedCheckpointHash,
} from '../../../shared/domain/audit/Checkpoint';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

function aCheckpoint(overrides: Partial<SignedCheckpoint> = {}): SignedCheckpoint {
  return {
    format: CHECKPOINT_FORMAT,
    seq: 7,
    kind: 'hourly',
    at: '2026-11-23T10:05:00.000Z',
    full: false,
    previous: { seq: 6, hash: HASH_A },
    dates: [
      {
        date: '2026-11-23',
        blobs: [
          {
            name: '2026/11/23/shard-00.jsonl',
            bytes: 1234,
            records: 3,
            lastSeq: 3,
            lastHash: HASH_B,
          },
          { name: '2026/11/23/shard-01.jsonl', bytes: 0, records: 0, lastSeq: 0, lastHash: HASH_A },
        ],
      },
    ],
    keyId: 'local:0123456789abcdef0123456789abcdef',
    algorithm: 'ES256',
    signature: 'c2lnbmF0dXJl',
    ...overrides,
  };
}

/** The checkpoint as JSON with one field set to `value` (undefined: the field left out). */
function withField(field: string, value: unknown): string {
  const fields: Record<string, unknown> = { ...aCheckpoint() };
  if (value === undefined) delete fields[field];
  else fields[field] = value;
  return JSON.stringify(fields);
}

/** The same object with its keys, at every level, in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .reverse()
        .map(([k, v]) => [k, reversedKeys(v)]),
    );
  }
  return value;
}

const MARKER = 'EVIL-CONTENT-7f3a';

describe('parseCheckpoint', () => {
  it('reads back exactly what checkpointText wrote', () => {
    const checkpoint = aCheckpoint();

    expect(parseCheckpoint(checkpointText(checkpoint))).toEqual({ checkpoint });
  });

  it('reads back the first checkpoint, which names none before it', () => {
    const first = aCheckpoint({ seq: 1, previous: null, full: true, kind: 'manual', dates: [] });

    expect(parseCheckpoint(checkpointText(first))).toEqual({ checkpoint: first });
  });

  it.each([
    ['seq', -1],
    ['seq', 1.5],
    ['seq', '7'],
    ['kind', `weekly-${MARKER}`],
    ['at', `yesterday ${MARKER}`],
    ['full', 'true'],
    ['previous', { seq: 6, hash: `${MARKER}` }],
    ['previous', { seq: -6, hash: HASH_A }],
    ['previous', 6],
    ['dates', { date: '2026-11-23', blobs: [] }],
    ['dates', [{ date: `2026-11-23${MARKER}`, blobs: [] }]],
    [
      'dates',
      [
        {
          date: '2026-11-23',
          blobs: [{ name: MARKER, bytes: -1, records: 0, lastSeq: 0, lastHash: HASH_A }],
        },
      ],
    ],
    [
      'dates',
      [
        {
          date: '2026-11-23',
          blobs: [{ name: MARKER, bytes: 1, records: 0, lastSeq: 0, lastHash: 'A'.repeat(64) }],
        },
      ],
    ],
    [
      'dates',
      [{ date: '2026-11-23', blobs: [{ bytes: 1, records: 0, lastSeq: 0, lastHash: HASH_A }] }],
    ],
    ['keyId', ''],
    ['keyId', 42],
    ['algorithm', `RS256${MARKER}`],
    ['signature', 42],
  ])(
    'rejects a checkpoint whose %s is %j, naming the field and not its content',
    (field, value) => {
      const result = parseCheckpoint(withField(field, value));

      expect(result).toEqual({ problem: `${field} is missing or malformed` });
    },
  );

  it.each(['seq', 'kind', 'at', 'full', 'previous', 'dates', 'keyId', 'algorithm', 'signature'])(
    'rejects a checkpoint without %s, naming it',
    (field) => {
      expect(parseCheckpoint(withField(field, undefined))).toEqual({
        problem: `${field} is missing or malformed`,
      });
    },
  );

  it.each([
    ['torn JSON', `{"seq": 1, "note": "${MARKER}"`, 'not JSON'],
    ['a JSON array', `["${MARKER}"]`, 'not a JSON object'],
    ['null', 'null', 'not a JSON object'],
    [
      'another format',
      withField('format', `certfleet-checkpoint/2 ${MARKER}`),
      'not a certfleet checkpoint',
    ],
    ['no format', withField('format', undefined), 'not a certfleet checkpoint'],
  ])('rejects %s, without echoing it', (_, text, problem) => {
    const result = parseCheckpoint(text);

    expect(result).toEqual({ problem });
    expect(JSON.stringify(result)).not.toContain(MARKER);
  });
});

describe('checkpointMessage', () => {
  it('is the same bytes whatever order the body’s keys are in, at every level', () => {
    const body = bodyOf(aCheckpoint());
    const reordered = reversedKeys(body) as CheckpointBody;

    expect(Object.keys(reordered)[0]).not.toBe(Object.keys(body)[0]);
    expect(checkpointMessage(reordered).equals(checkpointMessage(body))).toBe(true);
  });

  it('changes when any sealed figure changes', () => {
    const body = bodyOf(aCheckpoint());
    const altered = bodyOf(aCheckpoint());
    (altered.dates[0]?.blobs[0] as { records: number }).records = 2;

    expect(checkpointMessage(altered).equals(checkpointMessage(body))).toBe(false);
  });

  it('does not cover the signature, which signs it', () => {
    const a = bodyOf(aCheckpoint({ signature: 'one' }));
    const b = bodyOf(aCheckpoint({ signature: 'two' }));

    expect(checkpointMessage(a).equals(checkpointMessage(b))).toBe(true);
    expect(checkpointMessage(a).toString('utf8')).not.toContain('signature');
  });
});

describe('storedCheckpointHash', () => {
  const text = checkpointText(aCheckpoint());

  it('is the hex SHA-256 of the stored text, the same every time', () => {
    expect(storedCheckpointHash(text)).toMatch(/^[0-9a-f]{64}$/);
    expect(storedCheckpointHash(text)).toBe(storedCheckpointHash(`${text}`));
  });

  it('changes when one byte of the stored text changes', () => {
    const at = text.indexOf('1234');
    const oneByteOff = `${text.slice(0, at)}1235${text.slice(at + 4)}`;

    expect(oneByteOff.length).toBe(text.length);
    expect(storedCheckpointHash(oneByteOff)).not.toBe(storedCheckpointHash(text));
  });

  it('hashes the bytes as stored, so the same checkpoint laid out otherwise is another one', () => {
    const compact = JSON.stringify(aCheckpoint());

    expect(parseCheckpoint(compact)).toEqual(parseCheckpoint(text));
    expect(storedCheckpointHash(compact)).not.toBe(storedCheckpointHash(text));
  });
});

describe('dateOfBlob', () => {
  it('reads the UTC date an audit blob is filed under, segments included', () => {
    expect(dateOfBlob('2026/11/23/shard-03.jsonl')).toBe('2026-11-23');
    expect(dateOfBlob('2026/11/23/shard-03.1.jsonl')).toBe('2026-11-23');
  });

  it('files nothing that is not under a date', () => {
    expect(dateOfBlob('checkpoint-0000000001.json')).toBeUndefined();
    expect(dateOfBlob('2026-11-23/shard-03.jsonl')).toBeUndefined();
  });
});
