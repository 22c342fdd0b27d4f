import { randomUUID } from 'node:crypto';
import { Clock } from '../domain/Clock';
import { DeviceKey } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { ActionEntry, AuditReceipts, CertificateLedger, Versioned } from './ports';

/**
 * The audit outbox without the write that clears it. A record's audit entries are stored in the
 * record by the write that decides them (`pendingAudit`); once the outbox has appended them to
 * the trail, it records a receipt under the tag that write was given (`auditTag`) instead of
 * writing the record again to empty `pendingAudit`. Whoever reads the record next drops entries
 * whose receipt exists, so they are never appended twice, and carries the rest (a writer that
 * died before its append): the outbox appends those with a check of the trail first.
 *
 * So an applied event costs the record's read and its write, and a batch one receipt write per
 * hundred records; looking a receipt up costs a read only the first time a process meets a tag
 * it did not write itself (after a restart, or a record last written by another instance).
 *
 * Every other call goes to the ledger underneath unchanged.
 */
export class ReceiptedLedger implements CertificateLedger {
  /** Tags this process knows to have a receipt (its own, or found), newest last. */
  private readonly known = new Set<string>();

  constructor(
    private readonly inner: CertificateLedger,
    readonly receipts: AuditReceipts,
    private readonly clock: Clock,
    private readonly knownLimit = 100_000,
  ) {}

  async read(key: DeviceKey): Promise<Versioned<DeviceRecord> | undefined> {
    const stored = await this.inner.read(key);
    if (!stored) return undefined;
    return { value: await this.settled(stored.value), etag: stored.etag };
  }

  /**
   * Gives the record (the caller's object: the outbox finds the tag on it) a fresh tag when it
   * carries audit entries, and writes it.
   */
  async write(
    record: DeviceRecord,
    previous: Versioned<DeviceRecord> | undefined,
  ): Promise<string> {
    if (record.pendingAudit.length > 0) record.auditTag = this.newTag();
    else delete record.auditTag;
    return this.inner.write(record, previous);
  }

  /** After the outbox appended the entries of these written records to the trail. */
  async receipt(records: readonly (DeviceRecord | undefined)[]): Promise<void> {
    const tags = [
      ...new Set(
        records.flatMap((r) => (r?.auditTag && r.pendingAudit.length > 0 ? [r.auditTag] : [])),
      ),
    ];
    if (tags.length === 0) return;
    await this.receipts.record(tags);
    for (const tag of tags) this.remember(tag);
  }

  findByDeviceId(deviceId: string): Promise<DeviceRecord[]> {
    return this.inner.findByDeviceId(deviceId);
  }

  list(options?: { hub?: string; after?: DeviceKey }): AsyncIterable<DeviceRecord> {
    return this.inner.list(options);
  }

  actionsDueBefore(before: string): AsyncIterable<ActionEntry> {
    return this.inner.actionsDueBefore(before);
  }

  forgetAction(entry: ActionEntry): Promise<void> {
    return this.inner.forgetAction(entry);
  }

  /** The index in reading order, when the ledger underneath reads it so. */
  get actionsInOrder(): CertificateLedger['actionsInOrder'] {
    return this.inner.actionsInOrder?.bind(this.inner);
  }

  /** The record without the entries a receipt shows to be in the trail already. */
  private async settled(record: DeviceRecord): Promise<DeviceRecord> {
    const tag = record.auditTag;
    if (record.pendingAudit.length === 0 || tag === undefined) return record;
    if (!this.known.has(tag)) {
      if (!(await this.receipts.has(tag))) return record;
      this.remember(tag);
    }
    const { auditTag: _written, ...rest } = record;
    return { ...rest, pendingAudit: [] };
  }

  private remember(tag: string): void {
    this.known.delete(tag);
    this.known.add(tag);
    if (this.known.size > this.knownLimit) {
      const oldest = this.known.values().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  /** `<UTC hour>~<random>`: receipts are stored by the hour their write was made in. */
  private newTag(): string {
    return `${this.clock.now().toISOString().slice(0, 13)}~${randomUUID()}`;
  }
}
