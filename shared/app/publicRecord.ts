import { DeviceRecord } from '../domain/DeviceRecord';

/**
 * A ledger record as the HTTP API and the CLI show it: everything but the internal audit outbox (and its tag)
 * and the events the ledger keeps to place late ones (`applied`).
 */
export type PublicDeviceRecord = Omit<DeviceRecord, 'pendingAudit' | 'auditTag' | 'applied'>;

export function publicRecord(record: DeviceRecord): PublicDeviceRecord {
  const { pendingAudit: _pending, auditTag: _tag, applied: _applied, ...rest } = record;
  return rest;
}
