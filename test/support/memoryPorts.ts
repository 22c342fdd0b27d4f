import { AuditEntry } from '../../shared/domain/AuditEntry';
import {
  ChainedAuditRecord,
  chainEntries,
  genesisHead,
  verifyChain,
} from '../../shared/domain/AuditChain';
import { Clock, isoUtc, systemClock } from '../../shared/domain/Clock';
import { DeviceKey, deviceKeyString } from '../../shared/domain/DeviceKey';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { MethodOutcome, RenewalRequest } from '../../shared/domain/renewal/MethodOutcome';
import { PacingState } from '../../shared/domain/renewal/Pacing';
import {
  RenewalIndexEntry,
  renewalIndexChange,
  renewalIndexEntry,
} from '../../shared/domain/renewal/renewalIndexEntry';
import { compareIndexOrder } from '../../shared/domain/renewal/renewalIndexOrder';
import {
  AuditDateVerification,
  AuditReceipts,
  AuditTrail,
  CertificateLedger,
  DeadLetter,
  DeadLetters,
  ActionEntry,
  DeviceMethods,
  PacingStore,
  Versioned,
  WriteConflict,
} from '../../shared/app/ports';
import { RotationStore } from '../../shared/app/ports';
import { Rotation } from '../../shared/domain/rotation/Rotation';

/**
 * Hand-written in-memory doubles of the ports, for fast use-case tests. They keep the same
 * contracts as the Azure adapters (ETag conflicts, append-once audit, the renewal index), which
 * the contract suites in test/contracts check against both the doubles and the adapters on
 * Azurite.
 */
export class InMemoryLedger implements CertificateLedger {
  readonly records = new Map<string, Versioned<DeviceRecord>>();
  /**
   * Renewal index entries that no record's own entry accounts for, left where the Table adapter
   * leaves them: the entry of a write that lost its race or crashed before its record, and the
   * old entry of a write that crashed before removing it. One stays until a write puts or
   * removes an entry at its key (its time and device), as an index row would.
   */
  readonly strandedIndexEntries = new Map<string, RenewalIndexEntry>();
  private version = 0;
  writes = 0;
  /** Called before each write; a test can make it throw or change the record under us. */
  beforeWrite?: (record: DeviceRecord) => void;
  /**
   * Makes the next write crash part way through, as an instance can die between the Table
   * adapter's requests: after the new index entry was written but before the record
   * (`after-index`), or after the record but before the old index entry was removed
   * (`after-record`). Either way the write throws.
   */
  crashNextWrite?: 'after-index' | 'after-record';

  async read(key: DeviceKey) {
    const stored = this.records.get(deviceKeyString(key));
    return stored ? { value: structuredClone(stored.value), etag: stored.etag } : undefined;
  }

  async write(
    record: DeviceRecord,
    previous: Versioned<DeviceRecord> | undefined,
  ): Promise<string> {
    this.beforeWrite?.(record);
    const crash = this.crashNextWrite;
    this.crashNextWrite = undefined;
    const id = deviceKeyString(record);
    // In the adapter's order: the new index entry, then the record, then the old entry goes.
    const index = renewalIndexChange(previous?.value, record);
    const conflict = this.records.get(id)?.etag !== previous?.etag;
    if (conflict || crash === 'after-index') {
      if (index.put) this.strandedIndexEntries.set(indexKey(index.put), index.put);
      if (conflict) throw new WriteConflict(`${id} changed`);
      throw new Error(`simulated crash writing ${id}, between the index and the record`);
    }
    if (index.put) this.strandedIndexEntries.delete(indexKey(index.put));
    this.version += 1;
    const etag = `W/"${this.version}"`;
    this.records.set(id, { value: structuredClone(record), etag });
    this.writes += 1;
    const { remove } = index;
    if (crash === 'after-record') {
      // The old row stays as it was: stranded already, or the old record's entry.
      if (remove && !this.strandedIndexEntries.has(indexKey(remove)))
        this.strandedIndexEntries.set(indexKey(remove), remove);
      throw new Error(`simulated crash writing ${id}, after the record`);
    }
    if (remove) this.strandedIndexEntries.delete(indexKey(remove));
    return etag;
  }

  async findByDeviceId(deviceId: string) {
    return [...this.records.values()]
      .filter((r) => r.value.deviceId === deviceId)
      .map((r) => structuredClone(r.value));
  }

  async *list(options: { hub?: string; after?: DeviceKey } = {}) {
    const all = [...this.records.values()].map((r) => r.value);
    const order = (a: DeviceKey, b: DeviceKey) =>
      compare(a.hub, b.hub) || compare(a.deviceId, b.deviceId);
    all.sort(order);
    for (const r of all) {
      if (options.hub && r.hub !== options.hub) continue;
      if (options.after && order(r, options.after) <= 0) continue;
      yield structuredClone(r);
    }
  }

