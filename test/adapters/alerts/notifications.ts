import { AlertNotification } from '../../../shared/app/ports';

/** Notifications as the outbox would hand them to a sink, with fixed UTC dates. */
export function aDeviceNotification(overrides: Partial<AlertNotification> = {}): AlertNotification {
  return {
    id: 'tr-0123456789abcdef0123456789abcdef',
    alertId: 'al-fedcba9876543210fedcba9876543210',
    rule: 'certificate-expiring',
    severity: 'critical',
    status: 'raised',
    scope: 'device',
    summary:
      'The certificate of hub-a/dev-42 expires on 2026-03-04T00:00:00.000Z and no renewal is in flight.',
    raisedAt: '2026-03-01T10:00:00.000Z',
    at: '2026-03-01T10:00:00.000Z',
    hub: 'hub-a',
    deviceId: 'dev-42',
    validUntil: '2026-03-04T00:00:00.000Z',
    ...overrides,
  };
}

export function aFleetNotification(overrides: Partial<AlertNotification> = {}): AlertNotification {
  return {
    id: 'tr-11112222333344445555666677778888',
    alertId: 'al-88887777666655554444333322221111',
    rule: 'certificate-expiring',
    severity: 'warning',
    status: 'raised',
    scope: 'fleet',
    summary: '240 certificates from CN=Issuing CA expire on 2026-03-10 with no renewal in flight.',
    raisedAt: '2026-03-01T10:00:00.000Z',
    at: '2026-03-01T10:00:00.000Z',
    validUntil: '2026-03-10T06:00:00.000Z',
    count: 240,
    sample: ['hub-a/dev-001', 'hub-a/dev-002', 'hub-b/dev-003'],
    ...overrides,
  };
}
