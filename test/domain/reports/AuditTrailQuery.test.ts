import { AuditEntry } from '../../../shared/domain/AuditEntry';
import {
  AuditTrailQueryInput,
  auditTrailQueryFrom,
  inAuditTrailQuery,
  utcDatesBetween,
} from '../../../shared/domain/reports/AuditTrailQuery';

function queryOf(input: AuditTrailQueryInput) {
  const parsed = auditTrailQueryFrom(input);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.query;
}

const entry = (overrides: Partial<AuditEntry>): AuditEntry => ({
  id: 'x',
  type: 'renewal.due',
  hub: 'contoso-hub',
  deviceId: 'meter-1',
  occurredAt: '2026-11-02T10:00:00.000Z',
  recordedAt: '2026-11-02T10:00:00.000Z',
  ...overrides,
});

describe('the audit trail query', () => {
  it('reads dates as whole UTC days: from the first instant of one to the last of the other', () => {
    const query = queryOf({ from: '2026-11-01', to: '2026-11-02' });

    expect(query).toEqual({ from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T23:59:59.999Z' });
    expect(utcDatesBetween(query.from, query.to)).toEqual(['2026-11-01', '2026-11-02']);
    expect(inAuditTrailQuery(entry({ occurredAt: '2026-11-02T23:59:59.999Z' }), query)).toBe(true);
    expect(inAuditTrailQuery(entry({ occurredAt: '2026-11-03T00:00:00.000Z' }), query)).toBe(false);
  });

  it('takes times with a zone as they are', () => {
    const query = queryOf({ from: '2026-11-02T09:00:00+01:00', to: '2026-11-02T10:00:00Z' });

    expect(inAuditTrailQuery(entry({ occurredAt: '2026-11-02T07:59:59.999Z' }), query)).toBe(false);
    expect(inAuditTrailQuery(entry({ occurredAt: '2026-11-02T08:00:00.000Z' }), query)).toBe(true);
  });

  it('keeps the records of one device, hub and the types asked for, given once or comma-separated', () => {
    const query = queryOf({
      from: '2026-11-01',
      to: '2026-11-30',
      device: 'meter-1',
      hub: 'Contoso-Hub',
      types: ['renewal.due,renewal.failed', 'alert.raised'],
    });

    expect(query.types).toEqual(['renewal.due', 'renewal.failed', 'alert.raised']);
    expect(inAuditTrailQuery(entry({}), query)).toBe(true);
    expect(inAuditTrailQuery(entry({ deviceId: 'meter-2' }), query)).toBe(false);
    expect(inAuditTrailQuery(entry({ hub: 'plant-b' }), query)).toBe(false);
    expect(inAuditTrailQuery(entry({ type: 'renewal.requested' }), query)).toBe(false);
  });

  it.each([
    [{ to: '2026-11-01' }, /^from and to are required/],
    [{ from: '2026-11-31', to: '2026-12-01' }, /^from must be a UTC date/],
    [{ from: '2026-11-01', to: 'yesterday' }, /^to must be a UTC date/],
    [{ from: '2026-11-02', to: '2026-11-01' }, /^to must not be before from/],
    [{ from: '2025-01-01', to: '2026-12-31' }, /^from and to span 730 days: at most 366/],
    [{ from: '0001-01-01', to: '9999-12-31' }, /at most 366 per request/],
    [{ from: '2026-11-01', to: '2026-11-01', type: 'renewal.nope' }, /^type must be one of/],
    [{ from: '2026-11-01', to: '2026-11-01', device: 'a'.repeat(129) }, /^device must be/],
  ])('refuses %j with a sentence naming the field', (input, problem) => {
    const parsed = auditTrailQueryFrom({
      ...input,
      types: 'type' in input ? [input.type] : undefined,
    });
    expect('problem' in parsed && parsed.problem).toMatch(problem);
  });
});
