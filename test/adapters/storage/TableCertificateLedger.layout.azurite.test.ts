import {
  TableClient,
  TableServiceClient,
  TableServiceClientOptions,
  odata,
} from '@azure/data-tables';
import { LegacyLedgerTables } from '../../../shared/adapters/storage/LegacyLedgerTables';
import { TableCertificateLedger } from '../../../shared/adapters/storage/TableCertificateLedger';
import {
  INDEX_ROW_PREFIX,
  PARTITIONS_PER_HUB,
  devicePartition,
  escapeKey,
  hubPartitions,
  indexRowKey,
} from '../../../shared/adapters/storage/storageKeys';
import { mapWithConcurrency } from '../../../shared/app/concurrency';
import { ActionEntry, WriteConflict } from '../../../shared/app/ports';
import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { DeviceKey } from '../../../shared/domain/DeviceKey';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { renewalIndexEntry } from '../../../shared/domain/renewal/renewalIndexEntry';
import { legacyDeviceRow, seedLegacyLedger } from '../../support/legacyLedgerRows';
import { azuriteConnectionString, freshPrefix, tableClient } from '../../support/rawStorage';
import { aRecord, dueAt } from '../../support/ledgerRecords';

/**
 * The ledger's table layout, looked at underneath the adapter: one table, each hub over 16
 * partitions, a record and its renewal-index row changed by one transaction, `~hubs` naming
 * the hubs; and the read-through and migration of the layout before it (two tables).
 */
const HUB = 'contoso-hub';
const NOW = '2026-11-23T12:00:00.000Z';
const T = '2026-12-01T00:00:00.000Z';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

type PipelinePolicy = NonNullable<
  TableServiceClientOptions['additionalPolicies']
>[number]['policy'];

/**
 * Every request a table client sends, failed ones included, as `POST $batch`, `PUT <pk>/<rk>`,
 * `GET <pk>/<rk>` (a point read) or `GET query` (test/support/rawStorage.ts's log does not see
 * a request the SDK turns into an error, such as a point read of a record that is not there).
 */
interface RequestLog {
  requests: string[];
  clear(): void;
}

function loggedTableClient(name: string, log: RequestLog): TableClient {
  const policy: PipelinePolicy = {
    name: 'certfleet-test-every-request',
    async sendRequest(request, next) {
      log.requests.push(described(request));
      return next(request);
    },
  };
  return TableClient.fromConnectionString(azuriteConnectionString(), name, {
    allowInsecureConnection: true,
    additionalPolicies: [{ policy, position: 'perCall' }],
  });
}

function aRequestLog(): RequestLog {
  const requests: string[] = [];
  return {
    requests,
    clear: () => {
      requests.length = 0;
    },
  };
}

function aLedger(log?: RequestLog) {
  const prefix = freshPrefix();
  const name = `${prefix}ledger`;
  const client = log ? loggedTableClient(name, log) : tableClient(name);
  return { ledger: new TableCertificateLedger(client), name, prefix };
}

/** Every row of the table, as `<PartitionKey>/<RowKey>`. */
async function rowsOf(table: string): Promise<string[]> {
  const rows = await collect(tableClient(table).listEntities());
  return rows.map((r) => `${r.partitionKey}/${r.rowKey}`).sort();
}

/** A device's renewal-index rows: in its record's partition, RowKey `~<actionAt>~<id>`. */
async function indexRowsOf(table: string, key: DeviceKey): Promise<string[]> {
  const partition = devicePartition(key);
  const rows = await collect(
    tableClient(table).listEntities({
      queryOptions: { filter: odata`PartitionKey eq ${partition}` },
    }),
  );
  return rows
    .map((r) => String(r.rowKey))
    .filter((rk) => rk.startsWith(INDEX_ROW_PREFIX) && rk.endsWith(`~${escapeKey(key.deviceId)}`));
}

function described(request: { method: string; url: string }): string {
  const url = decodeURIComponent(request.url);
  if (url.includes('$batch')) return `${request.method} $batch`;
  const point = /\(PartitionKey='([^']*)',\s*RowKey='([^']*)'\)/.exec(url);
  if (point) return `${request.method} ${point[1]}/${point[2]}`;
  return `${request.method} query`;
}

