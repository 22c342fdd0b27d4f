import { BlobDeadLetters } from '../../../shared/adapters/storage/BlobDeadLetters';
import { TableCertificateLedger } from '../../../shared/adapters/storage/TableCertificateLedger';
import { TablePacingStore } from '../../../shared/adapters/storage/TablePacingStore';
import { DeadLetter, RecordRejected } from '../../../shared/app/ports';
import { DeviceKey } from '../../../shared/domain/DeviceKey';
import { initialPacing } from '../../../shared/domain/renewal/Pacing';
import { containerClient, freshPrefix, tableClient } from '../../support/rawStorage';
import { aRecord, dueAt } from '../../support/ledgerRecords';

/**
 * The storage adapters against Azurite's real answers: a record storage can never hold is a
 * RecordRejected (its events are dead-lettered, the partition goes on), a table or container
 * deleted after start-up is created again on the call that finds it gone, and devices whose
 * joined `${hub}/${deviceId}` names collide stay apart in table keys and blob names.
 */
const NOW = '2026-11-23T12:00:00.000Z';

function aLedger() {
  const ledgerTable = `${freshPrefix()}ledger`;
  const ledger = new TableCertificateLedger(tableClient(ledgerTable));
  return { ledger, ledgerTable };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function aLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    id: 'f00d',
    code: 'malformed-body',
    reason: 'twin body must be a JSON object',
    receivedAt: NOW,
    hub: 'contoso-hub',
    deviceId: 'thermostat-0001',
    message: { body: 'x' },
    ...overrides,
  };
}

describe('a record storage can never hold, on Azurite', () => {
  it('rejects the record of a 1,000-character device id (400 InvalidInput on its keys) as RecordRejected', async () => {
    const { ledger } = aLedger();
    const key = { hub: 'contoso-hub', deviceId: 'x'.repeat(1000) };

    const failure = await ledger
      .write(aRecord(key, dueAt('2026-11-30T00:00:00.000Z')), undefined)
      .catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(RecordRejected);
    expect((failure as Error).message).toMatch(/storage can never accept it \(400 InvalidInput\)$/);
  });

  it('still writes other devices after one was rejected', async () => {
    const { ledger } = aLedger();
    await ledger
      .write(aRecord({ hub: 'contoso-hub', deviceId: 'é'.repeat(1000) }), undefined)
      .catch(() => undefined);

    await ledger.write(aRecord({ hub: 'contoso-hub', deviceId: 'meter-1' }), undefined);

    expect((await ledger.read({ hub: 'contoso-hub', deviceId: 'meter-1' }))?.value.deviceId).toBe(
      'meter-1',
    );
  });

  it('rejects an id holding a lone surrogate instead of storing it altered, and finds no such record', async () => {
    const { ledger } = aLedger();
    const key = { hub: 'contoso-hub', deviceId: 'dev\ud800' };

    await expect(ledger.write(aRecord(key), undefined)).rejects.toBeInstanceOf(RecordRejected);
    expect(await ledger.read(key)).toBeUndefined();
    expect(await ledger.findByDeviceId('dev\ud800')).toEqual([]);
    // Nothing was stored under the id UTF-8 would have made of it.
    expect(await ledger.read({ hub: 'contoso-hub', deviceId: 'dev\ufffd' })).toBeUndefined();
  });
});