  /** The index as the adapter would hold it: each record's entry, and the stranded ones. */
  async *actionsDueBefore(before: string): AsyncIterable<ActionEntry> {
    const index = new Map<string, RenewalIndexEntry>();
    for (const { value } of this.records.values()) {
      const entry = renewalIndexEntry(value);
      if (entry) index.set(indexKey(entry), entry);
    }
    // A stranded entry holds its key's row as the last write left it.
    for (const [key, entry] of this.strandedIndexEntries) index.set(key, entry);
    const due = [...index.entries()].filter(([, entry]) => entry.actionAt < before);
    due.sort(([a], [b]) => compare(a, b));
    for (const [, entry] of due) yield { ...entry };
  }

  /** A record's own entry is computed from it and cannot be forgotten; a stranded one can. */
  async forgetAction(entry: ActionEntry): Promise<void> {
    this.strandedIndexEntries.delete(indexKey(entry));
  }

  /** Reads of the index in order (`actionsInOrder` calls), and the entries they gave. */
  readonly orderedReads = { calls: 0, entries: 0 };

  /** The same index as actionsDueBefore, in its reading order (compareIndexOrder). */
  async *actionsInOrder(range: {
    before: string;
    from?: string;
    after?: { actionAt: string; hub: string; deviceId: string };
    limit?: number;
  }): AsyncIterable<ActionEntry> {
    if (range.limit !== undefined && !(Number.isInteger(range.limit) && range.limit > 0))
      throw new RangeError(`limit must be a positive integer, not ${range.limit}`);
    this.orderedReads.calls += 1;
    const { before, from, after } = range;
    const index = new Map<string, RenewalIndexEntry>();
    for (const { value } of this.records.values()) {
      const entry = renewalIndexEntry(value);
      if (entry) index.set(indexKey(entry), entry);
    }
    for (const [key, entry] of this.strandedIndexEntries) index.set(key, entry);
    const inRange = [...index.values()]
      .filter(
        (e) =>
          e.actionAt < before &&
          (from === undefined || e.actionAt >= from) &&
          (after === undefined || compareIndexOrder(e, after) > 0),
      )
      .sort(compareIndexOrder)
      .slice(0, range.limit);
    for (const entry of inRange) {
      this.orderedReads.entries += 1;
      yield { ...entry };
    }
  }

  get(deviceId: string, hub = 'contoso-hub'): DeviceRecord | undefined {
    return this.records.get(deviceKeyString({ hub, deviceId }))?.value;
  }
}

