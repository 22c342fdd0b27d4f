import { createHash } from 'node:crypto';
import { DeviceKey, loneSurrogateAt } from '../../domain/DeviceKey';

/**
 * IoT Hub device ids may hold `# ? ! ( ) , : = @ $ ' % * +` and more (AZURE-FACTS.md), and
 * Table keys forbid `/ \ # ?` and control characters, so every id is escaped before it becomes
 * a table key or a blob name: anything but `A-Z a-z 0-9 . -` becomes `_XX` (its UTF-8 bytes in
 * hex), `_` included. Not `%`: the Table service decodes `%` in keys a second time on some
 * operations, so a `%XX` key could not be read back. The escape is injective (two ids never
 * share a key), and `~` never appears in an escaped id, which makes it a safe separator.
 *
 * A lone surrogate has no UTF-8 form (Buffer would write U+FFFD, merging ids): such an id is
 * refused with `UnstorableKey`, never altered. The decoder rejects such ids before they get here.
 */
export function escapeKey(id: string): string {
  const lone = loneSurrogateAt(id);
  if (lone !== undefined) throw new UnstorableKey(lone);
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9.-]/.test(ch) ? ch : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function unescapeKey(key: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i += 1) {
    if (key[i] === '_') {
      bytes.push(parseInt(key.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(key.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** An id that cannot become a storage key without being altered. */
export class UnstorableKey extends Error {
  readonly code = 'UNSTORABLE_KEY';
  constructor(position: number) {
    super(
      `id holds a lone surrogate at position ${position + 1}: it cannot become a storage key unaltered`,
    );
    this.name = 'UnstorableKey';
  }
}

/** A device's entity in the ledger table: PartitionKey the escaped hub, RowKey the escaped id. */
export function ledgerEntityKeys(key: DeviceKey): { partitionKey: string; rowKey: string } {
  return { partitionKey: escapeKey(key.hub), rowKey: escapeKey(key.deviceId) };
}

/**
 * A renewal index entry's RowKey: `<actionAt>~<escaped hub>~<escaped device id>`. Escaped ids
 * never hold `~`, so the parts cannot run into each other; the time first makes "due before T"
 * one range query.
 */
export function renewalIndexRowKey(actionAt: string, key: DeviceKey): string {
  return `${actionAt}~${escapeKey(key.hub)}~${escapeKey(key.deviceId)}`;
}

/**
 * A stable shard in [0, shards) for a device, to spread index and audit load: a hash of
 * `<hub>\n<device id>`. A hub's own `%` and newline are escaped first, so the first newline
 * always ends the hub; real hub names hold neither, so their shards are the ones they always had.
 */
export function shardOf(hub: string, deviceId: string, shards: number): number {
  const hubPart = hub.replace(/%/g, '%25').replace(/\n/g, '%0A');
  const digest = createHash('sha256').update(`${hubPart}\n${deviceId}`).digest();
  return digest.readUInt32BE(0) % shards;
}

/** `2026-11-23T10:00:00.000Z` -> `2026/11/23`, the audit trail's date partition. */
export function datePath(iso: string): string {
  return iso.slice(0, 10).replace(/-/g, '/');
}

/**
 * Each hub's devices are spread over this many Table partitions (`<escaped hub>~00`…`~15`), so
 * no hub is held to one partition's throughput (about 2,000 entities a second in Azure), and a
 * device's record and its renewal-index rows share a partition: one transaction writes both.
 */
export const PARTITIONS_PER_HUB = 16;

/** The partition of a device's record and index rows in the ledger table. */
export function devicePartition(key: DeviceKey): string {
  const bucket = shardOf(key.hub, key.deviceId, PARTITIONS_PER_HUB);
  return `${escapeKey(key.hub)}~${String(bucket).padStart(2, '0')}`;
}

/** Every partition a hub's devices may be in, in key order. */
export function hubPartitions(hub: string): string[] {
  const escaped = escapeKey(hub);
  return Array.from(
    { length: PARTITIONS_PER_HUB },
    (_, i) => `${escaped}~${String(i).padStart(2, '0')}`,
  );
}

/**
 * RowKeys in the ledger table: a device's record is its escaped id; its renewal-index row is
 * `~<actionAt>~<escaped id>`. Escaped ids never hold `~`, which sorts after every character
 * they do hold, so a partition's records all come before its index rows (`RowKey lt '~'`), and
 * its index rows come in order of time (`RowKey lt '~<T>'` is "due before T").
 */
export const INDEX_ROW_PREFIX = '~';

export function indexRowKey(actionAt: string, deviceId: string): string {
  return `${INDEX_ROW_PREFIX}${actionAt}~${escapeKey(deviceId)}`;
}
