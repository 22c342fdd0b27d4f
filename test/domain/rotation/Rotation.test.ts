import { DAY_MS, HOUR_MS } from '../../../shared/domain/Clock';
import { DEFAULT_RENEWAL_TIMING } from '../../../shared/domain/renewal/RenewalTiming';
import {
  Rotation,
  declaredRotation,
  isRotationId,
  rotationDeclarationFrom,
  safetyMarginMs,
} from '../../../shared/domain/rotation/Rotation';
import { progressOf, rotationConditions } from '../../../shared/domain/rotation/rotationOutlook';

/** Declaring a rotation, its window, and the outlook its alert follows. */
const NOW = '2026-11-23T12:00:00.000Z';
const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const valid = {
  issuer: 'CN=Contoso Issuing CA 2024, O=Contoso',
  completeBy: '2027-01-22T12:00:00Z',
  who: 'ops@contoso.com',
  why: 'the 2024 issuing CA retires in February',
};

function problemOf(input: Record<string, unknown>): string | undefined {
  const result = rotationDeclarationFrom({ ...valid, ...input }, NOW);
  return 'problem' in result ? result.problem : undefined;
}

function aRotation(): Rotation {
  const parsed = rotationDeclarationFrom(valid, NOW);
  if (!('declaration' in parsed)) throw new Error(parsed.problem);
  return declaredRotation(parsed.declaration, NOW, DEFAULT_RENEWAL_TIMING);
}

describe('declaring a rotation', () => {
  it('takes an issuer DN, a deadline, who and why, and audits the declaration', () => {
    const rotation = aRotation();

    expect(isRotationId(rotation.id)).toBe(true);
    expect(rotation).toMatchObject({
      issuer: valid.issuer,
      completeBy: '2027-01-22T12:00:00.000Z',
      declaredBy: { who: valid.who, why: valid.why },
      status: 'planning',
      work: { phase: 'count', position: 0 },
    });
    expect(rotation.pendingAudit).toEqual([
      expect.objectContaining({
        type: 'rotation.declared',
        hub: '*',
        deviceId: '*',
        rotation: expect.objectContaining({ id: rotation.id, by: valid.who, why: valid.why }),
      }),
    ]);
  });

  it('ends slots a fifth of the window before the deadline, for retries', () => {
    const rotation = aRotation();

    // 60 days: the last 12 are the margin.
    expect(rotation.slotsEndAt).toBe(plus(NOW, 48 * DAY_MS));
  });

  it('keeps at least a renewal deadline and three backoffs as the margin of a short window', () => {
    expect(safetyMarginMs(DAY_MS, DEFAULT_RENEWAL_TIMING)).toBe(8 * HOUR_MS);
  });

  it.each([
    ['an empty issuer', { issuer: '' }, /^issuer must be the issuing CA's distinguished name/],
    ['an issuer that is no DN', { issuer: 'Contoso CA' }, /^issuer must be the issuing CA's/],
    ['an issuer with a new line', { issuer: 'CN=Contoso\nCA' }, /^issuer must be plain text/],
    ['a deadline in words', { completeBy: 'next March' }, /^completeBy must be an ISO 8601/],
    ['a deadline without a zone', { completeBy: '2027-01-22T12:00:00' }, /^completeBy must be/],
    ['a deadline past', { completeBy: '2026-11-01T00:00:00Z' }, /at least a day in the future/],
    ['a deadline too far', { completeBy: '2028-06-01T00:00:00Z' }, /within 400 days/],
    ['a blank reason', { why: ' ' }, /^why is required/],
    ['a reason over 500 characters', { why: 'x'.repeat(501) }, /^why is required/],
    ['nobody declaring', { who: '' }, /^who must name who declares the rotation/],
  ])('refuses %s with a sentence naming the field', (_label, input, message) => {
    expect(problemOf(input)).toMatch(message);
  });
});

describe('the rotation-deadline-at-risk alert', () => {
  const tally = {
    done: 10,
    renewedByCertfleet: 6,
    renewedByDevice: 4,
    renewedUnknown: 0,
    scheduled: 90,
    ownRenewal: 0,
    inCampaign: 0,
    failed: 0,
    renewedSameIssuer: 0,
    unknownIssuer: 0,
    atRiskCount: 0,
    atRisk: [],
  };

  it('holds nothing while the forecast is inside the window', () => {
    const rotation = aRotation();
    rotation.status = 'active';
    rotation.progress = progressOf(
      { ...tally, lastPlannedAt: plus(NOW, 40 * DAY_MS) },
      NOW,
      rotation,
    );

    expect(rotation.progress).toMatchObject({ remaining: 90, meetsDeadline: true });
    expect(rotationConditions(rotation, NOW)).toEqual([]);
  });

  it('warns when the forecast runs into the margin kept for retries', () => {
    const rotation = aRotation();
    rotation.status = 'active';
    rotation.progress = progressOf(
      { ...tally, lastPlannedAt: plus(NOW, 50 * DAY_MS) },
      NOW,
      rotation,
    );

    expect(rotationConditions(rotation, NOW).map((c) => [c.rule, c.severity, c.subject])).toEqual([
      ['rotation-deadline-at-risk', 'warning', `rotation ${rotation.id}`],
    ]);
  });

  it('is critical when the forecast misses the deadline, and names why', () => {
    const rotation = aRotation();
    rotation.status = 'active';
    rotation.progress = progressOf(
      {
        ...tally,
        lastPlannedAt: plus(NOW, 70 * DAY_MS),
        atRiskCount: 1,
        atRisk: [
          {
            hub: 'contoso-hub',
            deviceId: 'meter-7',
            validUntil: plus(NOW, 90 * DAY_MS),
            plannedAt: plus(NOW, 70 * DAY_MS),
            reason: 'turn-after-deadline',
          },
        ],
      },
      NOW,
      rotation,
    );

    const [condition] = rotationConditions(rotation, NOW);
    expect(rotation.progress.meetsDeadline).toBe(false);
    expect(condition).toMatchObject({
      severity: 'critical',
      count: 1,
      sample: ['contoso-hub/meter-7'],
    });
    expect(condition?.summary).toMatch(
      /cannot meet its deadline 2027-01-22T12:00:00.000Z: 90 devices left, the last forecast at 2027-02-01T12:00:00.000Z; 1 devices at risk \(of those listed: turn-after-deadline 1\)/,
    );
  });

  it('is critical once the deadline has passed with devices left', () => {
    const rotation = aRotation();
    rotation.status = 'active';
    rotation.progress = progressOf(
      { ...tally, lastPlannedAt: plus(NOW, 40 * DAY_MS) },
      NOW,
      rotation,
    );

    expect(rotationConditions(rotation, plus(NOW, 61 * DAY_MS))[0]?.severity).toBe('critical');
  });

  it('goes when the rotation is completed or cancelled', () => {
    const rotation = aRotation();
    rotation.progress = progressOf(
      { ...tally, lastPlannedAt: plus(NOW, 70 * DAY_MS) },
      NOW,
      rotation,
    );

    expect(rotationConditions({ ...rotation, status: 'cancelled' }, NOW)).toEqual([]);
    expect(rotationConditions({ ...rotation, status: 'completed' }, NOW)).toEqual([]);
  });
});
