import { odata } from '@azure/data-tables';
import { WriteConflict } from '../../../shared/app/ports';
import { mapWithConcurrency } from '../../../shared/app/concurrency';
import {
  TableCertificateLedger,
  chunkText,
} from '../../../shared/adapters/storage/TableCertificateLedger';
import {
  INDEX_ROW_PREFIX,
  PARTITIONS_PER_HUB,
  devicePartition,
  escapeKey,
} from '../../../shared/adapters/storage/storageKeys';
import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { DeviceRecord, newDeviceRecord } from '../../../shared/domain/DeviceRecord';
import { DeviceKey } from '../../../shared/domain/DeviceKey';
import {
  TableRequestLog,
  freshPrefix,
  tableClient,
  tableRequestLog,
} from '../../support/rawStorage';

const HUB = 'contoso-hub';
const NOW = '2026-11-23T12:00:00.000Z';
/** "Due before" in these tests: records due earlier are due, the rest are not. */
const T = '2026-12-01T00:00:00.000Z';

function aRecord(
  key: Partial<DeviceKey> & { deviceId: string },
  extra: Partial<DeviceRecord> = {},
) {
  return { ...newDeviceRecord(key.hub ?? HUB, key.deviceId, NOW), ...extra } as DeviceRecord;
}

function dueAt(
  renewalDueAt: string,
  validUntil = '2026-12-31T00:00:00.000Z',
): Partial<DeviceRecord> {
  return {
    renewalDueAt,
    current: {
      source: 'reported',
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil,
      firstSeenAt: '2026-11-01T01:00:00.000Z',
      reportedVersion: 2,
    },
    reportedVersion: 2,
  };
}

/** The index's answer for healthy devices, whose next action is their renewal due time. */
async function dueEntries(ledger: TableCertificateLedger, before: string) {
  const entries = [];
  for await (const e of ledger.actionsDueBefore(before)) {
    entries.push({ hub: e.hub, deviceId: e.deviceId, renewalDueAt: e.actionAt });
  }
  return entries;
}

