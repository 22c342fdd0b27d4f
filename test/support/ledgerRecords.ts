import { DeviceKey } from '../../shared/domain/DeviceKey';
import { DeviceRecord, newDeviceRecord } from '../../shared/domain/DeviceRecord';

/** The instant the ledger storage tests create their records at. */
export const RECORDED_AT = '2026-11-23T12:00:00.000Z';

/** A new device's record, with `extra` laid over it. */
export function aRecord(key: DeviceKey, extra: Partial<DeviceRecord> = {}): DeviceRecord {
  return { ...newDeviceRecord(key.hub, key.deviceId, RECORDED_AT), ...extra };
}

/** A reported certificate valid until the end of December, its renewal due at `renewalDueAt`. */
export function dueAt(renewalDueAt: string): Partial<DeviceRecord> {
  return {
    renewalDueAt,
    current: {
      source: 'reported',
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: '2026-12-31T00:00:00.000Z',
      firstSeenAt: '2026-11-01T01:00:00.000Z',
      reportedVersion: 2,
    },
    reportedVersion: 2,
  };
}
