import { AuditEntry } from '../../shared/domain/AuditEntry';
import {
  ChainedAuditRecord,
  chainEntries,
  genesisHead,
  verifyChain,
} from '../../shared/domain/AuditChain';
import { DeviceKey, deviceKeyString } from '../../shared/domain/DeviceKey';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { nextActionAt } from '../../shared/domain/renewal/nextActionAt';
import {
  AuditDateVerification,
  AuditTrail,
  CertificateLedger,
  DeadLetter,
  DeadLetters,
  ActionEntry,
  Versioned,
  WriteConflict,
} from '../../shared/app/ports';

/**
 * Hand-written in-memory doubles of the ports, for fast use-case tests. They keep the same
 * contracts as the Azure adapters (ETag conflicts, append-once audit), which the adapter
 * integration tests check against Azurite.
 */
export class InMemoryLedger implements CertificateLedger {
  readonly records = new Map<string, Versioned<DeviceRecord>>();
  private version = 0;
  writes = 0;
  /** Called before each write; a test can make it throw or change the record under us. */
  beforeWrite?: (record: DeviceRecord) => void;

  async read(key: DeviceKey) {
    const stored = this.records.get(deviceKeyString(key));
    return stored ? { value: structuredClone(stored.value), etag: stored.etag } : undefined;
  }

  async write(
    record: DeviceRecord,
    previous: Versioned<DeviceRecord> | undefined,
  ): Promise<string> {
    this.beforeWrite?.(record);
    const id = deviceKeyString(record);
    const stored = this.records.get(id);
    if ((stored?.etag ?? undefined) !== (previous?.etag ?? undefined)) {
      throw new WriteConflict(`${id} changed`);
    }
    this.version += 1;
    const etag = `W/"${this.version}"`;
    this.records.set(id, { value: structuredClone(record), etag });
    this.writes += 1;
    return etag;
  }

  async findByDeviceId(deviceId: string) {
    return [...this.records.values()].map((r) => r.value).filter((r) => r.deviceId === deviceId);
  }

  async *list(options: { hub?: string } = {}) {
    const all = [...this.records.values()].map((r) => r.value);
    all.sort((a, b) => (a.hub + a.deviceId < b.hub + b.deviceId ? -1 : 1));
    for (const r of all) if (!options.hub || r.hub === options.hub) yield structuredClone(r);
  }

  async *actionsDueBefore(before: string): AsyncIterable<ActionEntry> {
    for (const { value } of this.records.values()) {
      const actionAt = nextActionAt(value);
      if (actionAt !== undefined && value.current && actionAt < before) {
        yield {
          hub: value.hub,
          deviceId: value.deviceId,
          actionAt,
          validUntil: value.current.validUntil,
          status: value.renewal?.status ?? 'healthy',
        };
      }
    }
  }

  get(deviceId: string, hub = 'contoso-hub'): DeviceRecord | undefined {
    return this.records.get(deviceKeyString({ hub, deviceId }))?.value;
  }
}

export class InMemoryAuditTrail implements AuditTrail {
  readonly blobs = new Map<string, ChainedAuditRecord[]>();
  /** Makes the next append fail after writing (a crash between append and clearing the outbox). */
  failAfterNextAppend = false;

  async append(
    entries: readonly AuditEntry[],
    options: { mayAlreadyBeWritten: boolean },
  ): Promise<void> {
    const fail = this.failAfterNextAppend;
    this.failAfterNextAppend = false;
    for (const entry of entries) {
      const name = entry.occurredAt.slice(0, 10);
      const records = this.blobs.get(name) ?? [];
      if (options.mayAlreadyBeWritten && records.some((r) => r.id === entry.id)) continue;
      const last = records[records.length - 1];
      const head = last ? { seq: last.seq, hash: last.hash } : genesisHead(name);
      records.push(...chainEntries(head, [entry]));
      this.blobs.set(name, records);
    }
    if (fail) throw new Error('simulated crash after the audit append');
  }

  async verifyDate(date: string): Promise<AuditDateVerification> {
    const name = date.slice(0, 10);
    const lines = (this.blobs.get(name) ?? []).map((r) => JSON.stringify(r));
    return { date: name, blobs: lines.length ? [{ name, result: verifyChain(name, lines) }] : [] };
  }

  async *readDate(date: string): AsyncIterable<AuditEntry> {
    yield* this.blobs.get(date.slice(0, 10)) ?? [];
  }

  all(): ChainedAuditRecord[] {
    return [...this.blobs.values()].flat();
  }
}

export class InMemoryDeadLetters implements DeadLetters {
  readonly letters = new Map<string, DeadLetter>();

  async put(letter: DeadLetter): Promise<void> {
    this.letters.set(letter.id, structuredClone(letter));
  }

  async *list(): AsyncIterable<DeadLetter> {
    yield* this.letters.values();
  }

  all(): DeadLetter[] {
    return [...this.letters.values()];
  }
}
