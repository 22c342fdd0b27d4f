import { AuditOutbox } from '../../shared/app/AuditOutbox';
import { IngestIotHubEvents } from '../../shared/app/ingest/IngestIotHubEvents';
import { CertificateInspector } from '../../shared/app/ports';
import { ReceiptedLedger } from '../../shared/app/ReceiptedLedger';
import { RenewDevices } from '../../shared/app/renewal/RenewDevices';
import { updateRecord } from '../../shared/app/updateRecord';
import { AuditEntry } from '../../shared/domain/AuditEntry';
import { chainEntries, genesisHead } from '../../shared/domain/AuditChain';
import { HOUR_MS, ManualClock } from '../../shared/domain/Clock';
import { DeviceKey } from '../../shared/domain/DeviceKey';
import { DeviceRecord, newDeviceRecord } from '../../shared/domain/DeviceRecord';
import { DEFAULT_RENEWAL_POLICY } from '../../shared/domain/RenewalPolicy';
import { DEFAULT_PACING_POLICY } from '../../shared/domain/renewal/Pacing';
import { DEFAULT_RENEWAL_TIMING } from '../../shared/domain/renewal/RenewalTiming';
import { deviceConnected, twinUpdated } from '../../shared/local/iotHubMessages';
import { anAuditEntry } from '../support/auditEntries';
import {
  InMemoryAuditReceipts,
  InMemoryAuditTrail,
  InMemoryDeadLetters,
  InMemoryLedger,
  InMemoryPacingStore,
  ScriptedDeviceMethods,
} from '../support/memoryPorts';
import { DUE, aDeviceNamed } from '../support/renewalWorld';

/**
 * The audit outbox with receipts (shared/app/ReceiptedLedger.ts): a record's audit entries
 * leave it by a receipt under the tag of the write that stored them, not by a second write.
 */

