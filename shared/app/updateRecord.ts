import { DeviceKey, deviceKeyString } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { TouchedRecord, touchedAsRead } from './AuditOutbox';
import { BeforeWrite } from './alerts/alertsOnWrite';
import { CertificateLedger } from './ports';
import { retryOnWriteConflict } from './retryOnWriteConflict';

/**
 * What a change decides about a device's record: its next state (none: leave it as it is) and
 * the verdict the caller acts on (why it changed, or why not).
 */
export interface RecordDecision<V> {
  next?: DeviceRecord | undefined;
  verdict: V;
}

/** The verdict of the decision that stood, and the record as it now stands. */
export interface UpdatedRecord<V> {
  verdict: V;
  /** For the audit outbox: the record as written, or as read when it was left alone. */
  touched: TouchedRecord;
  /** Whether the decision's `next` was written. */
  changed: boolean;
}

/**
 * Reads a device's record, lets `decide` choose its next state, and writes it under the
 * record's ETag; when another writer got there first, reads and decides again, so the verdict
 * returned is the one made on the record that was written over (or left alone). `beforeWrite`
 * finishes a decided record (alertsOnWrite evaluates its alerts).
 */
export async function updateRecord<V>(
  ledger: CertificateLedger,
  key: DeviceKey,
  decide: (current: DeviceRecord | undefined) => RecordDecision<V>,
  beforeWrite: BeforeWrite = (record) => record,
): Promise<UpdatedRecord<V>> {
  // Entries found pending in any read are another writer's: appended with a check of the trail
  // (after a conflict, the winner's fresh entries are among them, and it appends them too).
  const inheritedIds = new Set<string>();
  return retryOnWriteConflict(`ledger record ${deviceKeyString(key)}`, async () => {
    const stored = await ledger.read(key);
    for (const id of touchedAsRead(key, stored).inheritedAuditIds) inheritedIds.add(id);
    const decision = decide(stored ? structuredClone(stored.value) : undefined);
    const { verdict } = decision;
    const next = decision.next && beforeWrite(decision.next);
    const inheritedAuditIds: ReadonlySet<string> = inheritedIds;
    if (!next) {
      return {
        verdict,
        touched: { ...touchedAsRead(key, stored), inheritedAuditIds },
        changed: false,
      };
    }
    const etag = await ledger.write(next, stored);
    return { verdict, touched: { key, record: next, etag, inheritedAuditIds }, changed: true };
  });
}