function aLedger(log?: TableRequestLog) {
  const ledgerTable = `${freshPrefix()}ledger`;
  const ledger = new TableCertificateLedger(tableClient(ledgerTable, log));
  return { ledger, ledgerTable };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The renewal-index rows stored for a device: in its record's partition, RowKey `~<actionAt>~<id>`. */
async function indexRowsOf(ledgerTable: string, key: DeviceKey) {
  const partition = devicePartition(key);
  const entities = await collect(
    tableClient(ledgerTable).listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${partition}` },
    }),
  );
  return entities.filter(
    (e) =>
      e.rowKey?.startsWith(INDEX_ROW_PREFIX) && e.rowKey.endsWith(`~${escapeKey(key.deviceId)}`),
  );
}

describe('TableCertificateLedger on Azurite', () => {
  it('reads back a record it created, with the ETag that guards the next write', async () => {
    const { ledger } = aLedger();
    const record = aRecord({ deviceId: 'thermostat-0001' }, dueAt('2026-11-26T12:00:00.000Z'));

    const etag = await ledger.write(record, undefined);
    const read = await ledger.read({ hub: HUB, deviceId: 'thermostat-0001' });

    expect(read).toEqual({ value: record, etag });
    expect(await ledger.read({ hub: HUB, deviceId: 'thermostat-0002' })).toBeUndefined();
  });

  it('refuses a write over a stale ETag with WriteConflict and keeps the first writer', async () => {
    const { ledger } = aLedger();
    const key = { hub: HUB, deviceId: 'thermostat-0001' };
    await ledger.write(aRecord(key), undefined);
    const readByBoth = await ledger.read(key);
    if (!readByBoth) throw new Error('record not written');

    const first = { ...readByBoth.value, lastSeenAt: '2026-11-23T12:01:00.000Z' };
    const second = { ...readByBoth.value, lastSeenAt: '2026-11-23T12:02:00.000Z' };
    const firstEtag = await ledger.write(first, readByBoth);

    await expect(ledger.write(second, readByBoth)).rejects.toBeInstanceOf(WriteConflict);
    expect(await ledger.read(key)).toEqual({ value: first, etag: firstEtag });
  });

  it('refuses to create a record that already exists with WriteConflict', async () => {
    const { ledger } = aLedger();
    const key = { hub: HUB, deviceId: 'thermostat-0001' };
    const original = aRecord(key, { lastSeenAt: '2026-11-23T11:00:00.000Z' });
    await ledger.write(original, undefined);

    const rival = aRecord(key, { lastSeenAt: '2026-11-23T11:30:00.000Z' });
    await expect(ledger.write(rival, undefined)).rejects.toThrow(WriteConflict);
    expect((await ledger.read(key))?.value).toEqual(original);
  });

  it("round-trips device ids with IoT Hub's special characters and unicode, and never merges two of them", async () => {
    const { ledger } = aLedger();
    const ids = [
      'plain-0001',
      'dev#1',
      'dev%231', // what a naive escape of dev#1 would produce
      'dev?1',
      'dev!(1),',
      'a:b=c@d$e',
      "o'brien",
      '100%',
      '%%',
      '%2',
      'star*plus+',
      'a+b',
      'a b', // URL form-decoding would turn a+b into this
      'tilde~sep~',
      'UPPER-case',
      'upper-CASE',
      'Gerät-ü',
      '温度计-1',
      '🌡️-sensor',
      '.dot._under-',
    ];
    const withIndex = ids.map((deviceId, i) => ({ deviceId, version: i + 1 }));
    await mapWithConcurrency(withIndex, 8, ({ deviceId, version }) =>
      ledger.write(
        aRecord({ deviceId }, dueAt(`2026-11-2${version % 10}T00:00:00.000Z`)),
        undefined,
      ),
    );
    // Each record carries its own due date, so a collision would show as a wrong date.
    for (const { deviceId, version } of withIndex) {
      const read = await ledger.read({ hub: HUB, deviceId });
      expect(read?.value.deviceId).toBe(deviceId);
      expect(read?.value.renewalDueAt).toBe(`2026-11-2${version % 10}T00:00:00.000Z`);
    }
    const listed = (await collect(ledger.list())).map((r) => r.deviceId);
    expect(listed).toHaveLength(ids.length);
    expect(new Set(listed)).toEqual(new Set(ids));

    const due = await dueEntries(ledger, T);
    expect(due.map((d) => d.deviceId).sort()).toEqual([...ids].sort());
    expect(due.every((d) => d.hub === HUB)).toBe(true);

    expect((await ledger.findByDeviceId('dev#1')).map((r) => r.deviceId)).toEqual(['dev#1']);
    expect((await ledger.findByDeviceId("o'brien")).map((r) => r.deviceId)).toEqual(["o'brien"]);
  });

  it('finds a device id in every hub that has it, and only that exact id', async () => {
    const { ledger } = aLedger();
    const keys = [
      { hub: 'hub-a', deviceId: 'meter-1' },
      { hub: 'hub-b', deviceId: 'meter-1' },
      { hub: 'hub-a', deviceId: 'meter-10' },
      { hub: 'hub-b', deviceId: 'METER-1' },
      { hub: 'hub-c', deviceId: 'meter-2' },
    ];
    for (const key of keys) await ledger.write(aRecord(key), undefined);

    const found = await ledger.findByDeviceId('meter-1');

    expect(found.map((r) => `${r.hub}/${r.deviceId}`).sort()).toEqual([
      'hub-a/meter-1',
      'hub-b/meter-1',
    ]);
    expect(await ledger.findByDeviceId('meter-3')).toEqual([]);
  });

  it('lists every record past the first page of its partition, in device id order, and only one hub when asked', async () => {
    const log = tableRequestLog();
    const { ledger } = aLedger(log);
    // A hub's listing reads each of its 16 partitions 100 records at a time and merges them:
    // 130 devices in each of two partitions need a second page of both, and 40 more elsewhere.
    const inPartition = new Map<string, number>();
    const big: DeviceKey[] = [];
    for (let i = 0; big.length < 300; i += 1) {
      const key = { hub: 'hub-big', deviceId: `d-${String(i).padStart(5, '0')}` };
      const partition = devicePartition(key).slice(-2);
      const held = inPartition.get(partition) ?? 0;
      const wanted = partition === '00' || partition === '01' ? 130 : 4;
      if (held >= wanted) continue;
      inPartition.set(partition, held + 1);
      big.push(key);
    }
    const small = [
      { hub: 'hub-small', deviceId: 'x-1' },
      { hub: 'hub-small', deviceId: 'x-2' },
      { hub: 'hub-other', deviceId: 'x-1' },
    ];
    await mapWithConcurrency([...big, ...small], 16, (key) =>
      ledger.write(aRecord(key), undefined),
    );
    log.clear();

    const all = await collect(ledger.list());
    expect(all).toHaveLength(303);
    // Ordered by hub, then device id, across the partitions.
    expect(all.map((r) => `${r.hub}/${r.deviceId}`)).toEqual([
      ...big.map((k) => `hub-big/${k.deviceId}`).sort(),
      'hub-other/x-1',
      'hub-small/x-1',
      'hub-small/x-2',
    ]);
    // The two crowded partitions were read past their first page.
    const continued = log.requests.filter((r) => /NextRowKey=/i.test(r.url));
    expect(continued.length).toBeGreaterThanOrEqual(2);

    const smallHub = await collect(ledger.list({ hub: 'hub-small' }));
    expect(smallHub.map((r) => r.deviceId)).toEqual(['x-1', 'x-2']);
    expect(await collect(ledger.list({ hub: 'hub-none' }))).toEqual([]);
  });

  it('round-trips a record larger than a 64 KiB table property, and one that shrinks again', async () => {
    const { ledger, ledgerTable } = aLedger();
    // ASCII only: Azurite 3.35 decodes request bodies per 64 KiB stream chunk and mangles a
    // multi-byte character that straddles two (unicode ids are covered with small records).
    const key = { hub: HUB, deviceId: 'gateway-0001' };
    const pendingAudit: AuditEntry[] = Array.from({ length: 400 }, (_, i) => ({
      id: `pending-${i}`,
      type: 'certificate.renewed',
      hub: HUB,
      deviceId: key.deviceId,
      occurredAt: '2026-11-23T10:00:00.000Z',
      recordedAt: NOW,
      opType: 'updateTwin',
      reportedVersion: i + 2,
      old: { validFrom: '2026-10-01T00:00:00.000Z', validUntil: '2026-11-01T00:00:00.000Z' },
      new: {
        validFrom: '2026-11-01T00:00:00.000Z',
        validUntil: '2026-12-01T00:00:00.000Z',
        subject: `CN=${key.deviceId}, O=Contoso Oil and Gas`,
      },
    }));
    const large = aRecord(key, { pendingAudit, ...dueAt('2026-11-26T12:00:00.000Z') });
    expect(JSON.stringify(large).length).toBeGreaterThan(2 * 64 * 1024);

    const etag = await ledger.write(large, undefined);
    const read = await ledger.read(key);
    expect(read?.value).toEqual(large);

    const entity = await tableClient(ledgerTable).getEntity(
      devicePartition(key),
      escapeKey(key.deviceId),
    );
    expect(Number(entity['docChunks'])).toBeGreaterThan(2);
    // The record and its index row went in one transaction, the record at its largest.
    expect(await indexRowsOf(ledgerTable, key)).toHaveLength(1);

    const small = { ...large, pendingAudit: [] };
    await ledger.write(small, { value: large, etag });
    expect((await ledger.read(key))?.value).toEqual(small);
  });

  it('answers actionsDueBefore with exactly the active devices due before T', async () => {
    const { ledger } = aLedger();
    const write = (deviceId: string, extra: Partial<DeviceRecord>, hub = HUB) =>
      ledger.write(aRecord({ hub, deviceId }, extra), undefined);
    await write('due-1', dueAt('2026-11-24T00:00:00.000Z'));
    await write('due-2', dueAt('2026-11-30T23:59:59.999Z'));
    await write('due-3', dueAt('2026-11-25T00:00:00.000Z'), 'hub-b');
    await write('later-1', dueAt('2026-12-01T00:00:00.001Z'));
    await write('later-2', dueAt('2027-01-15T00:00:00.000Z'));
    await write('exactly-at-t', dueAt(T));
    await write('no-certificate', {});
    await write('deleted-at-birth', {
      ...dueAt('2026-11-24T00:00:00.000Z'),
      lifecycle: 'deleted',
      deletedAt: '2026-11-20T00:00:00.000Z',
    });
    // Due before T, then deleted: its index entry must go.
    const gone = aRecord({ deviceId: 'deleted-later' }, dueAt('2026-11-24T00:00:00.000Z'));
    const goneEtag = await ledger.write(gone, undefined);
    const deleted = { ...gone, lifecycle: 'deleted' as const, deletedAt: NOW };
    delete deleted.renewalDueAt;
    await ledger.write(deleted, { value: gone, etag: goneEtag });

    const due = await dueEntries(ledger, T);

    expect(due.sort((a, b) => a.deviceId.localeCompare(b.deviceId))).toEqual([
      { hub: HUB, deviceId: 'due-1', renewalDueAt: '2026-11-24T00:00:00.000Z' },
      { hub: HUB, deviceId: 'due-2', renewalDueAt: '2026-11-30T23:59:59.999Z' },
      { hub: 'hub-b', deviceId: 'due-3', renewalDueAt: '2026-11-25T00:00:00.000Z' },
    ]);
  });

  it('moves the index entry when renewalDueAt changes and drops it when the device is deleted', async () => {
    const { ledger, ledgerTable } = aLedger();
    const key = { hub: HUB, deviceId: 'thermostat-0001' };
    const first = aRecord(key, dueAt('2026-11-24T00:00:00.000Z'));
    let etag = await ledger.write(first, undefined);
    expect(await dueEntries(ledger, T)).toEqual([
      { ...key, renewalDueAt: '2026-11-24T00:00:00.000Z' },
    ]);

    // Renewed: the next due date is after T.
    const renewed = { ...first, ...dueAt('2026-12-20T00:00:00.000Z', '2027-01-01T00:00:00.000Z') };
    etag = await ledger.write(renewed, { value: first, etag });
    expect(await dueEntries(ledger, T)).toEqual([]);
    expect(await dueEntries(ledger, '2027-01-01T00:00:00.000Z')).toEqual([
      { ...key, renewalDueAt: '2026-12-20T00:00:00.000Z' },
    ]);
    expect(await indexRowsOf(ledgerTable, key)).toHaveLength(1);

    // A write that does not change the due date leaves the one entry alone.
    const seen = { ...renewed, lastSeenAt: NOW };
    etag = await ledger.write(seen, { value: renewed, etag });
    expect(await indexRowsOf(ledgerTable, key)).toHaveLength(1);

    const deleted: DeviceRecord = { ...seen, lifecycle: 'deleted', deletedAt: NOW };
    delete deleted.renewalDueAt;
    await ledger.write(deleted, { value: seen, etag });
    expect(await dueEntries(ledger, '2030-01-01T00:00:00.000Z')).toEqual([]);
    expect(await indexRowsOf(ledgerTable, key)).toEqual([]);
  });

  it('keeps the winning writer in the renewal index when a rival write loses', async () => {
    const { ledger } = aLedger();
    const key = { hub: HUB, deviceId: 'thermostat-0001' };
    const original = aRecord(key, dueAt('2026-11-24T00:00:00.000Z'));
    const etag = await ledger.write(original, undefined);
    const asRead = { value: original, etag };

    const winner = { ...original, ...dueAt('2026-11-28T00:00:00.000Z') };
    const loser = { ...original, ...dueAt('2026-11-29T00:00:00.000Z') };
    await ledger.write(winner, asRead);
    await expect(ledger.write(loser, asRead)).rejects.toBeInstanceOf(WriteConflict);

    // The record and its index rows change in one transaction: the loser's entry was never
    // written, so the index holds the winner's alone.
    const due = await dueEntries(ledger, T);
    expect(due).toEqual([{ ...key, renewalDueAt: '2026-11-28T00:00:00.000Z' }]);
    expect((await ledger.read(key))?.value.renewalDueAt).toBe('2026-11-28T00:00:00.000Z');
  });

  it('reads only the due entries: with N devices not due and K due in two hubs, actionsDueBefore costs K entities, one query for the hubs and one per partition of each hub', async () => {
    const log = tableRequestLog();
    const { ledger } = aLedger(log);
    const hubs = ['hub-a', 'hub-b'];
    const notDue = Array.from({ length: 60 }, (_, i) => ({
      hub: hubs[i % 2]!,
      deviceId: `later-${i}`,
      renewalDueAt: new Date(Date.parse(T) + (i + 1) * 3_600_000).toISOString(),
    }));
    const dueSoon = Array.from({ length: 4 }, (_, i) => ({
      hub: hubs[i % 2]!,
      deviceId: `soon-${i}`,
      renewalDueAt: new Date(Date.parse(T) - (i + 1) * 3_600_000).toISOString(),
    }));
    await mapWithConcurrency([...notDue, ...dueSoon], 16, ({ hub, deviceId, renewalDueAt }) =>
      ledger.write(aRecord({ hub, deviceId }, dueAt(renewalDueAt)), undefined),
    );
    log.clear();

    const answer = await dueEntries(ledger, T);

    expect(answer.map((d) => d.deviceId).sort()).toEqual(dueSoon.map((d) => d.deviceId).sort());
    // The K due index rows, and the `~hubs` rows naming the two hubs; no record, no later row.
    expect(log.entitiesReturned()).toBe(dueSoon.length + hubs.length);
    expect(log.requests).toHaveLength(1 + hubs.length * PARTITIONS_PER_HUB);
    expect(log.requests.every((r) => r.method === 'GET')).toBe(true);
  });
});

describe('chunkText', () => {
  it('never cuts between the two halves of a surrogate pair', () => {
    const text = `${'a'.repeat(9)}😀${'b'.repeat(5)}`; // the emoji straddles position 10
    const parts = chunkText(text, 10);

    expect(parts.join('')).toBe(text);
    expect(parts[0]).toBe('a'.repeat(9));
    expect(parts.every((p) => p.length <= 10)).toBe(true);
  });

  it('gives one empty piece for empty text', () => {
    expect(chunkText('', 10)).toEqual(['']);
  });
});
