import { TableClient, TableEntity } from '@azure/data-tables';
import { mapWithConcurrency } from '../../shared/app/concurrency';
import { escapeKey, shardOf } from '../../shared/adapters/storage/storageKeys';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { renewalIndexEntry } from '../../shared/domain/renewal/renewalIndexEntry';

/**
 * Rows in the ledger's layout before the partitioned one, written by hand (not by the adapter),
 * so tests of the read-through and the migration read what the old code really stored:
 * `<prefix>devices` (PartitionKey the escaped hub, RowKey the escaped device id, the record's
 * JSON in `doc`, `doc1`… past 30,000 characters) and `<prefix>due` (PartitionKey `s00`…`s15`
 * by a hash of the device, RowKey `<actionAt>~<escaped hub>~<escaped device id>`).
 */
const OLD_CHUNK_CHARS = 30_000;

type Row<V> = TableEntity<Record<string, V>>;

export function legacyDeviceRow(record: DeviceRecord): Row<string | number> {
  const doc = JSON.stringify(record);
  const row: Row<string | number> = {
    partitionKey: escapeKey(record.hub),
    rowKey: escapeKey(record.deviceId),
    hub: record.hub,
    deviceId: record.deviceId,
    lifecycle: record.lifecycle,
    connectionState: record.connection.state,
    findings: record.findings.length,
    updatedAt: record.updatedAt,
    docChunks: Math.max(1, Math.ceil(doc.length / OLD_CHUNK_CHARS)),
  };
  if (record.current) row['validUntil'] = record.current.validUntil;
  if (record.renewalDueAt) row['renewalDueAt'] = record.renewalDueAt;
  for (let i = 0; i * OLD_CHUNK_CHARS < doc.length || i === 0; i += 1)
    row[i === 0 ? 'doc' : `doc${i}`] = doc.slice(i * OLD_CHUNK_CHARS, (i + 1) * OLD_CHUNK_CHARS);
  return row;
}

/** The record's entry in the old renewal index, or undefined when it had none. */
export function legacyDueRow(record: DeviceRecord): Row<string> | undefined {
  const entry = renewalIndexEntry(record);
  if (!entry) return undefined;
  const shard = String(shardOf(record.hub, record.deviceId, 16)).padStart(2, '0');
  const row: Row<string> = {
    partitionKey: `s${shard}`,
    rowKey: `${entry.actionAt}~${escapeKey(record.hub)}~${escapeKey(record.deviceId)}`,
    hub: entry.hub,
    deviceId: entry.deviceId,
    actionAt: entry.actionAt,
    validUntil: entry.validUntil,
    status: entry.status,
  };
  if (entry.renewalAt) row['renewalAt'] = entry.renewalAt;
  if (entry.alertCheckAt) row['alertCheckAt'] = entry.alertCheckAt;
  return row;
}

/** Stores records as the old layout did: each record's row and its due entry. */
export async function seedLegacyLedger(
  tables: { devices: TableClient; due: TableClient },
  records: readonly DeviceRecord[],
): Promise<void> {
  await tables.devices.createTable();
  await tables.due.createTable();
  await mapWithConcurrency(records, 16, async (record) => {
    await tables.devices.upsertEntity(legacyDeviceRow(record), 'Replace');
    const due = legacyDueRow(record);
    if (due) await tables.due.upsertEntity(due, 'Replace');
  });
}
