import { createHash } from 'node:crypto';

/**
 * IoT Hub device ids may hold `# ? ! ( ) , : = @ $ ' % * +` and more (AZURE-FACTS.md), and
 * Table keys forbid `/ \ # ?` and control characters, so every id is escaped before it becomes
 * a table key or a blob name: anything but `A-Z a-z 0-9 . -` becomes `_XX` (its UTF-8 bytes in
 * hex), `_` included. Not `%`: the Table service decodes `%` in keys a second time on some
 * operations, so a `%XX` key could not be read back. The escape is injective (two ids never
 * share a key), and `~` never appears in an escaped id, which makes it a safe separator.
 */
export function escapeKey(id: string): string {
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

/** A stable shard in [0, shards) for a device, to spread index and audit load. */
export function shardOf(hub: string, deviceId: string, shards: number): number {
  const digest = createHash('sha256').update(`${hub}\n${deviceId}`).digest();
  return digest.readUInt32BE(0) % shards;
}

/** `2026-11-23T10:00:00.000Z` -> `2026/11/23`, the audit trail's date partition. */
export function datePath(iso: string): string {
  return iso.slice(0, 10).replace(/-/g, '/');
}