describe('a table or container deleted after start-up, on Azurite', () => {
  it('creates the ledger table again on the read that finds it gone, and writes the record', async () => {
    const { ledger, ledgerTable } = aLedger();
    const key = { hub: 'contoso-hub', deviceId: 'meter-1' };
    await ledger.write(aRecord(key), undefined);
    await tableClient(ledgerTable).deleteTable();

    expect(await ledger.read(key)).toBeUndefined();
    await ledger.write(aRecord(key, { lifecycle: 'active' }), undefined);

    expect((await ledger.read(key))?.value.deviceId).toBe('meter-1');
  });

  // The renewal index lives in the ledger table (one table since the partitioned layout), so
  // the write that finds the table gone must bring back the record, its index row and its hub.
  it('creates the ledger table again on the write that finds it gone, with the index row and the hub it names', async () => {
    const { ledger, ledgerTable } = aLedger();
    const key = { hub: 'contoso-hub', deviceId: 'meter-1' };
    await ledger.write(aRecord({ ...key, deviceId: 'first' }), undefined);
    await tableClient(ledgerTable).deleteTable();

    await ledger.write(aRecord(key, dueAt('2026-11-30T00:00:00.000Z')), undefined);

    const due = await collect(ledger.actionsDueBefore('2026-12-01T00:00:00.000Z'));
    expect(due.map((e) => e.deviceId)).toEqual(['meter-1']);
    expect((await collect(ledger.list())).map((r) => r.deviceId)).toEqual(['meter-1']);
  });

  it('answers an empty list and an empty index when the table is gone, and creates it again', async () => {
    const { ledger, ledgerTable } = aLedger();
    await ledger.write(
      aRecord({ hub: 'contoso-hub', deviceId: 'meter-1' }, dueAt('2026-11-30T00:00:00.000Z')),
      undefined,
    );
    await tableClient(ledgerTable).deleteTable();

    expect(await collect(ledger.list())).toEqual([]);
    expect(await collect(ledger.actionsDueBefore('2027-01-01T00:00:00.000Z'))).toEqual([]);
    expect(await collect(ledger.list({ hub: 'contoso-hub' }))).toEqual([]);
    await ledger.write(aRecord({ hub: 'contoso-hub', deviceId: 'meter-2' }), undefined);
    expect((await collect(ledger.list())).map((r) => r.deviceId)).toEqual(['meter-2']);
  });

  it('treats a record deleted with its table between read and write as changed: read and decide again', async () => {
    const { ledger, ledgerTable } = aLedger();
    const key = { hub: 'contoso-hub', deviceId: 'meter-1' };
    await ledger.write(aRecord(key), undefined);
    const stored = await ledger.read(key);
    await tableClient(ledgerTable).deleteTable();

    await expect(ledger.write(aRecord(key, { lifecycle: 'active' }), stored)).rejects.toMatchObject(
      {
        name: 'WriteConflict',
      },
    );
    await ledger.write(aRecord(key, { lifecycle: 'active' }), await ledger.read(key));
    expect((await ledger.read(key))?.value.lifecycle).toBe('active');
  });

  it('creates the pacing state table again', async () => {
    const name = `${freshPrefix()}state`;
    const store = new TablePacingStore(tableClient(name));
    expect(await store.read()).toBeUndefined();
    await tableClient(name).deleteTable();

    expect(await store.read()).toBeUndefined();
    await store.write(initialPacing(NOW), undefined);
    expect(await store.read()).toBeDefined();
  });

  it('creates the dead-letter container again on the put that finds it gone', async () => {
    const name = `${freshPrefix()}-deadletters`;
    const letters = new BlobDeadLetters(containerClient(name));
    await letters.put(aLetter({ id: 'first' }));
    await containerClient(name).delete();

    await letters.put(aLetter({ id: 'second' }));

    expect((await collect(letters.list())).map((l) => l.id)).toEqual(['second']);
  });

  it('lists no dead letters, rather than failing, when the container is gone', async () => {
    const name = `${freshPrefix()}-deadletters`;
    const letters = new BlobDeadLetters(containerClient(name));
    await letters.put(aLetter());
    await containerClient(name).delete();

    expect(await collect(letters.list())).toEqual([]);
  });
});

/** Devices that one `${hub}/${deviceId}` string would merge. */
const COLLIDING: [DeviceKey, DeviceKey][] = [
  [
    { hub: 'a/x', deviceId: 'd' },
    { hub: 'a', deviceId: 'x/d' },
  ],
  [
    { hub: 'a~x', deviceId: 'd' },
    { hub: 'a', deviceId: 'x~d' },
  ],
];

describe('devices whose joined names collide, on Azurite', () => {
  it.each(COLLIDING)(
    'keeps %j and %j apart in the ledger and the renewal index',
    async (one, other) => {
      const { ledger } = aLedger();
      await ledger.write(aRecord(one, dueAt('2026-11-30T00:00:00.000Z')), undefined);
      await ledger.write(aRecord(other, dueAt('2026-11-30T00:00:00.000Z')), undefined);

      expect((await ledger.read(one))?.value).toMatchObject(one);
      expect((await ledger.read(other))?.value).toMatchObject(other);
      const listed = (await collect(ledger.list())).map((r) => ({
        hub: r.hub,
        deviceId: r.deviceId,
      }));
      expect(listed).toHaveLength(2);
      expect(listed).toEqual(expect.arrayContaining([one, other]));
      const due = await collect(ledger.actionsDueBefore('2026-12-01T00:00:00.000Z'));
      expect(due.map((e) => ({ hub: e.hub, deviceId: e.deviceId }))).toEqual(
        expect.arrayContaining([one, other]),
      );
      expect(due).toHaveLength(2);
    },
  );

  it.each(COLLIDING)('keeps the dead letters of %j and %j in two blobs', async (one, other) => {
    const name = `${freshPrefix()}-deadletters`;
    const letters = new BlobDeadLetters(containerClient(name));
    await letters.put(aLetter({ id: 'one', ...one }));
    await letters.put(aLetter({ id: 'other', ...other }));

    const stored = await collect(letters.list());
    expect(stored.map((l) => ({ hub: l.hub, deviceId: l.deviceId }))).toEqual(
      expect.arrayContaining([one, other]),
    );
    const blobs = await collect(containerClient(name).listBlobsFlat());
    expect(new Set(blobs.map((b) => b.name)).size).toBe(2);
  });
});
