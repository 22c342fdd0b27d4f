import { BlobAuditTrail } from '../../../shared/adapters/storage/BlobAuditTrail';
import { shardOf } from '../../../shared/adapters/storage/storageKeys';
import { AuditEntry } from '../../../shared/domain/AuditEntry';
import { ChainedAuditRecord } from '../../../shared/domain/AuditChain';
import { BlobServiceClient } from '@azure/storage-blob';
import { containerClient, freshPrefix } from '../../support/rawStorage';
import { responseDroppingProxy } from '../../support/responseDroppingProxy';
import { AUDIT_DAY, AUDIT_HUB, anAuditEntry } from '../../support/auditEntries';

const HUB = AUDIT_HUB;
const DAY = AUDIT_DAY;

const anEntry = anAuditEntry;

function aTrail(shards = 1) {
  const name = `${freshPrefix()}-audit`;
  return { trail: new BlobAuditTrail(containerClient(name), shards), container: name };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function blobNames(container: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of containerClient(container).listBlobsFlat()) names.push(blob.name);
  return names.sort();
}

async function linesOf(container: string, name: string): Promise<string[]> {
  const text = (await containerClient(container).getBlobClient(name).downloadToBuffer()).toString(
    'utf8',
  );
  return text.split('\n').filter((line) => line !== '');
}

