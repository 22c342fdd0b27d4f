import { randomUUID } from 'node:crypto';
import { TableAuditReceipts } from '../../../shared/adapters/storage/TableAuditReceipts';
import { freshPrefix, tableClient, tableRequestLog } from '../../support/rawStorage';

/** Audit receipts (shared/app/ReceiptedLedger.ts) in table `<prefix>state`, on Azurite. */

function someReceipts() {
  const table = `${freshPrefix()}state`;
  const log = tableRequestLog();
  return { receipts: new TableAuditReceipts(tableClient(table, log)), table, log };
}

/** A tag as ReceiptedLedger makes them: `<UTC hour>~<uuid>`. */
const aTag = (hour = '2026-11-26T12') => `${hour}~${randomUUID()}`;

const batches = (log: ReturnType<typeof tableRequestLog>) =>
  log.requests.filter((r) => r.method === 'POST' && r.url.includes('$batch'));

describe('TableAuditReceipts on Azurite', () => {
  it('finds a receipt once recorded, and none for a tag never recorded', async () => {
    const { receipts, table } = someReceipts();
    const [recorded, other] = [aTag(), aTag()];

    expect(await receipts.has(recorded)).toBe(false);
    await receipts.record([recorded]);

    expect(await receipts.has(recorded)).toBe(true);
    expect(await receipts.has(other)).toBe(false);
    // Another instance, on a client of its own, finds it too.
    expect(await new TableAuditReceipts(tableClient(table)).has(recorded)).toBe(true);
  });

  it('stores a receipt under the hour of its tag, in the state table', async () => {
    const { receipts, table } = someReceipts();
    const tag = aTag('2026-11-26T05');

    await receipts.record([tag]);

    const entities = [];
    for await (const entity of tableClient(table).listEntities()) entities.push(entity);
    expect(entities).toEqual([
      expect.objectContaining({
        partitionKey: 'receipts-2026-11-26T05',
        rowKey: tag.slice('2026-11-26T05~'.length),
      }),
    ]);
  });

  it('records 250 tags of one hour in three transactions, and finds every one', async () => {
    const { receipts, log } = someReceipts();
    const tags = Array.from({ length: 250 }, () => aTag());

    await receipts.record(tags);

    expect(batches(log)).toHaveLength(3);
    const found = await Promise.all(tags.map((tag) => receipts.has(tag)));
    expect(found.every(Boolean)).toBe(true);
  });

  it('records the tags of two hours, each hour in a transaction of its own', async () => {
    const { receipts, log } = someReceipts();
    const late = [aTag('2026-11-26T23'), aTag('2026-11-26T23')];
    const early = [aTag('2026-11-27T00'), aTag('2026-11-27T00')];

    await receipts.record([late[0]!, early[0]!, late[1]!, early[1]!]);

    expect(batches(log)).toHaveLength(2);
    for (const tag of [...late, ...early]) expect(await receipts.has(tag)).toBe(true);
    // The hour belongs to the key: the same uuid under another hour is another tag.
    expect(await receipts.has(`2026-11-26T22~${late[0]!.slice(-36)}`)).toBe(false);
  });

  it('records a tag twice without complaint (a redelivered receipt)', async () => {
    const { receipts } = someReceipts();
    const tag = aTag();

    await receipts.record([tag, tag]);
    await receipts.record([tag]);

    expect(await receipts.has(tag)).toBe(true);
  });

  it('creates its table again when it was deleted after start-up', async () => {
    const { receipts, table } = someReceipts();
    const before = aTag();
    await receipts.record([before]);
    await tableClient(table).deleteTable();

    expect(await receipts.has(before)).toBe(false);

    await tableClient(table).deleteTable();
    const after = aTag();
    await receipts.record([after]);

    expect(await receipts.has(after)).toBe(true);
  });

  it('refuses a malformed tag with a clear error, recording none of its batch', async () => {
    const { receipts, log } = someReceipts();
    const good = aTag();

    await expect(receipts.record([good, 'not-a-tag'])).rejects.toThrow(
      'not an audit tag: "not-a-tag"',
    );
    await expect(receipts.record(['2026-11-26T12~NOT-A-UUID'])).rejects.toThrow(/not an audit tag/);

    expect(batches(log)).toEqual([]);
    expect(await receipts.has(good)).toBe(false);
  });

  it('answers false for a malformed tag without asking storage', async () => {
    const { receipts, log } = someReceipts();

    for (const tag of ['', 'not-a-tag', '2026-11-26~abc', `2026-11-26T12~${'x'.repeat(36)}`])
      expect(await receipts.has(tag)).toBe(false);

    expect(log.requests).toEqual([]);
  });
});
