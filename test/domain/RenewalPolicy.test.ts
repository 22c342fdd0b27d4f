import { DAY_MS, HOUR_MS } from '../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY, renewalDueAt } from '../../shared/domain/RenewalPolicy';

/** A 7-day certificate, the shortest Azure's certificate management issues. */
const SEVEN_DAYS = {
  validFrom: '2026-11-01T00:00:00.000Z',
  validUntil: '2026-11-08T00:00:00.000Z',
};

describe('renewalDueAt', () => {
  it('is due at 85% of the lifetime by default, leaving about a day of a 7-day certificate', () => {
    expect(DEFAULT_RENEWAL_POLICY).toEqual({ kind: 'fraction', fraction: 0.85 });
    // 0.85 × 168 h = 142.8 h = 5 days 22 h 48 min
    expect(renewalDueAt(SEVEN_DAYS, DEFAULT_RENEWAL_POLICY)).toBe('2026-11-06T22:48:00.000Z');
  });

  it('measures the fraction from validFrom, not from when the device reported', () => {
    expect(
      renewalDueAt(
        { validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' },
        { kind: 'fraction', fraction: 0.5 },
      ),
    ).toBe('2026-11-16T00:00:00.000Z');
  });

  it('rounds a fraction of a millisecond down', () => {
    expect(
      renewalDueAt(
        { validFrom: '2026-11-01T00:00:00.000Z', validUntil: '2026-11-01T00:00:00.003Z' },
        { kind: 'fraction', fraction: 0.5 },
      ),
    ).toBe('2026-11-01T00:00:00.001Z');
  });

  it('is due a fixed time before validUntil under a renew-before policy', () => {
    expect(renewalDueAt(SEVEN_DAYS, { kind: 'before', renewBeforeMs: 36 * HOUR_MS })).toBe(
      '2026-11-06T12:00:00.000Z',
    );
  });

  it('clamps renew-before to the lifetime: never before validFrom', () => {
    expect(renewalDueAt(SEVEN_DAYS, { kind: 'before', renewBeforeMs: 30 * DAY_MS })).toBe(
      SEVEN_DAYS.validFrom,
    );
  });

  it('accepts instants written in any zone and answers in UTC', () => {
    expect(
      renewalDueAt(
        { validFrom: '2026-11-01T01:00:00+01:00', validUntil: '2026-11-08T01:00:00+01:00' },
        DEFAULT_RENEWAL_POLICY,
      ),
    ).toBe('2026-11-06T22:48:00.000Z');
  });

  it('does not go past validUntil for an empty or inverted window', () => {
    const inverted = {
      validFrom: '2026-11-08T00:00:00.000Z',
      validUntil: '2026-11-01T00:00:00.000Z',
    };

    expect(renewalDueAt(inverted, DEFAULT_RENEWAL_POLICY)).toBe(inverted.validFrom);
    expect(renewalDueAt(inverted, { kind: 'before', renewBeforeMs: DAY_MS })).toBe(
      inverted.validUntil,
    );
  });
});