describe('BlobAuditTrail on Azurite', () => {
  it('files each entry under YYYY/MM/DD/shard-NN.jsonl of the UTC date it occurred', async () => {
    const shards = 4;
    const { trail, container } = aTrail(shards);
    const lateOn23rd = anEntry({ deviceId: 'meter-1', occurredAt: '2026-11-23T23:59:59.999Z' });
    const earlyOn24th = anEntry({ deviceId: 'meter-1', occurredAt: '2026-11-24T00:00:00.000Z' });
    const newYear = anEntry({ deviceId: 'meter-2', occurredAt: '2027-01-01T00:00:00.000Z' });

    await trail.append([lateOn23rd, earlyOn24th, newYear], { mayAlreadyBeWritten: false });

    const shard = (deviceId: string) =>
      `shard-${String(shardOf(HUB, deviceId, shards)).padStart(2, '0')}`;
    expect(await blobNames(container)).toEqual([
      `2026/11/23/${shard('meter-1')}.jsonl`,
      `2026/11/24/${shard('meter-1')}.jsonl`,
      `2027/01/01/${shard('meter-2')}.jsonl`,
    ]);
    const [line] = await linesOf(container, `2026/11/24/${shard('meter-1')}.jsonl`);
    expect(JSON.parse(line ?? '{}')).toMatchObject({ ...earlyOn24th, seq: 1 });
  });

  it('spreads the devices of one day over shards, each blob with a chain of its own', async () => {
    const { trail, container } = aTrail(4);
    const entries = Array.from({ length: 24 }, (_, i) => anEntry({ deviceId: `sensor-${i}` }));

    await trail.append(entries, { mayAlreadyBeWritten: false });

    const names = await blobNames(container);
    expect(names.length).toBeGreaterThan(1);
    expect(names.every((n) => /^2026\/11\/23\/shard-0[0-3]\.jsonl$/.test(n))).toBe(true);
    const verification = await trail.verifyDate(DAY);
    expect(verification.blobs.map((b) => b.name)).toEqual(names);
    expect(verification.blobs.every((b) => b.result.ok)).toBe(true);
    expect(verification.blobs.reduce((sum, b) => sum + b.result.records, 0)).toBe(24);
  });

  it('continues the hash chain across appends, with contiguous sequence numbers', async () => {
    const { trail } = aTrail();
    const batches = [[anEntry(), anEntry(), anEntry()], [anEntry(), anEntry()], [anEntry()]];

    for (const batch of batches) await trail.append(batch, { mayAlreadyBeWritten: false });

    const verification = await trail.verifyDate(DAY);
    expect(verification.blobs).toHaveLength(1);
    expect(verification.blobs[0]?.result).toMatchObject({ ok: true, records: 6 });
    const records = (await collect(trail.readDate(DAY))) as ChainedAuditRecord[];
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records.map((r) => r.id)).toEqual(batches.flat().map((e) => e.id));
    // The first record of the second append links to the last of the first.
    expect(records[3]?.prevHash).toBe(records[2]?.hash);
  });

  it('keeps one valid chain, losing and doubling nothing, when two instances append concurrently', async () => {
    const { container } = aTrail();
    // Two Function instances (separate clients and adapters on one container) racing 30
    // appends onto one blob: every append is conditional on the position it read.
    const first = new BlobAuditTrail(containerClient(container), 1);
    const second = new BlobAuditTrail(containerClient(container), 1);
    const batches = Array.from({ length: 30 }, (_, i) => [
      anEntry({ deviceId: `sensor-${i}` }),
      anEntry({ deviceId: `sensor-${i}` }),
    ]);

    await Promise.all(
      batches.map((batch, i) =>
        (i % 2 === 0 ? first : second).append(batch, { mayAlreadyBeWritten: false }),
      ),
    );

    const verification = await first.verifyDate(DAY);
    expect(verification.blobs).toHaveLength(1);
    expect(verification.blobs[0]?.result).toMatchObject({ ok: true, records: batches.length * 2 });
    const records = (await collect(second.readDate(DAY))) as ChainedAuditRecord[];
    expect(records.map((r) => r.seq)).toEqual(
      Array.from({ length: batches.length * 2 }, (_, i) => i + 1),
    );
    expect(records.map((r) => r.id).sort()).toEqual(
      batches
        .flat()
        .map((e) => e.id)
        .sort(),
    );
    // An append is one block: the two entries of a batch stay next to each other.
    for (const batch of batches) {
      const at = records.findIndex((r) => r.id === batch[0]?.id);
      expect(records[at + 1]?.id).toBe(batch[1]?.id);
    }
  });

  it('writes a record once when its append succeeded but the response was lost and the SDK retried', async () => {
    let appendBlocks = 0;
    const proxy = await responseDroppingProxy(
      (request) =>
        request.method === 'PUT' &&
        /comp=appendblock/.test(request.url ?? '') &&
        (appendBlocks += 1) === 2,
    );
    try {
      const client = BlobServiceClient.fromConnectionString(proxy.connectionString, {
        retryOptions: { retryDelayInMs: 1, maxRetryDelayInMs: 10 },
      }).getContainerClient(`${freshPrefix()}-audit`);
      const trail = new BlobAuditTrail(client, 1);
      const first = [anEntry(), anEntry()];
      const second = [anEntry()];
      const third = [anEntry()];

      for (const batch of [first, second, third])
        await trail.append(batch, { mayAlreadyBeWritten: false });

      expect(proxy.dropped).toEqual([expect.objectContaining({ method: 'PUT', status: 201 })]);
      const ids = (await collect(trail.readDate(DAY))).map((e) => e.id);
      expect(ids).toEqual([...first, ...second, ...third].map((e) => e.id));
      expect((await trail.verifyDate(DAY)).blobs[0]?.result).toMatchObject({ ok: true });
    } finally {
      await proxy.close();
    }
  });

  it('skips entries already in the blob when told they may already be written', async () => {
    const { trail } = aTrail();
    const written = [anEntry(), anEntry()];
    await trail.append(written, { mayAlreadyBeWritten: false });

    const fresh = anEntry();
    await trail.append([...written, fresh], { mayAlreadyBeWritten: true });
    await trail.append([...written, fresh], { mayAlreadyBeWritten: true });

    const ids = (await collect(trail.readDate(DAY))).map((e) => e.id);
    expect(ids).toEqual([...written, fresh].map((e) => e.id));
    expect((await trail.verifyDate(DAY)).blobs[0]?.result).toMatchObject({ ok: true, records: 3 });
  });

  it('writes an entry once when one append names it twice', async () => {
    const { trail } = aTrail();
    const entry = anEntry();

    await trail.append([entry, entry], { mayAlreadyBeWritten: false });

    expect((await collect(trail.readDate(DAY))).map((e) => e.id)).toEqual([entry.id]);
  });

  it('reports the line of a record edited after it was written', async () => {
    const { trail, container } = aTrail();
    await trail.append([anEntry(), anEntry(), anEntry(), anEntry(), anEntry()], {
      mayAlreadyBeWritten: false,
    });
    const [name] = await blobNames(container);
    if (!name) throw new Error('no audit blob written');

    // Someone with write access rewrites history: line 3 now names another certificate.
    const lines = await linesOf(container, name);
    const edited = JSON.parse(lines[2] ?? '{}') as ChainedAuditRecord;
    edited.new = { ...edited.new, validUntil: '2027-12-23T00:00:00.000Z' } as AuditEntry['new'];
    lines[2] = JSON.stringify(edited);
    const content = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const blob = containerClient(container).getAppendBlobClient(name);
    await blob.delete();
    await blob.create();
    await blob.appendBlock(content, content.length);

    const verification = await trail.verifyDate(DAY);

    expect(verification.blobs).toEqual([
      {
        name,
        result: expect.objectContaining({
          ok: false,
          records: 4,
          breaks: [{ line: 3, problem: 'hash does not match the record' }],
        }),
      },
    ]);
  });

  it('reports the line where a deleted record leaves a gap', async () => {
    const { trail, container } = aTrail();
    await trail.append([anEntry(), anEntry(), anEntry(), anEntry()], {
      mayAlreadyBeWritten: false,
    });
    const [name] = await blobNames(container);
    if (!name) throw new Error('no audit blob written');

    const lines = await linesOf(container, name);
    lines.splice(1, 1);
    const content = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const blob = containerClient(container).getAppendBlobClient(name);
    await blob.delete();
    await blob.create();
    await blob.appendBlock(content, content.length);

    const [result] = (await trail.verifyDate(DAY)).blobs.map((b) => b.result);
    expect(result).toMatchObject({
      ok: false,
      records: 2,
      breaks: [{ line: 2, problem: 'expected seq 2, found 3' }],
    });
  });

  it('reads back the entries of one date, in order, and none of another', async () => {
    const { trail } = aTrail(2);
    const onDay = [
      anEntry({ deviceId: 'meter-1', type: 'certificate.first-seen' }),
      anEntry({ deviceId: 'meter-1', type: 'certificate.renewed' }),
      anEntry({ deviceId: 'meter-1', type: 'device.deleted' }),
    ];
    const nextDay = anEntry({ deviceId: 'meter-1', occurredAt: '2026-11-24T08:00:00.000Z' });
    await trail.append([onDay[0] as AuditEntry, nextDay], { mayAlreadyBeWritten: false });
    await trail.append(onDay.slice(1), { mayAlreadyBeWritten: false });

    const read = await collect(trail.readDate(`${DAY}T00:00:00.000Z`));

    expect(read).toHaveLength(3);
    read.forEach((entry, i) => expect(entry).toMatchObject(onDay[i] as AuditEntry));
    expect(await collect(trail.readDate('2026-11-22'))).toEqual([]);
    expect((await trail.verifyDate('2026-11-22')).blobs).toEqual([]);
  });
});

