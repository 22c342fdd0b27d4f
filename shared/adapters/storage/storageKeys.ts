import { createHash } from 'node:crypto';

/**
 * IoT Hub device ids may hold `# ? ! ( ) , : = @ $ ' % * +` and more (AZURE-FACTS.md), and
 * Table keys forbid `/ \ # ?` and control characters, so every id is escaped before it becomes
 * a table key or a blob name: anything but `A-Z a-z 0-9 . _ -` becomes `%XX` (UTF-8 bytes).
 * The escape is injective, so two ids never share a key, and `~` never appears in an escaped
 * id, which makes it a safe separator.
 */
export function escapeKey(id: string): string {
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function unescapeKey(key: string): string {
  return decodeURIComponent(key);
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
