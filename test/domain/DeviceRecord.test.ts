import { newDeviceRecord } from '../../shared/domain/DeviceRecord';

describe('newDeviceRecord', () => {
  it('starts an active device with nothing known about it yet', () => {
    expect(newDeviceRecord('contoso-hub', 'thermostat-0001', '2026-11-23T12:00:00.000Z')).toEqual({
      schemaVersion: 1,
      hub: 'contoso-hub',
      deviceId: 'thermostat-0001',
      lifecycle: 'active',
      findings: [],
      connection: { state: 'unknown' },
      pendingAudit: [],
      updatedAt: '2026-11-23T12:00:00.000Z',
    });
  });

  it('gives every record its own lists', () => {
    const a = newDeviceRecord('contoso-hub', 'a', '2026-11-23T12:00:00.000Z');
    const b = newDeviceRecord('contoso-hub', 'b', '2026-11-23T12:00:00.000Z');

    a.findings.push({
      code: 'chain-untrusted',
      severity: 'critical',
      message: 'm',
      detectedAt: '2026-11-23T12:00:00.000Z',
    });

    expect(b.findings).toEqual([]);
    expect(a.pendingAudit).not.toBe(b.pendingAudit);
  });
});