/** An index entry's key: its time first, so keys sort as the index answers. */
function indexKey(entry: RenewalIndexEntry): string {
  return `${entry.actionAt}~${deviceKeyString(entry)}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class InMemoryAuditTrail implements AuditTrail {
  readonly blobs = new Map<string, ChainedAuditRecord[]>();
  /** Makes the next append fail after writing (a crash between append and clearing the outbox). */
  failAfterNextAppend = false;

  async append(
    entries: readonly AuditEntry[],
    _options: { mayAlreadyBeWritten: boolean },
  ): Promise<number> {
    const fail = this.failAfterNextAppend;
    this.failAfterNextAppend = false;
    let appended = 0;
    for (const entry of entries) {
      const name = entry.occurredAt.slice(0, 10);
      const records = this.blobs.get(name) ?? [];
      // Each entry once, as the port promises: the blob adapter finds a fresh entry that is
      // already written in the blob's tail, and `mayAlreadyBeWritten` ones in the whole day.
      if (records.some((r) => r.id === entry.id)) continue;
      const last = records[records.length - 1];
      const head = last ? { seq: last.seq, hash: last.hash } : genesisHead(name);
      records.push(...chainEntries(head, [entry]));
      this.blobs.set(name, records);
      appended += 1;
    }
    if (fail) throw new Error('simulated crash after the audit append');
    return appended;
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

/** Audit receipts as TableAuditReceipts keeps them: the tags recorded, each found from then on. */
export class InMemoryAuditReceipts implements AuditReceipts {
  readonly tags = new Set<string>();
  /** How often `has` was asked (each is a point read in the Table adapter). */
  lookups = 0;
  /** The tags of each `record` call (each is one transaction per hundred in the adapter). */
  readonly recorded: string[][] = [];
  /** Makes the next `record` throw before storing anything: the writer died before its receipt. */
  failNextRecord = false;

  async has(tag: string): Promise<boolean> {
    this.lookups += 1;
    return this.tags.has(tag);
  }

  async record(tags: readonly string[]): Promise<void> {
    const fail = this.failNextRecord;
    this.failNextRecord = false;
    if (fail) throw new Error('simulated crash before the audit receipt');
    this.recorded.push([...tags]);
    for (const tag of tags) this.tags.add(tag);
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

/** The pacing state as TablePacingStore keeps it: one JSON document guarded by an ETag. */
export class InMemoryPacingStore implements PacingStore {
  private stored?: Versioned<string>;
  private version = 0;
  writes = 0;

  async read(): Promise<Versioned<PacingState> | undefined> {
    return this.stored
      ? { value: JSON.parse(this.stored.value) as PacingState, etag: this.stored.etag }
      : undefined;
  }

  async write(state: PacingState, previous: Versioned<PacingState> | undefined): Promise<string> {
    if (this.stored?.etag !== previous?.etag)
      throw new WriteConflict('pacing state changed since it was read');
    this.version += 1;
    const etag = `W/"pacing-${this.version}"`;
    this.stored = { value: JSON.stringify(state), etag };
    this.writes += 1;
    return etag;
  }

  /** The state as last written, for assertions. */
  get state(): PacingState | undefined {
    return this.stored ? (JSON.parse(this.stored.value) as PacingState) : undefined;
  }
}

/** What a scripted device answers: an outcome, or one decided per call. */
export type ScriptedAnswer =
  MethodOutcome | ((device: DeviceKey, request: RenewalRequest) => MethodOutcome);

export interface DeviceMethodCall extends DeviceKey {
  request: RenewalRequest;
  /** The clock's time when the call was made. */
  at: string;
  outcome: MethodOutcome;
}

/**
 * Direct methods to a scripted fleet: each device answers what the test told it to, any other
 * device `byDefault` (it accepts, as a healthy device does). The outcomes carry IoT Hub's
 * error codes as IotHubDeviceMethods reports them (shared/domain/renewal/MethodOutcome.ts); the
 * DeviceMethods contract suite holds the two to the same answers.
 */
export class ScriptedDeviceMethods implements DeviceMethods {
  readonly calls: DeviceMethodCall[] = [];
  byDefault: ScriptedAnswer = { kind: 'accepted', status: 202 };
  private readonly scripts = new Map<string, ScriptedAnswer>();

  constructor(private readonly clock: Clock = systemClock) {}

  async requestRenewal(device: DeviceKey, request: RenewalRequest): Promise<MethodOutcome> {
    const script = this.scripts.get(deviceKeyString(device)) ?? this.byDefault;
    const outcome = typeof script === 'function' ? script(device, request) : script;
    this.calls.push({
      hub: device.hub,
      deviceId: device.deviceId,
      request: structuredClone(request),
      at: isoUtc(this.clock.now()),
      outcome: structuredClone(outcome),
    });
    return structuredClone(outcome);
  }

  /** From now on `device` answers this. */
  answer(device: DeviceKey, answer: ScriptedAnswer): this {
    this.scripts.set(deviceKeyString(device), answer);
    return this;
  }

  /** The device answers 200 or 202: it will re-register with DPS. */
  accept(device: DeviceKey, status = 202): this {
    return this.answer(device, { kind: 'accepted', status });
  }

  /** The device answers, but will not renew (409: busy with a firmware update, say). */
  refuse(device: DeviceKey, status = 409): this {
    return this.answer(device, { kind: 'refused', status });
  }

  /** IoT Hub: 404103, the device is not connected. */
  offline(device: DeviceKey): this {
    return this.answer(device, { kind: 'offline', errorCode: 404103 });
  }

  /** IoT Hub: 404001, no such device (or it is disabled). */
  notFound(device: DeviceKey): this {
    return this.answer(device, { kind: 'not-found', errorCode: 404001 });
  }

  /** IoT Hub: 504101, connected but no answer in time. */
  timeOut(device: DeviceKey): this {
    return this.answer(device, { kind: 'timeout', errorCode: 504101 });
  }

  /** IoT Hub: 429001, its quota is spent. */
  throttle(device: DeviceKey): this {
    return this.answer(device, { kind: 'throttled', errorCode: 429001 });
  }

  callsTo(device: DeviceKey): DeviceMethodCall[] {
    return this.calls.filter((c) => c.hub === device.hub && c.deviceId === device.deviceId);
  }
}

/** Rotations as TableRotationStore keeps them: each one JSON document under its own ETag. */
export class InMemoryRotationStore implements RotationStore {
  private readonly stored = new Map<string, Versioned<string>>();
  private version = 0;
  writes = 0;
  /** Called before each write: a test can change a rotation under the writer. */
  beforeWrite?: (rotation: Rotation) => void;

  async read(id: string): Promise<Versioned<Rotation> | undefined> {
    const found = this.stored.get(id);
    return found ? { value: JSON.parse(found.value) as Rotation, etag: found.etag } : undefined;
  }

  async list(): Promise<Versioned<Rotation>[]> {
    return [...this.stored.keys()]
      .sort()
      .map((id) => this.stored.get(id)!)
      .map((found) => ({ value: JSON.parse(found.value) as Rotation, etag: found.etag }));
  }

  async write(rotation: Rotation, previous: Versioned<Rotation> | undefined): Promise<string> {
    this.beforeWrite?.(rotation);
    if (this.stored.get(rotation.id)?.etag !== previous?.etag)
      throw new WriteConflict(`rotation ${rotation.id} changed since it was read`);
    this.version += 1;
    const etag = `W/"rotation-${this.version}"`;
    this.stored.set(rotation.id, { value: JSON.stringify(rotation), etag });
    this.writes += 1;
    return etag;
  }

  /** The rotation as last written, for assertions. */
  get(id: string): Rotation | undefined {
    const found = this.stored.get(id);
    return found ? (JSON.parse(found.value) as Rotation) : undefined;
  }
}
