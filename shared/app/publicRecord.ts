import { DeviceRecord } from '../domain/DeviceRecord';

/** A ledger record as the HTTP API and the CLI show it: everything but the internal audit outbox. */
export type PublicDeviceRecord = Omit<DeviceRecord, 'pendingAudit'>;

export function publicRecord(record: DeviceRecord): PublicDeviceRecord {
  const { pendingAudit: _pending, ...rest } = record;
  return rest;
}
