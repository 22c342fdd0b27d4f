import { AuditEntry } from '../domain/AuditEntry';
import { DeviceKey } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { mapWithConcurrency } from './concurrency';
import { AuditTrail, CertificateLedger, Versioned, WriteConflict } from './ports';

/**
 * The audit outbox: audit entries are decided together with the record change they describe
 * and stored in the record (`pendingAudit`) by the same ETag-guarded write. This appends them
 * to the audit trail and then clears them from the record. An entry found pending when a record
 * was read (an earlier invocation died before clearing it) may already be in the trail, so it
 * is checked there first: every entry is written exactly once.
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
const MAX_WRITE_ATTEMPTS = 8;

export class AuditOutbox {
  constructor(
    private readonly ledger: CertificateLedger,
    private readonly audit: AuditTrail,
  ) {}

  /** Appends the pending entries of the touched records, then clears them. Returns how many. */
  async flush(touched: readonly TouchedRecord[]): Promise<number> {
    const fresh: AuditEntry[] = [];
    const inherited: AuditEntry[] = [];
    for (const t of touched) {
      for (const entry of t.record?.pendingAudit ?? []) {
        (t.inheritedAuditIds.has(entry.id) ? inherited : fresh).push(entry);
      }
    }
    if (fresh.length === 0 && inherited.length === 0) return 0;
    if (inherited.length > 0) await this.audit.append(inherited, { mayAlreadyBeWritten: true });
    if (fresh.length > 0) await this.audit.append(fresh, { mayAlreadyBeWritten: false });
    await mapWithConcurrency(touched, CONCURRENCY, (t) => this.clear(t));
    return fresh.length + inherited.length;
  }

  private async clear(t: TouchedRecord): Promise<void> {
    const written = new Set(t.record?.pendingAudit.map((e) => e.id) ?? []);
    if (written.size === 0 || !t.record) return;
    let current: Versioned<DeviceRecord> | undefined =
      t.etag !== undefined ? { value: t.record, etag: t.etag } : undefined;
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt += 1) {
      current ??= await this.ledger.read(t.key);
      if (!current) return;
      const remaining = current.value.pendingAudit.filter((e) => !written.has(e.id));
      if (remaining.length === current.value.pendingAudit.length) return;
      try {
        await this.ledger.write({ ...current.value, pendingAudit: remaining }, current);
        return;
      } catch (error) {
        if (!(error instanceof WriteConflict)) throw error;
        current = undefined;
      }
    }
    // Left pending: the next change to this record writes them, checked for duplicates.
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
