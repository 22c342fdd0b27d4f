import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  ManualClock,
  isoUtc,
  parseIsoInstant,
} from '../../shared/domain/Clock';

describe('ManualClock', () => {
  it('stands still until it is moved', () => {
    const clock = new ManualClock('2026-11-23T12:00:00Z');

    expect(clock.now().toISOString()).toBe('2026-11-23T12:00:00.000Z');
    expect(clock.now().toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });

  it('advances by a duration and jumps to a time', () => {
    const clock = new ManualClock(new Date('2026-11-23T12:00:00Z'));

    clock.advance(DAY_MS + HOUR_MS + MINUTE_MS);
    expect(isoUtc(clock.now())).toBe('2026-11-24T13:01:00.000Z');

    clock.set('2026-12-01T00:00:00+01:00');
    expect(isoUtc(clock.now())).toBe('2026-11-30T23:00:00.000Z');
  });

  it('hands out dates that callers cannot use to move it', () => {
    const clock = new ManualClock('2026-11-23T12:00:00Z');

    clock.now().setUTCFullYear(2030);

    expect(isoUtc(clock.now())).toBe('2026-11-23T12:00:00.000Z');
  });
});

describe('isoUtc', () => {
  it('writes UTC ISO 8601 with milliseconds from a date or epoch milliseconds', () => {
    expect(isoUtc(new Date('2026-11-23T13:00:00+01:00'))).toBe('2026-11-23T12:00:00.000Z');
    expect(isoUtc(Date.UTC(2026, 10, 23, 12))).toBe('2026-11-23T12:00:00.000Z');
  });
});

describe('parseIsoInstant', () => {
  it.each([
    ['2026-11-23T12:00:00Z', '2026-11-23T12:00:00.000Z'],
    ['2026-11-23T12:00:00.250Z', '2026-11-23T12:00:00.250Z'],
    ['2026-11-23T12:00Z', '2026-11-23T12:00:00.000Z'],
    ['2026-11-23T13:00:00+01:00', '2026-11-23T12:00:00.000Z'],
    ['2026-11-23T07:00:00-0500', '2026-11-23T12:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s', (text, expected) => {
    expect(parseIsoInstant(text)?.toISOString()).toBe(expected);
  });

  it.each([
    ['a timestamp without a zone', '2026-11-23T12:00:00'],
    ['a date alone', '2026-11-23'],
    ['a date with a space for T', '2026-11-23 12:00:00Z'],
    ['another format', 'Mon, 23 Nov 2026 12:00:00 GMT'],
    ['an impossible hour', '2026-11-23T25:00:00Z'],
    ['an impossible month', '2026-13-01T00:00:00Z'],
    ['the 30th of February', '2026-02-30T00:00:00Z'],
    ['the 29th of February of a common year', '2026-02-29T00:00:00Z'],
    ['the 31st of April', '2026-04-31T00:00:00+02:00'],
    ['an empty string', ''],
  ])('refuses %s', (_what, text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });

  it('refuses what is not a string', () => {
    expect(parseIsoInstant(1796083200000)).toBeUndefined();
    expect(parseIsoInstant(new Date('2026-11-23T12:00:00Z'))).toBeUndefined();
    expect(parseIsoInstant(null)).toBeUndefined();
  });
});
