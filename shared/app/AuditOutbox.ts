import { alertTransitionsIn } from '../domain/alerts/evaluateAlerts';
import { AuditEntry } from '../domain/AuditEntry';
import { AlertRelay } from './alerts/AlertRelay';
import { DeviceKey, deviceKeyString } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { mapWithConcurrency } from './concurrency';
import { AuditTrail, CertificateLedger, Versioned } from './ports';
import { KeptChanging, retryOnWriteConflict } from './retryOnWriteConflict';
import { ReceiptedLedger } from './ReceiptedLedger';

/**
 * The audit outbox: audit entries are decided together with the record change they describe
 * and stored in the record (`pendingAudit`) by the same ETag-guarded write. This appends them
 * to the audit trail and then clears them from the record: with a `ReceiptedLedger` (what
 * certfleet runs on) by one receipt for the batch instead of a write per record. An entry found
 * pending when a record was read (an earlier invocation died before its receipt or clearing
 * write) may already be in the trail, so it is checked there first: every entry is written
 * exactly once.
 */
export interface TouchedRecord {
  key: DeviceKey;
  /** The record as this invocation last wrote or read it. */
  record?: DeviceRecord;
  etag?: string;
  /** Ids of entries that were already pending when the record was first read. */
  inheritedAuditIds: ReadonlySet<string>;
}

const CONCURRENCY = 16;

export class AuditOutbox {
  constructor(
    private readonly ledger: CertificateLedger,
    private readonly audit: AuditTrail,
    /** Alert transitions go on to it once in the trail, before they leave their record. */
    private readonly alerts?: AlertRelay,
  ) {}

  /**
   * Appends the pending entries of the touched records, then clears them. Returns how many
   * records this call appended: under concurrency another instance may have appended some of
   * the same entries first (it read them pending too), and those are its to count, not ours.
   */
  async flush(touched: readonly TouchedRecord[]): Promise<number> {
    const fresh: AuditEntry[] = [];
    const inherited: AuditEntry[] = [];
    // A record touched twice (asked, then answered) holds its first entries in both versions.
    const seen = new Set<string>();
    for (const t of touched) {
      for (const entry of t.record?.pendingAudit ?? []) {
        if (seen.has(entry.id)) continue;
        seen.add(entry.id);
        (t.inheritedAuditIds.has(entry.id) ? inherited : fresh).push(entry);
      }
    }
    if (fresh.length === 0 && inherited.length === 0) return 0;
    let appended = 0;
    if (inherited.length > 0)
      appended += await this.audit.append(inherited, { mayAlreadyBeWritten: true });
    if (fresh.length > 0)
      appended += await this.audit.append(fresh, { mayAlreadyBeWritten: false });
    await this.alerts?.accept(alertTransitionsIn([...inherited, ...fresh]));
    // A receipt stands for the records' entries (one write a batch); else each is cleared.
    if (this.ledger instanceof ReceiptedLedger)
      await this.ledger.receipt(touched.map((t) => t.record));
    else await mapWithConcurrency(touched, CONCURRENCY, (t) => this.clear(t));
    return appended;
  }

  private async clear(t: TouchedRecord): Promise<void> {
    const written = new Set(t.record?.pendingAudit.map((e) => e.id) ?? []);
    const { record, etag } = t;
    if (written.size === 0 || !record) return;
    try {
      await retryOnWriteConflict(`audit outbox of ${deviceKeyString(t.key)}`, async (attempt) => {
        // The record as this invocation left it is the first guess; after a conflict, read it.
        const current: Versioned<DeviceRecord> | undefined =
          attempt === 1 && etag !== undefined
            ? { value: record, etag }
            : await this.ledger.read(t.key);
        if (!current) return;
        const remaining = current.value.pendingAudit.filter((e) => !written.has(e.id));
        if (remaining.length === current.value.pendingAudit.length) return;
        await this.ledger.write({ ...current.value, pendingAudit: remaining }, current);
      });
    } catch (error) {
      // Left pending: the next change to this record writes them, checked for duplicates.
      if (!(error instanceof KeptChanging)) throw error;
    }
  }
}

/** A touched record as read, before any change: its pending entries are inherited. */
export function touchedAsRead(
  key: DeviceKey,
  stored: Versioned<DeviceRecord> | undefined,
): TouchedRecord {
  return {
    key,
    inheritedAuditIds: new Set(stored?.value.pendingAudit.map((e) => e.id) ?? []),
    ...(stored ? { record: stored.value, etag: stored.etag } : {}),
  };
}
