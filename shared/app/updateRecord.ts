import { DeviceKey, deviceKeyString } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { TouchedRecord, touchedAsRead } from './AuditOutbox';
import { CertificateLedger, TransientFault, WriteConflict } from './ports';

const MAX_WRITE_ATTEMPTS = 8;

/**
 * Reads a device's record, lets `change` decide its next state (undefined: leave it), and
 * writes it under the record's ETag; when another writer got there first, reads and decides
 * again. Returns the record as it now stands, for the audit outbox.
 */
export async function updateRecord(
  ledger: CertificateLedger,
  key: DeviceKey,
  change: (current: DeviceRecord | undefined) => DeviceRecord | undefined,
): Promise<TouchedRecord & { changed: boolean }> {
  let inherited: TouchedRecord | undefined;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt += 1) {
    const stored = await ledger.read(key);
    inherited ??= touchedAsRead(key, stored);
    const next = change(stored ? structuredClone(stored.value) : undefined);
    if (!next)
      return {
        ...touchedAsRead(key, stored),
        inheritedAuditIds: inherited.inheritedAuditIds,
        changed: false,
      };
    try {
      const etag = await ledger.write(next, stored);
      return {
        key,
        record: next,
        etag,
        inheritedAuditIds: inherited.inheritedAuditIds,
        changed: true,
      };
    } catch (error) {
      if (!(error instanceof WriteConflict)) throw error;
    }
  }
  throw new TransientFault(
    `ledger record ${deviceKeyString(key)} kept changing under ${MAX_WRITE_ATTEMPTS} attempts`,
  );
}
