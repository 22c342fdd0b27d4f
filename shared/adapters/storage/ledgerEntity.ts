import { TableEntityResult } from '@azure/data-tables';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { RecordRejected } from '../../app/ports';
import { devicePartition, escapeKey, unescapeKey } from './storageKeys';

/** A device's record as a Table entity, in the ledger's layout and the legacy one. */
/** Table string properties hold at most 64 KiB (32 Ki UTF-16 characters). */
const DOC_CHUNK_CHARS = 30_000;
/** An entity holds at most 1 MiB in all: 15 chunks of 60 KB leave room for the rest. */
const MAX_DOC_CHUNKS = 15;
export interface DeviceEntity {
  partitionKey: string;
  rowKey: string;
  hub: string;
  deviceId: string;
  lifecycle: string;
  connectionState: string;
  validUntil?: string;
  renewalDueAt?: string;
  findings: number;
  updatedAt: string;
  docChunks: number;
  /** `doc`, `doc1`, `doc2`…: the record's JSON. */
  [doc: string]: string | number | undefined;
}

/** A record as an entity of this table, or of the legacy one (its keys given). */
export function toEntity(
  record: DeviceRecord,
  keys = { partitionKey: devicePartition(record), rowKey: escapeKey(record.deviceId) },
): DeviceEntity {
  const doc = JSON.stringify(record);
  const parts = chunkText(doc, DOC_CHUNK_CHARS);
  const chunks = parts.length;
  if (chunks > MAX_DOC_CHUNKS) {
    throw new RecordRejected(
      `ledger record for ${record.hub}/${record.deviceId} is ${doc.length} characters, too large for one entity`,
    );
  }
  const entity: DeviceEntity = {
    ...keys,
    hub: record.hub,
    deviceId: record.deviceId,
    lifecycle: record.lifecycle,
    connectionState: record.connection.state,
    findings: record.findings.length,
    updatedAt: record.updatedAt,
    docChunks: chunks,
  };
  if (record.current) entity.validUntil = record.current.validUntil;
  if (record.renewalDueAt) entity.renewalDueAt = record.renewalDueAt;
  parts.forEach((part, i) => {
    entity[i === 0 ? 'doc' : `doc${i}`] = part;
  });
  return entity;
}

/** Cuts text into pieces of at most `size` UTF-16 units, never between a surrogate pair. */
export function chunkText(text: string, size: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < text.length || parts.length === 0) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end -= 1; // a high surrogate
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}

/**
 * A record from its entity. The keys are the source of truth for identity: the RowKey is the
 * escaped device id; the hub is the partition's (`<escaped hub>~NN`), or the legacy
 * layout's whole PartitionKey.
 */
export function fromEntity(entity: TableEntityResult<DeviceEntity>, hub?: string): DeviceRecord {
  let doc = '';
  const chunks = Number(entity.docChunks ?? 1);
  for (let i = 0; i < chunks; i += 1) doc += String(entity[i === 0 ? 'doc' : `doc${i}`] ?? '');
  const record = JSON.parse(doc) as DeviceRecord;
  const partition = String(entity.partitionKey ?? '');
  const tilde = partition.lastIndexOf('~');
  record.hub =
    hub ??
    (tilde >= 0 ? unescapeKey(partition.slice(0, tilde)) : unescapeKey(partition) || record.hub);
  record.deviceId = unescapeKey(entity.rowKey ?? escapeKey(record.deviceId));
  return record;
}
