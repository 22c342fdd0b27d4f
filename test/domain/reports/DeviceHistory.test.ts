import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { deviceHistory, firstDateOf } from '../../../shared/domain/reports/DeviceHistory';
import { aDevice } from './reportFixtures';

const TRAIL = { from: '2026-11-20', to: '2026-11-23', dates: 4, records: 0, badLines: 0 };

function renewalEntry(
  type: AuditEntry['type'],
  occurredAt: string,
  renewal: Partial<NonNullable<AuditEntry['renewal']>> = {},
): AuditEntry {
  return {
    id: `${type}-${occurredAt}`,
    type,
    hub: 'contoso-hub',
    deviceId: 'meter-1',
    occurredAt,
    recordedAt: occurredAt,
    renewal: { campaignId: 'c1', attempts: 0, failures: 0, ...renewal },
  };
}

describe("a device's history", () => {
  it('shows the campaign under way with the record’s status, even when its start is before the dates read', () => {
    const record = aDevice('meter-1', {
      renewal: {
        status: 'retrying',
        campaignId: 'c1',
        trigger: 'due',
        startedAt: '2026-11-19T00:00:00.000Z',
        attempts: 1,
        failures: 1,
        reason: 'device refused (status 500)',
      },
    });

    const history = deviceHistory(
      record,
      [
        renewalEntry('renewal.requested', '2026-11-20T00:00:00.000Z', {
          outcome: 'refused',
          status: 500,
        }),
      ],
      TRAIL,
    );

    expect(history.campaigns).toEqual([
      expect.objectContaining({
        campaignId: 'c1',
        startedAt: '2026-11-19T00:00:00.000Z',
        outcome: 'retrying',
        detail: 'device refused (status 500)',
        attempts: [
          { at: '2026-11-20T00:00:00.000Z', requestId: null, outcome: 'refused', status: 500 },
        ],
      }),
    ]);
  });

  it('ends a campaign at the expiry of the certificate it was renewing', () => {
    const record = aDevice('meter-1');
    const expired: AuditEntry = {
      ...renewalEntry('certificate.expired', '2026-11-22T00:00:00.000Z'),
      detail: 'the device must re-provision through DPS with its onboarding credential',
    };

    const history = deviceHistory(
      record,
      [renewalEntry('renewal.due', '2026-11-20T00:00:00.000Z', { trigger: 'due' }), expired],
      TRAIL,
    );

    expect(history.campaigns[0]).toMatchObject({
      outcome: 'expired',
      endedAt: '2026-11-22T00:00:00.000Z',
    });
    expect(history.events.map((e) => e.type)).toEqual(['certificate.expired']);
  });

  it('starts reading the audit trail on the earliest day the record knows of', () => {
    const record = aDevice('meter-1', {
      history: [{ firstSeenAt: '2026-03-04T05:06:07.000Z' }],
    });
    record.createdAt = '2026-03-05T00:00:00.000Z';

    expect(firstDateOf(record)).toBe('2026-03-04');
  });
});
