import {
  datePath,
  escapeKey,
  ledgerEntityKeys,
  renewalIndexRowKey,
  shardOf,
  unescapeKey,
} from '../../../shared/adapters/storage/storageKeys';

/** Every character IoT Hub allows in a device id besides letters and digits (AZURE-FACTS.md). */
const IOT_HUB_SPECIALS = "-.+%_#*?!(),:=@$'";
const KEY_ALPHABET = /^[A-Za-z0-9._-]*$/;

describe('escapeKey', () => {
  it('keeps letters, digits, dot and hyphen as they are', () => {
    expect(escapeKey('Dev-01.site-A')).toBe('Dev-01.site-A');
  });

  it('escapes the escape character itself, and never writes a % (Tables decode it twice)', () => {
    expect(escapeKey('site_A')).toBe('site_5FA');
    expect(escapeKey('100%')).toBe('100_25');
  });

  it.each([
    ['+', '_2B'],
    ['%', '_25'],
    ['#', '_23'],
    ['*', '_2A'],
    ['?', '_3F'],
    ['!', '_21'],
    ['(', '_28'],
    [')', '_29'],
    [',', '_2C'],
    [':', '_3A'],
    ['=', '_3D'],
    ['@', '_40'],
    ['$', '_24'],
    ["'", '_27'],
  ])('escapes %j as %s', (character, escaped) => {
    expect(escapeKey(`a${character}b`)).toBe(`a${escaped}b`);
  });

  it('escapes characters Table keys and blob names forbid', () => {
    expect(escapeKey('a/b\\c#d?e\tf~g')).toBe('a_2Fb_5Cc_23d_3Fe_09f_7Eg');
  });

  it('escapes each UTF-8 byte of a character beyond ASCII', () => {
    expect(escapeKey('café')).toBe('caf_C3_A9');
  });

  it('only ever produces [A-Za-z0-9._-], so never the ~ separator', () => {
    const ids = [
      IOT_HUB_SPECIALS,
      `dev${IOT_HUB_SPECIALS}1`,
      'a/b\\c~d e\u0000\u007f',
      'émoji-🔐',
      ' leading and trailing ',
    ];
    for (const id of ids) {
      expect(escapeKey(id)).toMatch(KEY_ALPHABET);
      expect(escapeKey(id)).not.toContain('~');
    }
  });

  it('round-trips with unescapeKey for ids using every special character IoT Hub allows', () => {
    const ids = [
      IOT_HUB_SPECIALS,
      `dev${IOT_HUB_SPECIALS}1`,
      ...[...IOT_HUB_SPECIALS].map((c) => `dev${c}1`),
      ...[...IOT_HUB_SPECIALS].map((c) => `${c}${c}`),
      'dev%2B1',
      '_25',
      'x'.repeat(128),
    ];
    for (const id of ids) expect(unescapeKey(escapeKey(id))).toBe(id);
  });

  it('never gives two ids the same key, even ids that look escaped already', () => {
    expect(escapeKey('dev_2B1')).not.toBe(escapeKey('dev+1'));
    expect(escapeKey('a_25')).not.toBe(escapeKey('a%'));
  });

  it('is injective over every id of up to three characters from a tricky alphabet', () => {
    const alphabet = [...IOT_HUB_SPECIALS, 'a', 'A', '2', 'B', 'F'];
    const ids = new Set<string>(['']);
    for (let length = 1; length <= 3; length += 1) {
      for (const id of [...ids]) {
        if (id.length === length - 1) for (const c of alphabet) ids.add(id + c);
      }
    }
    const keys = new Set([...ids].map(escapeKey));
    expect(ids.size).toBeGreaterThan(10_000);
    expect(keys.size).toBe(ids.size);
  });

  it('compares case-sensitively, as IoT Hub device ids do', () => {
    expect(escapeKey('Dev-1')).not.toBe(escapeKey('dev-1'));
  });
});

describe('escapeKey and ids that are not text', () => {
  it('refuses a lone surrogate rather than altering it (UTF-8 would make it U+FFFD)', () => {
    expect(() => escapeKey('dev\ud800')).toThrow(
      'holds a lone surrogate at position 4: it cannot become a storage key unaltered',
    );
    expect(() => escapeKey('\udc00')).toThrow('lone surrogate');
  });

  it('keeps an id with U+FFFD apart from one that held a lone surrogate, by refusing the latter', () => {
    expect(escapeKey('dev\ufffd')).toBe('dev_EF_BF_BD');
    expect(() => escapeKey('dev\udfff')).toThrow('lone surrogate');
  });

  it('escapes a well-formed surrogate pair as its UTF-8 bytes', () => {
    expect(escapeKey('🔐')).toBe('_F0_9F_94_90');
    expect(unescapeKey('_F0_9F_94_90')).toBe('🔐');
  });
});