async function tableNamesUnder(prefix: string): Promise<string[]> {
  const service = TableServiceClient.fromConnectionString(azuriteConnectionString(), {
    allowInsecureConnection: true,
  });
  const names: string[] = [];
  for await (const table of service.listTables())
    if (table.name?.startsWith(prefix)) names.push(table.name);
  return names.sort();
}

describe('the ledger table layout: a record and its index row in one transaction, on Azurite', () => {
  it('writes a known record whose next action moves in exactly one request, leaving exactly one index row', async () => {
    const log = aRequestLog();
    const { ledger, name } = aLedger(log);
    const key = { hub: HUB, deviceId: 'thermostat-0001' };
    const first = aRecord(key, dueAt('2026-11-24T00:00:00.000Z'));
    await ledger.write(first, undefined);
    const stored = await ledger.read(key);
    log.clear();

    const moved = { ...first, ...dueAt('2026-11-28T00:00:00.000Z') };
    const etag = await ledger.write(moved, stored);

    expect(log.requests).toEqual(['POST $batch']);
    expect(await indexRowsOf(name, key)).toEqual([
      indexRowKey('2026-11-28T00:00:00.000Z', key.deviceId),
    ]);
    expect(await ledger.read(key)).toEqual({ value: moved, etag });
  });

  it('creates a new record in one transaction, naming its hub in ~hubs the first time a process sees the hub and not after', async () => {
    const log = aRequestLog();
    const { ledger, name } = aLedger(log);
    await ledger.read({ hub: HUB, deviceId: 'nobody' }); // the table is created once, first
    log.clear();

    await ledger.write(aRecord({ hub: HUB, deviceId: 'meter-1' }, dueAt(NOW)), undefined);
    expect(log.requests).toEqual([`PUT ~hubs/~${HUB}`, 'POST $batch']);

    log.clear();
    await ledger.write(aRecord({ hub: HUB, deviceId: 'meter-2' }, dueAt(NOW)), undefined);
    expect(log.requests).toEqual(['POST $batch']);

    // Another process names the hub again once (an upsert: no harm), then writes alone.
    const otherLog = aRequestLog();
    const other = new TableCertificateLedger(loggedTableClient(name, otherLog));
    await other.read({ hub: HUB, deviceId: 'nobody' });
    otherLog.clear();
    await other.write(aRecord({ hub: HUB, deviceId: 'meter-3' }), undefined);
    await other.write(aRecord({ hub: HUB, deviceId: 'meter-4' }), undefined);
    expect(otherLog.requests).toEqual([`PUT ~hubs/~${HUB}`, 'POST $batch', 'POST $batch']);
    expect((await rowsOf(name)).filter((r) => r.startsWith('~hubs/'))).toEqual([`~hubs/~${HUB}`]);
  });

  it('still writes the record when its old index row was already forgotten, by sending the transaction again without the delete', async () => {
    const log = aRequestLog();
    const { ledger, name } = aLedger(log);
    const key = { hub: HUB, deviceId: 'thermostat-0001' };
    const first = aRecord(key, dueAt('2026-11-24T00:00:00.000Z'));
    await ledger.write(first, undefined);
    const stored = await ledger.read(key);
    const [entry] = await collect(ledger.actionsDueBefore(T));
    // Gone underneath (by hand: the ledger itself never leaves a record without its row).
    await tableClient(name).deleteEntity(
      devicePartition(key),
      indexRowKey(entry!.actionAt, key.deviceId),
    );
    expect(await indexRowsOf(name, key)).toEqual([]);
    log.clear();

    const moved = { ...first, ...dueAt('2026-11-28T00:00:00.000Z') };
    const etag = await ledger.write(moved, stored);

    expect(log.requests).toEqual(['POST $batch', 'POST $batch']);
    expect(await ledger.read(key)).toEqual({ value: moved, etag });
    expect(await indexRowsOf(name, key)).toEqual([
      indexRowKey('2026-11-28T00:00:00.000Z', key.deviceId),
    ]);
  });

  it("never deletes a record's own index row when asked to forget it (a record and its row change together)", async () => {
    const { ledger, name } = aLedger();
    const key = { hub: HUB, deviceId: 'thermostat-0002' };
    await ledger.write(aRecord(key, dueAt('2026-11-24T00:00:00.000Z')), undefined);
    const [entry] = await collect(ledger.actionsDueBefore(T));

    // A sweep that held a copy saw the record move on and back meanwhile: the row is live.
    await ledger.forgetAction(entry!);

    expect(await indexRowsOf(name, key)).toEqual([indexRowKey(entry!.actionAt, key.deviceId)]);
  });

  it('still refuses a write over a stale ETag when the old index row is gone too', async () => {
    const { ledger, name } = aLedger();
    const key = { hub: HUB, deviceId: 'thermostat-0001' };
    const first = aRecord(key, dueAt('2026-11-24T00:00:00.000Z'));
    await ledger.write(first, undefined);
    const stale = await ledger.read(key);
    const winner = { ...first, ...dueAt('2026-11-26T00:00:00.000Z') };
    await ledger.write(winner, stale); // deletes the 24th's row, which `stale` would delete

    await expect(
      ledger.write({ ...first, ...dueAt('2026-11-28T00:00:00.000Z') }, stale),
    ).rejects.toMatchObject({ name: 'WriteConflict' });
    expect((await ledger.read(key))?.value).toEqual(winner);
    expect(await indexRowsOf(name, key)).toEqual([
      indexRowKey('2026-11-26T00:00:00.000Z', key.deviceId),
    ]);
  });
});

