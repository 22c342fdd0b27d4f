import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  ManualClock,
  isoUtc,
  parseEnqueuedTime,
  parseIsoInstant,
  utcInstant,
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

describe('parseEnqueuedTime', () => {
  it('reads epoch milliseconds, as the routed-message docs list iothub-enqueuedtime (AZURE-FACTS.md)', () => {
    expect(parseEnqueuedTime(1795428000250)?.toISOString()).toBe('2026-11-23T10:00:00.250Z');
    expect(parseEnqueuedTime('1795428000250')?.toISOString()).toBe('2026-11-23T10:00:00.250Z');
  });

  it.each([
    ['with milliseconds', '2026-11-23T10:00:00.250', '2026-11-23T10:00:00.250Z'],
    [
      'with .NET’s seven fractional digits',
      '2026-11-23T10:00:00.2500000',
      '2026-11-23T10:00:00.250Z',
    ],
    ['without a fraction', '2026-11-23T10:00:00', '2026-11-23T10:00:00.000Z'],
  ])(
    'reads a zone-less time %s as UTC, as the Event Hubs extension gives it (AZURE-FACTS.md)',
    (_how, text, expected) => {
      expect(parseEnqueuedTime(text)?.toISOString()).toBe(expected);
    },
  );

  it('reads a time with a zone as that instant', () => {
    expect(parseEnqueuedTime('2026-11-23T11:00:00+01:00')?.toISOString()).toBe(
      '2026-11-23T10:00:00.000Z',
    );
  });

  it('reads a Date handed over by the host', () => {
    expect(parseEnqueuedTime(new Date('2026-11-23T10:00:00Z'))?.toISOString()).toBe(
      '2026-11-23T10:00:00.000Z',
    );
  });

  it.each<[string, unknown]>([
    ['a date alone', '2026-11-23'],
    ['a space for T', '2026-11-23 10:00:00'],
    ['a day the month does not have', '2026-02-30T10:00:00'],
    ['JavaScript’s own date text', 'Mon Nov 23 2026 10:00:00 GMT+0000'],
    ['a fraction of a millisecond as a number', 1795428000250.5],
    ['a negative number', -1],
    ['a number past the year 9999', 253402300800000],
    ['a number that is not finite', Number.POSITIVE_INFINITY],
    ['an invalid Date', new Date(Number.NaN)],
    ['an empty string', ''],
    ['nothing', undefined],
  ])('refuses %s', (_what, value) => {
    expect(parseEnqueuedTime(value)).toBeUndefined();
  });
});

describe('utcInstant', () => {
  it('builds the instant of a UTC calendar time in the first century too (Date.UTC maps 0-99 to 1900-1999)', () => {
    expect(isoUtc(utcInstant({ year: 1, month: 1, day: 1 })!)).toBe('0001-01-01T00:00:00.000Z');
    expect(
      isoUtc(utcInstant({ year: 99, month: 12, day: 31, hour: 23, minute: 59, second: 59 })!),
    ).toBe('0099-12-31T23:59:59.000Z');
  });

  it('builds an ordinary date with milliseconds', () => {
    expect(
      isoUtc(
        utcInstant({ year: 2026, month: 11, day: 23, hour: 10, minute: 5, second: 7, ms: 250 })!,
      ),
    ).toBe('2026-11-23T10:05:07.250Z');
  });

  it.each([
    ['day 0', { year: 2026, month: 1, day: 0 }],
    ['the 30th of February', { year: 2026, month: 2, day: 30 }],
    ['month 13', { year: 2026, month: 13, day: 1 }],
    ['hour 24', { year: 2026, month: 1, day: 1, hour: 24 }],
    ['second 60', { year: 2026, month: 1, day: 1, second: 60 }],
    ['year 0', { year: 0, month: 1, day: 1 }],
    ['year 10000', { year: 10000, month: 1, day: 1 }],
  ])('refuses %s', (_what, fields) => {
    expect(utcInstant(fields)).toBeUndefined();
  });
});