/** Pairs that one `${hub}/${deviceId}` string would merge. */
const COLLIDING = [
  [
    { hub: 'a/x', deviceId: 'd' },
    { hub: 'a', deviceId: 'x/d' },
  ],
  [
    { hub: 'a~x', deviceId: 'd' },
    { hub: 'a', deviceId: 'x~d' },
  ],
  [
    { hub: 'a\nx', deviceId: 'd' },
    { hub: 'a', deviceId: 'x\nd' },
  ],
] as const;

describe('storage keys of devices whose joined names collide', () => {
  it.each(COLLIDING)('keeps %j and %j apart in the ledger table keys', (one, other) => {
    expect(ledgerEntityKeys(one)).not.toEqual(ledgerEntityKeys(other));
    expect(ledgerEntityKeys(one)).toEqual({
      partitionKey: escapeKey(one.hub),
      rowKey: escapeKey(one.deviceId),
    });
  });

  it.each(COLLIDING)('keeps %j and %j apart in the renewal index row key', (one, other) => {
    const at = '2026-11-23T10:00:00.000Z';
    expect(renewalIndexRowKey(at, one)).not.toBe(renewalIndexRowKey(at, other));
    expect(renewalIndexRowKey(at, one)).toMatch(
      /^2026-11-23T10:00:00\.000Z~[A-Za-z0-9._-]+~[A-Za-z0-9._-]+$/,
    );
  });

  it('hashes hub and device id into a shard without one being read as part of the other', () => {
    // Hashing "a\nx" + "\n" + "d" and "a" + "\n" + "x\nd" would be one input, one shard.
    const shards = 1 << 16;
    expect(shardOf('a\nx', 'd', shards)).not.toBe(shardOf('a', 'x\nd', shards));
  });
});

describe('shardOf', () => {
  it('gives the same shard for the same device every time', () => {
    expect(shardOf('contoso-hub', 'dev-1', 8)).toBe(shardOf('contoso-hub', 'dev-1', 8));
  });

  it('keeps the shards it has always given, so stored data stays findable', () => {
    // SHA-256 of "hub\ndeviceId", first 4 bytes big-endian, modulo the shard count.
    expect(shardOf('contoso-hub', 'dev-1', 8)).toBe(0);
    expect(shardOf('contoso-hub', 'dev-1', 64)).toBe(24);
    expect(shardOf('contoso-hub', 'dev-2', 8)).toBe(5);
    expect(shardOf('fabrikam-hub', 'dev-1', 8)).toBe(6);
    expect(shardOf('contoso-hub', 'dev#1?', 64)).toBe(56);
  });

  it('stays in [0, shards) for every shard count allowed', () => {
    for (const shards of [1, 2, 7, 8, 64]) {
      for (let i = 0; i < 200; i += 1) {
        const shard = shardOf('contoso-hub', `dev-${i}`, shards);
        expect(Number.isInteger(shard)).toBe(true);
        expect(shard).toBeGreaterThanOrEqual(0);
        expect(shard).toBeLessThan(shards);
      }
    }
  });

  it('spreads a fleet over every shard', () => {
    const used = new Set(
      Array.from({ length: 1000 }, (_, i) => shardOf('contoso-hub', `dev-${i}`, 8)),
    );
    expect(used.size).toBe(8);
  });

  it('tells hubs apart: the same device id lands elsewhere in another hub', () => {
    const moved = Array.from({ length: 50 }, (_, i) => `dev-${i}`).filter(
      (id) => shardOf('contoso-hub', id, 64) !== shardOf('fabrikam-hub', id, 64),
    );
    expect(moved.length).toBeGreaterThan(25);
  });
});

describe('datePath', () => {
  it('turns a UTC ISO instant into the year/month/day partition', () => {
    expect(datePath('2026-11-23T10:00:00.000Z')).toBe('2026/11/23');
  });

  it('keeps the UTC date at the very end of a day', () => {
    expect(datePath('2026-12-31T23:59:59.999Z')).toBe('2026/12/31');
  });

  it('accepts a bare date', () => {
    expect(datePath('2027-01-01')).toBe('2027/01/01');
  });
});
