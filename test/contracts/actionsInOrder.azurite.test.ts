import { TableClient, TableTransaction } from '@azure/data-tables';
import { ActionEntry } from '../../shared/app/ports';
import { escapeKey, hubPartitions } from '../../shared/adapters/storage/storageKeys';
import { readActionsInOrder } from '../../shared/adapters/storage/dueIndexReads';
import { freshPrefix, tableClient, tableRequestLog } from '../support/rawStorage';
import {
  ModelledIndexTable,
  actionsInOrderContract,
  at,
  collect,
  entry,
} from './actionsInOrderContract';

/**
 * The Table reads of the renewal index (dueIndexReads.ts) against Azurite, on rows laid out as
 * the ledger table lays them out (storageKeys.ts): index rows beside device rows in each hub's
 * 16 partitions.
 */
async function tableWith(entries: readonly ActionEntry[], table: TableClient): Promise<void> {
  const modelled = new ModelledIndexTable();
  modelled.put(entries);
  for (const [partitionKey, rows] of modelled.partitions) {
    // A device row beside each index row, as the ledger keeps them: never read as index rows.
    const deviceRows = rows.map((r) => ({
      partitionKey,
      rowKey: escapeKey(String(r.deviceId)),
      doc: '{}',
    }));
    const all = [...rows, ...deviceRows] as { partitionKey: string; rowKey: string }[];
    for (let i = 0; i < all.length; i += 100) {
      const transaction = new TableTransaction();
      for (const row of all.slice(i, i + 100)) transaction.upsertEntity(row, 'Replace');
      await table.submitTransaction(transaction.actions);
    }
  }
}

const HUBS = ['hub-a', 'hub-b', 'Hub-c'];

describe('actionsInOrder over the ledger table (dueIndexReads.ts), on Azurite', () => {
  actionsInOrderContract(async () => {
    const table = tableClient(`${freshPrefix()}ledger`);
    await table.createTable();
    return {
      put: (entries) => tableWith(entries, table),
      read: (range) =>
        readActionsInOrder(
          table,
          HUBS.flatMap((hub) => hubPartitions(hub)),
          range,
        ),
    };
  }, [4, 25]);

  it('asks one page per partition for a small limit, and the service returns about what is asked', async () => {
    const log = tableRequestLog();
    const table = tableClient(`${freshPrefix()}ledger`, log);
    await table.createTable();
    await tableWith(
      Array.from({ length: 1_600 }, (_, i) => entry('hub-a', `device-${i}`, i)),
      table,
    );
    log.clear();
    const counts = { requests: 0, entities: 0 };

    const read = await collect(
      readActionsInOrder(table, hubPartitions('hub-a'), { before: at(5_000), limit: 40 }, counts),
    );

    expect(read.map((e) => e.deviceId)).toEqual(
      Array.from({ length: 40 }, (_, i) => `device-${i}`),
    );
    expect(log.requests.length).toBe(counts.requests);
    expect(log.entitiesReturned()).toBe(counts.entities);
    expect(counts.requests).toBeLessThanOrEqual(20);
    expect(counts.entities).toBeLessThanOrEqual(120);
  });
});