const HUB = 'contoso-hub';
const NOW = '2026-11-26T12:34:56.000Z';
const TAG =
  /^(\d{4}-\d{2}-\d{2}T\d{2})~[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const meter = (n: number): DeviceKey => ({ hub: HUB, deviceId: `meter-${n}` });

/**
 * An audit trail that writes what it is given: entries marked `mayAlreadyBeWritten` are checked
 * against everything it holds, new ones are not checked at all. The blob trail checks new ones
 * only against the tail of their blob, so a use case that passes an entry already written as
 * new shows up here as a record written twice.
 */
class UncheckedAuditTrail extends InMemoryAuditTrail {
  readonly appends: { ids: string[]; mayAlreadyBeWritten: boolean }[] = [];

  override async append(
    entries: readonly AuditEntry[],
    options: { mayAlreadyBeWritten: boolean },
  ): Promise<number> {
    this.appends.push({
      ids: entries.map((e) => e.id),
      mayAlreadyBeWritten: options.mayAlreadyBeWritten,
    });
    if (options.mayAlreadyBeWritten) return super.append(entries, options);
    for (const entry of entries) {
      const name = entry.occurredAt.slice(0, 10);
      const records = this.blobs.get(name) ?? [];
      const last = records[records.length - 1];
      records.push(...chainEntries(last ?? genesisHead(name), [entry]));
      this.blobs.set(name, records);
    }
    return entries.length;
  }

  ids(): string[] {
    return this.all().map((r) => r.id);
  }
}

/** The ledger as certfleet runs it (receipted), with the ledger and receipts underneath. */
function aReceiptedLedger(now = NOW) {
  const inner = new InMemoryLedger();
  const receipts = new InMemoryAuditReceipts();
  const clock = new ManualClock(now);
  return { ledger: new ReceiptedLedger(inner, receipts, clock), inner, receipts, clock };
}

/** A record that carries `count` audit entries (as a write that decided them leaves it). */
function withEntries(key: DeviceKey, count = 1): DeviceRecord {
  return {
    ...newDeviceRecord(key.hub, key.deviceId, NOW),
    pendingAudit: Array.from({ length: count }, () =>
      anAuditEntry({ hub: key.hub, deviceId: key.deviceId }),
    ),
  };
}

/** Ingest on a receipted ledger, writing to a trail that checks only what it is asked to. */
function anIngest() {
  const { ledger, inner, receipts, clock } = aReceiptedLedger();
  const audit = new UncheckedAuditTrail();
  return { ingest: anIngestOn(ledger, audit, clock), ledger, inner, receipts, audit, clock };
}

function meterReport(n: number) {
  return twinUpdated({ ...meter(n), at: '2026-11-26T01:00:00.000Z' }, 2, {
    certificate: { validFrom: '2026-11-20T00:00:00Z', validUntil: '2026-12-20T00:00:00Z' },
  });
}

function duplicates(ids: readonly string[]): string[] {
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}

describe('ReceiptedLedger', () => {
  it('stamps a write that carries audit entries with a fresh tag of the UTC hour it was made in', async () => {
    const { ledger, inner, clock } = aReceiptedLedger();
    const record = withEntries(meter(1));

    await ledger.write(record, undefined);

    expect(record.auditTag).toMatch(TAG);
    expect(TAG.exec(record.auditTag ?? '')?.[1]).toBe('2026-11-26T12');
    expect(inner.get('meter-1')?.auditTag).toBe(record.auditTag);

    clock.set('2026-11-26T13:00:00.000Z');
    const stored = await inner.read(meter(1));
    const again = { ...withEntries(meter(1)), auditTag: record.auditTag };
    await ledger.write(again, stored);

    expect(again.auditTag).toMatch(/^2026-11-26T13~/);
    expect(inner.get('meter-1')?.auditTag).toBe(again.auditTag);
  });

  it('writes a record without audit entries untagged, dropping the tag it carried', async () => {
    const { ledger, inner, receipts } = aReceiptedLedger();
    await ledger.write(withEntries(meter(1)), undefined);
    const stored = await inner.read(meter(1));
    const settled = { ...stored!.value, pendingAudit: [] };

    await ledger.write(settled, stored);

    expect(settled.auditTag).toBeUndefined();
    expect(inner.get('meter-1')).not.toHaveProperty('auditTag');
    expect(receipts.lookups).toBe(0);
  });

  it('keeps pending entries on read until their tag has a receipt, then drops them and the tag', async () => {
    const { ledger, inner, receipts } = aReceiptedLedger();
    const record = withEntries(meter(1), 2);
    await ledger.write(record, undefined);

    const before = await ledger.read(meter(1));
    expect(before?.value.pendingAudit.map((e) => e.id)).toEqual(
      record.pendingAudit.map((e) => e.id),
    );
    expect(before?.value.auditTag).toBe(record.auditTag);

    await receipts.record([record.auditTag!]);
    const after = await ledger.read(meter(1));

    expect(after?.value.pendingAudit).toEqual([]);
    expect(after?.value).not.toHaveProperty('auditTag');
    expect(after?.etag).toBe(before?.etag);
    // Dropped on read only: the stored record was not written again.
    expect(inner.writes).toBe(1);
    expect(inner.get('meter-1')?.pendingAudit).toHaveLength(2);
  });

  it('asks storage about a tag on every read until it finds a receipt, and never after', async () => {
    const { ledger: writer, inner, receipts, clock } = aReceiptedLedger();
    const record = withEntries(meter(1));
    await writer.write(record, undefined);
    // Another instance (or this one after a restart): it knows no tags yet.
    const reader = new ReceiptedLedger(inner, receipts, clock);

    await reader.read(meter(1));
    await reader.read(meter(1));
    expect(receipts.lookups).toBe(2);

    await receipts.record([record.auditTag!]);
    for (let i = 0; i < 3; i += 1)
      expect((await reader.read(meter(1)))?.value.pendingAudit).toEqual([]);

    expect(receipts.lookups).toBe(3);
  });

  it('answers from memory for the tags it recorded receipts for itself', async () => {
    const { ledger, receipts } = aReceiptedLedger();
    const record = withEntries(meter(1));
    await ledger.write(record, undefined);

    await ledger.receipt([record]);

    expect((await ledger.read(meter(1)))?.value.pendingAudit).toEqual([]);
    expect(receipts.lookups).toBe(0);
  });

  it('asks storage again for the oldest tags once it knows more than its limit', async () => {
    const inner = new InMemoryLedger();
    const receipts = new InMemoryAuditReceipts();
    const ledger = new ReceiptedLedger(inner, receipts, new ManualClock(NOW), 2);
    const records = [1, 2, 3].map((n) => withEntries(meter(n)));
    for (const record of records) await ledger.write(record, undefined);
    for (const record of records) await ledger.receipt([record]);

    expect((await ledger.read(meter(3)))?.value.pendingAudit).toEqual([]);
    expect((await ledger.read(meter(2)))?.value.pendingAudit).toEqual([]);
    expect(receipts.lookups).toBe(0);
    expect((await ledger.read(meter(1)))?.value.pendingAudit).toEqual([]);
    expect(receipts.lookups).toBe(1);
  });

  it('records one receipt with each tag once, only for records that carry entries', async () => {
    const { ledger, receipts } = aReceiptedLedger();
    const first = withEntries(meter(1));
    const second = withEntries(meter(2), 3);
    const quiet = newDeviceRecord(HUB, 'meter-3', NOW);
    for (const record of [first, second, quiet]) await ledger.write(record, undefined);
    // A tag left on a record whose entries were dropped since stands for nothing.
    const emptied = { ...withEntries(meter(4)), pendingAudit: [], auditTag: first.auditTag! };

    await ledger.receipt([first, undefined, second, first, quiet, emptied]);
    await ledger.receipt([quiet, undefined]);

    expect(receipts.recorded).toEqual([[first.auditTag, second.auditTag]]);
  });

  it('passes a failed receipt on, and still finds the entries pending afterwards', async () => {
    const { ledger, receipts } = aReceiptedLedger();
    const record = withEntries(meter(1));
    await ledger.write(record, undefined);
    receipts.failNextRecord = true;

    await expect(ledger.receipt([record])).rejects.toThrow('simulated crash');

    expect((await ledger.read(meter(1)))?.value.pendingAudit).toHaveLength(1);
  });
});

describe('the audit outbox over a ReceiptedLedger', () => {
  it('writes each record once and records one receipt per batch, instead of clearing each record', async () => {
    const { ingest, ledger, inner, receipts, audit } = anIngest();

    const summary = await ingest.apply([meterReport(1), meterReport(2), meterReport(3)]);

    expect(summary).toMatchObject({ applied: 3, auditWritten: 3 });
    expect(inner.writes).toBe(3);
    expect(receipts.recorded).toHaveLength(1);
    const tags = [1, 2, 3].map((n) => inner.get(`meter-${n}`)?.auditTag);
    expect([...(receipts.recorded[0] ?? [])].sort()).toEqual([...tags].sort());
    expect(audit.all().map((r) => r.type)).toEqual(Array(3).fill('certificate.first-seen'));
    for (const n of [1, 2, 3]) {
      expect(inner.get(`meter-${n}`)?.pendingAudit).toHaveLength(1);
      expect((await ledger.read(meter(n)))?.value.pendingAudit).toEqual([]);
    }

    await ingest.apply([deviceConnected({ ...meter(1), at: '2026-11-26T02:00:00.000Z' }, 5n)]);

    expect(inner.writes).toBe(4);
    expect(receipts.recorded).toHaveLength(1);
    expect(audit.appends.filter((a) => a.mayAlreadyBeWritten)).toEqual([]);
  });

  it('appends nothing and records no receipt when a batch is redelivered', async () => {
    const { ingest, inner, receipts, audit } = anIngest();
    const batch = [meterReport(1), meterReport(2)];
    await ingest.apply(batch);
    const appends = audit.appends.length;

    const again = await ingest.apply(batch);

    expect(again).toMatchObject({ duplicate: 2, auditWritten: 0 });
    expect(audit.appends).toHaveLength(appends);
    expect(receipts.recorded).toHaveLength(1);
    expect(inner.writes).toBe(2);
    expect(duplicates(audit.ids())).toEqual([]);
  });

  it('appends the entries once when a redelivery follows a crash between the append and the receipt', async () => {
    const { ingest, ledger, receipts, audit } = anIngest();
    receipts.failNextRecord = true;

    await expect(ingest.apply([meterReport(1)])).rejects.toThrow('simulated crash');
    expect(audit.ids()).toHaveLength(1);

    const again = await ingest.apply([meterReport(1)]);

    expect(again.auditWritten).toBe(0);
    expect(audit.ids()).toHaveLength(1);
    expect(audit.appends.at(-1)).toEqual({ ids: audit.ids(), mayAlreadyBeWritten: true });
    expect((await ledger.read(meter(1)))?.value.pendingAudit).toEqual([]);
  });

  it('appends the entries once with the next event when the writer died before its receipt', async () => {
    const { ingest, ledger, receipts, audit } = anIngest();
    receipts.failNextRecord = true;
    await expect(ingest.apply([meterReport(1)])).rejects.toThrow('simulated crash');
    const written = audit.ids();

    await ingest.apply([deviceConnected({ ...meter(1), at: '2026-11-26T02:00:00.000Z' }, 5n)]);

    expect(audit.ids()).toEqual(written);
    const record = await ledger.read(meter(1));
    expect(record?.value.connection.state).toBe('connected');
    expect(record?.value.pendingAudit).toEqual([]);
    // The receipt of the write that carried the inherited entries on.
    expect(receipts.recorded).toHaveLength(1);
  });

  it('appends the entries once with the next event when the writer died before its append', async () => {
    const { ingest, ledger, audit } = anIngest();
    await ingest.apply([meterReport(1)]);
    const entry = anAuditEntry({ ...meter(1), type: 'device.deleted' });
    // A write that stored an entry, by an instance that died before the outbox ran.
    await updateRecord(ledger, meter(1), (record) => ({
      next: { ...record!, pendingAudit: [...record!.pendingAudit, entry] },
      verdict: 'written',
    }));

    await ingest.apply([deviceConnected({ ...meter(1), at: '2026-11-26T02:00:00.000Z' }, 5n)]);

    expect(audit.ids().filter((id) => id === entry.id)).toHaveLength(1);
    expect(duplicates(audit.ids())).toEqual([]);
    expect(audit.appends.at(-1)).toEqual({ ids: [entry.id], mayAlreadyBeWritten: true });
    expect((await ledger.read(meter(1)))?.value.pendingAudit).toEqual([]);
  });

  it("appends a sweep's entries once when it dies before its receipt and the device's next event follows", async () => {
    const { ledger, inner, receipts, clock } = aReceiptedLedger(DUE);
    const audit = new UncheckedAuditTrail();
    const device = { hub: HUB, deviceId: 'thermostat-0001' };
    await inner.write(aDeviceNamed(device.deviceId), undefined);
    const renewals = aSweep(ledger, audit, clock);
    receipts.failNextRecord = true;

    await expect(renewals.sweep()).rejects.toThrow('simulated crash');
    const written = audit.all().map((r) => r.type);
    expect(written).toEqual(['renewal.due', 'renewal.requested']);
    expect((await ledger.read(device))?.value.pendingAudit).toHaveLength(2);

    await anIngestOn(ledger, audit, clock).apply([deviceConnected({ ...device, at: DUE }, 9n)]);

    expect(audit.all().map((r) => r.type)).toEqual(written);
    expect((await ledger.read(device))?.value.pendingAudit).toEqual([]);
    expect(receipts.recorded).toHaveLength(1);
  });

  it('records one receipt per flush of a sweep, for records written twice in it too', async () => {
    const { ledger, inner, receipts, clock } = aReceiptedLedger(DUE);
    const audit = new UncheckedAuditTrail();
    for (const id of ['thermostat-0001', 'thermostat-0002'])
      await inner.write(aDeviceNamed(id), undefined);
    const renewals = aSweep(ledger, audit, clock);
    const writesBefore = inner.writes;

    const report = await renewals.sweep();

    expect(report.requested).toBe(2);
    expect(receipts.recorded).toHaveLength(1);
    // Each device: the campaign's start and the request, two writes; none to clear them.
    expect(inner.writes - writesBefore).toBe(4);
    for (const id of ['thermostat-0001', 'thermostat-0002']) {
      expect(receipts.recorded[0]).toContain(inner.get(id)?.auditTag);
      expect((await ledger.read({ hub: HUB, deviceId: id }))?.value.pendingAudit).toEqual([]);
    }
    expect(duplicates(audit.ids())).toEqual([]);
  });

  it('appends nothing twice when the same touched records are flushed twice', async () => {
    const { ledger, receipts } = aReceiptedLedger();
    const audit = new InMemoryAuditTrail();
    const outbox = new AuditOutbox(ledger, audit);
    const entry = anAuditEntry(meter(1));
    const { touched } = await updateRecord(ledger, meter(1), () => ({
      next: { ...newDeviceRecord(HUB, 'meter-1', NOW), pendingAudit: [entry] },
      verdict: 'created',
    }));

    expect(await outbox.flush([touched])).toBe(1);
    expect(await outbox.flush([touched])).toBe(0);

    expect(audit.all().map((r) => r.id)).toEqual([entry.id]);
    expect(receipts.recorded).toEqual([[touched.record?.auditTag], [touched.record?.auditTag]]);
    expect((await ledger.read(meter(1)))?.value.pendingAudit).toEqual([]);
  });
});

function aSweep(ledger: ReceiptedLedger, audit: InMemoryAuditTrail, clock: ManualClock) {
  return new RenewDevices({
    ledger,
    audit,
    pacing: new InMemoryPacingStore(),
    methods: new ScriptedDeviceMethods(clock),
    clock,
    // One or two calls: nothing to pace.
    sleep: async () => undefined,
    settings: {
      methodCallsPerSecond: 10,
      horizonMs: 12 * HOUR_MS,
      maxConcurrentCalls: 32,
      timing: DEFAULT_RENEWAL_TIMING,
      pacing: DEFAULT_PACING_POLICY,
    },
  });
}

/** Reports carry dates only in these tests, so no PEM is ever inspected. */
function anIngestOn(ledger: ReceiptedLedger, audit: InMemoryAuditTrail, clock: ManualClock) {
  const inspector: CertificateInspector = {
    inspect: () => Promise.reject(new Error('no PEM is reported in these tests')),
  };
  return new IngestIotHubEvents({
    ledger,
    audit,
    deadLetters: new InMemoryDeadLetters(),
    inspector,
    clock,
    settings: {
      certificatePath: 'certificate',
      maxBodyBytes: 256 * 1024,
      maxPemBytes: 32 * 1024,
      renewalPolicy: DEFAULT_RENEWAL_POLICY,
    },
  });
}