describe('BlobAuditTrail at the edges of append blobs', () => {
  afterEach(() => jest.restoreAllMocks());

  it('writes an entry once when two instances append it as fresh (a lease handover)', async () => {
    const { trail, container } = aTrail();
    const other = new BlobAuditTrail(containerClient(container), 1);
    const entry = anEntry({ id: 'audit-handover' });

    await trail.append([entry], { mayAlreadyBeWritten: false });
    await other.append([entry, anEntry({ id: 'audit-next' })], { mayAlreadyBeWritten: false });

    const ids = (await collect(trail.readDate(DAY))).map((e) => e.id);
    expect(ids).toEqual(['audit-handover', 'audit-next']);
  });

  it('goes on in a new segment, its chain verified, when a blob has taken its 50,000 blocks', async () => {
    const { trail, container } = aTrail();
    await trail.append([anEntry({ id: 'audit-1' })], { mayAlreadyBeWritten: false });
    const { AppendBlobClient, RestError } = await import('@azure/storage-blob');
    const real = AppendBlobClient.prototype.appendBlock;
    jest.spyOn(AppendBlobClient.prototype, 'appendBlock').mockImplementation(function (
      this: InstanceType<typeof AppendBlobClient>,
      ...args: Parameters<typeof real>
    ) {
      if (this.name.endsWith('shard-00.jsonl')) {
        return Promise.reject(
          new RestError(
            'The committed block count cannot exceed the maximum limit of 50,000 blocks.',
            {
              statusCode: 409,
              code: 'BlockCountExceedsLimit',
            },
          ),
        );
      }
      return real.apply(this, args);
    });

    await trail.append([anEntry({ id: 'audit-2' }), anEntry({ id: 'audit-3' })], {
      mayAlreadyBeWritten: false,
    });

    expect((await blobNames(container)).sort()).toEqual([
      '2026/11/23/shard-00.1.jsonl',
      '2026/11/23/shard-00.jsonl',
    ]);
    const verification = await trail.verifyDate(DAY);
    expect(verification.blobs.map((b) => [b.name, b.result.ok, b.result.records])).toEqual([
      ['2026/11/23/shard-00.jsonl', true, 1],
      ['2026/11/23/shard-00.1.jsonl', true, 2],
    ]);
    // A new process finds the newest segment and its entries when checking for duplicates.
    jest.restoreAllMocks();
    const restarted = new BlobAuditTrail(containerClient(container), 1);
    await restarted.append([anEntry({ id: 'audit-3' }), anEntry({ id: 'audit-4' })], {
      mayAlreadyBeWritten: true,
    });
    // Segments are read in the order they were written.
    expect((await collect(restarted.readDate(DAY))).map((e) => e.id)).toEqual([
      'audit-1',
      'audit-2',
      'audit-3',
      'audit-4',
    ]);
  });
});
