import { AuditEntry } from '../../shared/domain/AuditEntry';

/** The hub and UTC day the audit-trail tests write under. */
export const AUDIT_HUB = 'contoso-hub';
export const AUDIT_DAY = '2026-11-23';

let counter = 0;

/** A renewal's audit entry on AUDIT_DAY, with an id no other entry of the test file has. */
export function anAuditEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  counter += 1;
  return {
    id: `audit-${String(counter).padStart(6, '0')}`,
    type: 'certificate.renewed',
    hub: AUDIT_HUB,
    deviceId: 'thermostat-0001',
    occurredAt: `${AUDIT_DAY}T10:00:00.000Z`,
    recordedAt: `${AUDIT_DAY}T12:00:00.000Z`,
    opType: 'updateTwin',
    reportedVersion: 5,
    old: { validFrom: '2026-10-25T00:00:00.000Z', validUntil: '2026-11-24T00:00:00.000Z' },
    new: { validFrom: '2026-11-23T00:00:00.000Z', validUntil: '2026-12-23T00:00:00.000Z' },
    ...overrides,
  };
}
