import { DeviceRecord } from '../domain/DeviceRecord';

/**
 * A ledger record as the HTTP API and the CLI show it: everything but the internal audit outbox
 * and the events the ledger keeps to place late ones (`applied`).
 */
export type PublicDeviceRecord = Omit<DeviceRecord, 'pendingAudit' | 'applied'>;

export function publicRecord(record: DeviceRecord): PublicDeviceRecord {
  const { pendingAudit: _pending, applied: _applied, ...rest } = record;
  return rest;
}