describe('the ledger table layout: partitions and order, on Azurite', () => {
  const devices = 2_000;
  const big = 'hub-2k';
  let ledger: TableCertificateLedger;
  let name: string;
  let ids: string[];

  beforeAll(async () => {
    ({ ledger, name } = aLedger());
    ids = Array.from({ length: devices }, (_, i) => `sensor-${String(i).padStart(5, '0')}`);
    // Written in an order unlike the ids', so the listing's order is the table's doing.
    const shuffled = ids.map((id, i) => ({ id, at: (i * 7919) % devices }));
    shuffled.sort((a, b) => a.at - b.at);
    await mapWithConcurrency(shuffled, 32, ({ id }) =>
      ledger.write(aRecord({ hub: big, deviceId: id }), undefined),
    );
  }, 120_000);

  it('spreads 2,000 devices of one hub over all 16 partitions, none holding more than 1.5 times its share', async () => {
    const rows = await collect(tableClient(name).listEntities());
    const perPartition = new Map<string, number>();
    for (const row of rows) {
      const partition = String(row.partitionKey);
      // Records only: not `~hubs`, and no index rows (these records have no certificate).
      if (partition === '~hubs' || String(row.rowKey).startsWith(INDEX_ROW_PREFIX)) continue;
      perPartition.set(partition, (perPartition.get(partition) ?? 0) + 1);
    }
    const counts = hubPartitions(big).map((p) => perPartition.get(p) ?? 0);
    const share = devices / PARTITIONS_PER_HUB;
    console.log(
      `${devices} devices of one hub over ${PARTITIONS_PER_HUB} partitions: ${counts.join(' ')} (share ${share}, min ${Math.min(...counts)}, max ${Math.max(...counts)})`,
    );

    expect([...perPartition.keys()].sort()).toEqual(hubPartitions(big));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(devices);
    expect(Math.min(...counts)).toBeGreaterThan(0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(1.5 * share);
  });

  it('lists a hub in device id order across its 16 partitions', async () => {
    const listed = await collect(ledger.list({ hub: big }));

    expect(listed.map((r) => r.deviceId)).toEqual(ids);
    expect(listed.every((r) => r.hub === big)).toBe(true);
  });

  it('lists every hub by name, then device id, hubs whose names extend others included', async () => {
    const { ledger: several } = aLedger();
    // Partition keys put `hub-a~00` before `hub~00` ('-' sorts before '~'): the listing must not.
    const hubs = ['hubA', 'hub-a-1', 'hub', 'hub0', 'hub-a'];
    const keys = hubs.flatMap((hub) =>
      ['d-2', 'd-10', 'd-1'].map((deviceId) => ({ hub, deviceId })),
    );
    await mapWithConcurrency(keys, 8, (key) => several.write(aRecord(key), undefined));

    const listed = (await collect(several.list())).map((r) => `${r.hub}/${r.deviceId}`);

    expect(listed).toEqual(
      ['hub', 'hub-a', 'hub-a-1', 'hub0', 'hubA'].flatMap((hub) =>
        ['d-1', 'd-10', 'd-2'].map((id) => `${hub}/${id}`),
      ),
    );
    expect((await collect(several.list({ hub: 'hub' }))).map((r) => r.deviceId)).toEqual([
      'd-1',
      'd-10',
      'd-2',
    ]);
  });

  it('finds a device in every hub that has it by one point read per hub, after one query for the hubs', async () => {
    const log = aRequestLog();
    const { ledger: byHub, name: table } = aLedger();
    const reader = new TableCertificateLedger(loggedTableClient(table, log));
    const hubs = ['hub-a', 'hub-b', 'hub-c', 'hub-d'];
    for (const hub of hubs.slice(0, 3))
      await byHub.write(aRecord({ hub, deviceId: 'meter-1' }), undefined);
    await byHub.write(aRecord({ hub: 'hub-d', deviceId: 'meter-2' }), undefined);
    await reader.read({ hub: 'hub-a', deviceId: 'nobody' }); // the table is created once, first
    log.clear();

    const found = await reader.findByDeviceId('meter-1');

    expect(found.map((r) => `${r.hub}/${r.deviceId}`).sort()).toEqual([
      'hub-a/meter-1',
      'hub-b/meter-1',
      'hub-c/meter-1',
    ]);
    expect(log.requests).toEqual([
      'GET query',
      ...hubs.map((hub) => `GET ${devicePartition({ hub, deviceId: 'meter-1' })}/meter-1`),
    ]);
  });
});

describe('the ledger tables of the layout before, read through and migrated, on Azurite', () => {
  /** A ledger over fresh tables, with the legacy ones under the same prefix. */
  function aMigratingLedger() {
    const prefix = freshPrefix();
    const devices = tableClient(`${prefix}devices`);
    const due = tableClient(`${prefix}due`);
    const ledgerTable = `${prefix}ledger`;
    const ledger = new TableCertificateLedger(
      tableClient(ledgerTable),
      new LegacyLedgerTables(devices, due),
    );
    return { ledger, ledgerTable, devices, due, prefix };
  }

  const auditLines = (key: DeviceKey): AuditEntry[] =>
    Array.from({ length: 200 }, (_, i) => ({
      id: `pending-${i}`,
      type: 'certificate.renewed',
      hub: key.hub,
      deviceId: key.deviceId,
      occurredAt: '2026-11-23T10:00:00.000Z',
      recordedAt: NOW,
      opType: 'updateTwin',
      reportedVersion: i + 2,
      old: { validFrom: '2026-10-01T00:00:00.000Z', validUntil: '2026-11-01T00:00:00.000Z' },
      new: { validFrom: '2026-11-01T00:00:00.000Z', validUntil: '2026-12-01T00:00:00.000Z' },
    }));

  const dueSoon = aRecord({ hub: 'hub-a', deviceId: 'old-1' }, dueAt('2026-11-25T00:00:00.000Z'));
  const dueLater = aRecord({ hub: 'hub-a', deviceId: 'old-2' }, dueAt('2026-12-20T00:00:00.000Z'));
  const oddId = aRecord({ hub: 'hub-b', deviceId: "dev#3 o'k" }, dueAt('2026-11-26T00:00:00.000Z'));
  // Larger than one old chunk (30,000 characters): stored as `doc`, `doc1`…
  const chunked = aRecord(
    { hub: 'hub-b', deviceId: 'gateway-4' },
    {
      ...dueAt('2026-11-27T00:00:00.000Z'),
      pendingAudit: auditLines({ hub: 'hub-b', deviceId: 'gateway-4' }),
    },
  );
  const noCertificate = aRecord({ hub: 'hub-c', deviceId: 'new-5' });
  const legacyRecords = [dueSoon, dueLater, oddId, chunked, noCertificate];

  const keyOf = (r: DeviceRecord) => `${r.hub}/${r.deviceId}`;
  const entryOf = (r: DeviceRecord) => renewalIndexEntry(r) as ActionEntry;

  it('reads, lists, finds and indexes records still in the legacy tables', async () => {
    const { ledger, devices, due } = aMigratingLedger();
    await seedLegacyLedger({ devices, due }, legacyRecords);
    expect(Number(legacyDeviceRow(chunked)['docChunks'])).toBeGreaterThan(1);

    for (const record of legacyRecords) expect((await ledger.read(record))?.value).toEqual(record);
    expect(await ledger.read({ hub: 'hub-a', deviceId: 'never' })).toBeUndefined();
    expect((await collect(ledger.list())).map(keyOf).sort()).toEqual(
      legacyRecords.map(keyOf).sort(),
    );
    expect((await collect(ledger.list({ hub: 'hub-b' }))).map(keyOf).sort()).toEqual(
      [oddId, chunked].map(keyOf).sort(),
    );
    expect((await ledger.findByDeviceId("dev#3 o'k")).map(keyOf)).toEqual([keyOf(oddId)]);
    const dueNow = await collect(ledger.actionsDueBefore(T));
    expect(dueNow.sort((a, b) => a.actionAt.localeCompare(b.actionAt))).toEqual(
      [dueSoon, oddId, chunked].map(entryOf),
    );
    // The sweep reads the index in order: the legacy entries are merged in, in that order.
    const moved = {
      ...aRecord({ hub: 'hub-a', deviceId: 'new-1' }),
      ...dueAt(dueSoon.renewalDueAt!),
    };
    await ledger.write(moved, undefined);
    const inOrder = await collect(ledger.actionsInOrder({ before: T }));
    expect(inOrder.map((e) => `${e.actionAt} ${e.hub}/${e.deviceId}`)).toEqual(
      [...dueNow, entryOf(moved)].map((e) => `${e.actionAt} ${e.hub}/${e.deviceId}`).sort(),
    );
    expect(await collect(ledger.actionsInOrder({ before: T, limit: 2 }))).toHaveLength(2);
  });

  it('refuses to create a record over one the legacy tables still hold, so a write without a read cannot hide it', async () => {
    const { ledger, devices, due } = aMigratingLedger();
    await seedLegacyLedger({ devices, due }, legacyRecords);
    const fresh = aRecord({ hub: dueSoon.hub, deviceId: dueSoon.deviceId });

    await expect(ledger.write(fresh, undefined)).rejects.toBeInstanceOf(WriteConflict);

    expect((await ledger.read(dueSoon))?.value).toEqual(dueSoon);
    const migrated = await ledger.migrateLegacy();
    expect(migrated).toMatchObject({ moved: legacyRecords.length, alreadyMoved: 0, left: 0 });
    expect((await ledger.read(dueSoon))?.value).toEqual(dueSoon);
  });

  it("goes on after a legacy record's place with the legacy records after it, and after a new record's place with the rest", async () => {
    const { ledger, devices, due } = aMigratingLedger();
    await seedLegacyLedger({ devices, due }, legacyRecords);
    const moved = aRecord({ hub: 'hub-0', deviceId: 'new-1' });
    await ledger.write(moved, undefined);
    const all = (await collect(ledger.list())).map(keyOf);
    expect(all[0]).toBe(keyOf(moved));

    for (let i = 0; i < all.length; i += 1) {
      const [hub, deviceId] = [all[i]!.split('/')[0]!, all[i]!.split('/').slice(1).join('/')];
      const rest = (await collect(ledger.list({ after: { hub, deviceId } }))).map(keyOf);
      expect(rest).toEqual(all.slice(i + 1));
    }
  });

  it('moves a legacy record into the new table on its next write, with its index row, and out of both legacy tables', async () => {
    const { ledger, ledgerTable, devices, due } = aMigratingLedger();
    await seedLegacyLedger({ devices, due }, legacyRecords);
    const key = { hub: dueSoon.hub, deviceId: dueSoon.deviceId };
    const legacy = await ledger.read(key);

    // A write that leaves the next action where it was: the index row must still be made.
    const seen = { ...dueSoon, lastSeenAt: NOW };
    const etag = await ledger.write(seen, legacy);

    expect(await ledger.read(key)).toEqual({ value: seen, etag });
    const row = await tableClient(ledgerTable).getEntity(
      devicePartition(key),
      escapeKey(key.deviceId),
    );
    expect(row.etag).toBe(etag);
    expect(await indexRowsOf(ledgerTable, key)).toEqual([
      indexRowKey(entryOf(dueSoon).actionAt, key.deviceId),
    ]);
    expect((await rowsOf(devices.tableName)).map((r) => r.split('/')[1])).not.toContain(
      escapeKey(key.deviceId),
    );
    const legacyDue = await collect(due.listEntities<{ deviceId: string }>());
    expect(legacyDue.map((e) => e.deviceId).sort()).toEqual(
      ['gateway-4', "dev#3 o'k", 'old-2'].sort(),
    );
    // Listed and indexed once, from the new table.
    expect((await collect(ledger.list())).filter((r) => r.deviceId === key.deviceId)).toHaveLength(
      1,
    );
    expect(
      (await collect(ledger.actionsDueBefore(T))).filter((e) => e.deviceId === key.deviceId),
    ).toEqual([entryOf(seen)]);
  });

  it('migrates the rest, counts what the app already moved without overwriting it, drops both legacy tables, and does nothing the second time', async () => {
    const { ledger, ledgerTable, devices, due, prefix } = aMigratingLedger();
    await seedLegacyLedger({ devices, due }, legacyRecords);
    // The app moved old-2 by writing it, then stopped before removing the legacy row.
    const key = { hub: dueLater.hub, deviceId: dueLater.deviceId };
    const moved = { ...dueLater, ...dueAt('2026-12-22T00:00:00.000Z') };
    await ledger.write(moved, await ledger.read(key));
    await seedLegacyLedger({ devices, due }, [dueLater]);

    const counts = await ledger.migrateLegacy();

    expect(counts).toEqual({ moved: 4, alreadyMoved: 1, left: 0, legacyDropped: true });
    expect(await tableNamesUnder(prefix)).toEqual([ledgerTable]);
    const expected = legacyRecords.map((r) => (r === dueLater ? moved : r));
    const listed = await collect(ledger.list());
    expect(listed.map(keyOf)).toEqual(expected.map(keyOf).sort());
    for (const record of expected) {
      expect((await ledger.read(record))?.value).toEqual(record);
      const entry = renewalIndexEntry(record);
      expect(await indexRowsOf(ledgerTable, record)).toEqual(
        entry ? [indexRowKey(entry.actionAt, record.deviceId)] : [],
      );
    }
    const everything = await collect(ledger.actionsDueBefore('2030-01-01T00:00:00.000Z'));
    expect(everything.map((e) => `${e.hub}/${e.deviceId}`).sort()).toEqual(
      [dueSoon, moved, oddId, chunked].map(keyOf).sort(),
    );

    expect(await ledger.migrateLegacy()).toEqual({
      moved: 0,
      alreadyMoved: 0,
      left: 0,
      legacyDropped: false,
    });
    // Another process finds nothing to move either, and makes no legacy table again.
    const again = new TableCertificateLedger(
      tableClient(ledgerTable),
      new LegacyLedgerTables(tableClient(`${prefix}devices`), tableClient(`${prefix}due`)),
    );
    expect(await again.migrateLegacy()).toEqual({
      moved: 0,
      alreadyMoved: 0,
      left: 0,
      legacyDropped: false,
    });
    expect((await collect(again.list())).map(keyOf)).toEqual(expected.map(keyOf).sort());
    expect(await tableNamesUnder(prefix)).toEqual([ledgerTable]);
  });

  it('drops legacy tables that hold no record but a stale index entry, moving nothing', async () => {
    const { ledger, devices, due, prefix } = aMigratingLedger();
    await seedLegacyLedger({ devices, due }, [dueSoon]);
    const [deviceRow] = await collect(devices.listEntities());
    await devices.deleteEntity(String(deviceRow?.partitionKey), String(deviceRow?.rowKey));
    expect(await collect(due.listEntities())).toHaveLength(1);

    expect(await ledger.migrateLegacy()).toEqual({
      moved: 0,
      alreadyMoved: 0,
      left: 0,
      legacyDropped: true,
    });
    const left = await tableNamesUnder(prefix);
    expect(left).not.toContain(devices.tableName);
    expect(left).not.toContain(due.tableName);
    expect(await collect(ledger.list())).toEqual([]);
  });

  it('leaves a record the new table refuses where it was, counted, keeps the legacy tables, and moves the rest', async () => {
    const { ledger, ledgerTable, devices, due, prefix } = aMigratingLedger();
    // Its hub fits a legacy PartitionKey (Azurite takes 512 characters) but not with `~NN` after
    // (and, so long, never fitted a legacy due entry's RowKey: it has no certificate).
    const tooLong = aRecord({ hub: 'h'.repeat(510), deviceId: 'meter-9' });
    await seedLegacyLedger({ devices, due }, [dueSoon, tooLong, oddId]);

    expect(await ledger.migrateLegacy()).toEqual({
      moved: 2,
      alreadyMoved: 0,
      left: 1,
      legacyDropped: false,
    });
    expect(await tableNamesUnder(prefix)).toEqual(
      [`${prefix}devices`, `${prefix}due`, ledgerTable].sort(),
    );
    expect((await ledger.read(tooLong))?.value).toEqual(tooLong);
    expect((await collect(devices.listEntities())).map((e) => e['deviceId'])).toEqual(['meter-9']);
    expect(await collect(due.listEntities())).toEqual([]);
    for (const record of [dueSoon, oddId])
      expect((await ledger.read(record))?.value).toEqual(record);
    expect((await collect(ledger.list())).map(keyOf)).toEqual([dueSoon, oddId, tooLong].map(keyOf));

    // Run again, it finds only the refused record, and still keeps the tables.
    expect(await ledger.migrateLegacy()).toEqual({
      moved: 0,
      alreadyMoved: 0,
      left: 1,
      legacyDropped: false,
    });
  });

  it('treats a write over a legacy version the migration has moved meanwhile as a WriteConflict, keeping what was moved', async () => {
    const { ledger, devices, due } = aMigratingLedger();
    await seedLegacyLedger({ devices, due }, [dueSoon]);
    const legacy = await ledger.read(dueSoon);

    await ledger.migrateLegacy();

    await expect(ledger.write({ ...dueSoon, lastSeenAt: NOW }, legacy)).rejects.toMatchObject({
      name: 'WriteConflict',
    });
    const now = await ledger.read(dueSoon);
    expect(now?.value).toEqual(dueSoon);
    await ledger.write({ ...dueSoon, lastSeenAt: NOW }, now);
    expect((await ledger.read(dueSoon))?.value.lastSeenAt).toBe(NOW);
  });

  it('asks again whether the legacy tables hold records when the first look failed for a passing fault', async () => {
    const prefix = freshPrefix();
    const devices = tableClient(`${prefix}devices`);
    const due = tableClient(`${prefix}due`);
    await seedLegacyLedger({ devices, due }, [dueSoon]);
    // The first request to the legacy devices table meets a 503 (after the SDK's own retries).
    let failures = 1;
    const policy: PipelinePolicy = {
      name: 'certfleet-test-first-request-fails',
      async sendRequest(request, next) {
        if (failures > 0) {
          failures -= 1;
          throw Object.assign(new Error('Service Unavailable'), {
            name: 'RestError',
            statusCode: 503,
          });
        }
        return next(request);
      },
    };
    const flaky = TableClient.fromConnectionString(azuriteConnectionString(), `${prefix}devices`, {
      allowInsecureConnection: true,
      additionalPolicies: [{ policy, position: 'perCall' }],
    });
    const ledger = new TableCertificateLedger(
      tableClient(`${prefix}ledger`),
      new LegacyLedgerTables(flaky, due),
    );

    await expect(ledger.read(dueSoon)).rejects.toMatchObject({ name: 'TransientFault' });

    expect((await ledger.read(dueSoon))?.value).toEqual(dueSoon);
    expect((await collect(ledger.actionsDueBefore(T))).map((e) => e.deviceId)).toEqual(['old-1']);
  });
});
