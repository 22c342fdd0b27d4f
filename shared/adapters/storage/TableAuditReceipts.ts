import { TableClient, TransactionAction } from '@azure/data-tables';
import { AuditReceipts } from '../../app/ports';
import { retryableOnce } from './retryableOnce';
import { classifyStorageAnswer, statusOf, storageCall } from './storageFaults';

/**
 * Audit receipts (shared/app/ReceiptedLedger.ts) in table `<prefix>state`, beside the pacing
 * state: PartitionKey `receipts-<UTC hour>` (the hour the tag was made in), RowKey the rest of
 * the tag. A batch's receipts share an hour, so they go in one transaction per hundred.
 */
const PER_TRANSACTION = 100;

export class TableAuditReceipts implements AuditReceipts {
  private readonly ensureTable = retryableOnce(() =>
    storageCall('create state table', async () => {
      await this.table.createTable();
    }),
  );

  private readonly recreate = { recreate: () => this.ensureTable.again() };

  constructor(private readonly table: TableClient) {}

  async has(tag: string): Promise<boolean> {
    const keys = keysOf(tag);
    if (!keys) return false;
    await this.ensureTable();
    return storageCall(
      'read audit receipt',
      async () => {
        try {
          await this.table.getEntity(keys.partitionKey, keys.rowKey, {
            queryOptions: { select: ['RowKey'] },
          });
          return true;
        } catch (error) {
          if (statusOf(error) === 404 && classifyStorageAnswer(error) !== 'missing-resource')
            return false;
          throw error;
        }
      },
      this.recreate,
    );
  }

  async record(tags: readonly string[]): Promise<void> {
    const byPartition = new Map<string, TransactionAction[]>();
    for (const tag of new Set(tags)) {
      const keys = keysOf(tag);
      if (!keys) throw new Error(`not an audit tag: ${JSON.stringify(tag.slice(0, 60))}`);
      const actions = byPartition.get(keys.partitionKey) ?? [];
      actions.push(['upsert', keys, 'Replace']);
      byPartition.set(keys.partitionKey, actions);
    }
    if (byPartition.size === 0) return;
    await this.ensureTable();
    for (const actions of byPartition.values()) {
      for (let i = 0; i < actions.length; i += PER_TRANSACTION) {
        const chunk = actions.slice(i, i + PER_TRANSACTION);
        await storageCall(
          'write audit receipts',
          async () => {
            await this.table.submitTransaction(chunk);
          },
          this.recreate,
        );
      }
    }
  }
}

/** `2026-12-02T05~<uuid>` -> its keys; anything else is no tag of ours. */
function keysOf(tag: string): { partitionKey: string; rowKey: string } | undefined {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2})~([0-9a-f-]{36})$/.exec(tag);
  if (!match) return undefined;
  return { partitionKey: `receipts-${match[1]}`, rowKey: match[2] as string };
}
