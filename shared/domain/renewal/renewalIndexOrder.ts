import { DeviceKey, deviceKeyString } from '../DeviceKey';

/** What places an entry in the renewal index: its time, then its device. */
export interface IndexEntryKey extends DeviceKey {
  actionAt: string;
}

/**
 * The renewal index's reading order: by `actionAt`, then hub, then device id, each string
 * compared by UTF-16 code units (JavaScript's `<`). Every ledger reads its index in this order
 * (CertificateLedger.actionsInOrder), so a reader resumes after the last entry it got, and
 * knows where any entry falls against what it has read, without asking the ledger again.
 */
export function compareIndexOrder(a: IndexEntryKey, b: IndexEntryKey): number {
  return cmp(a.actionAt, b.actionAt) || cmp(a.hub, b.hub) || cmp(a.deviceId, b.deviceId);
}

/**
 * A place between entries in the reading order: just before every entry at `actionAt` (no
 * `after`), or just after the entry `after` names at `actionAt`. A time read "before T" ends at
 * the place of T; a read cut short by its limit ends just after its last entry.
 */
export interface IndexPlace {
  actionAt: string;
  after?: DeviceKey;
}

/** Before every entry: `''` sorts before any time. */
export const INDEX_START: IndexPlace = { actionAt: '' };

export function placeOfTime(actionAt: string): IndexPlace {
  return { actionAt };
}

export function placeAfter(entry: IndexEntryKey): IndexPlace {
  return { actionAt: entry.actionAt, after: { hub: entry.hub, deviceId: entry.deviceId } };
}

/** Whether `entry` comes after `place` in the reading order. */
export function isAfter(entry: IndexEntryKey, place: IndexPlace): boolean {
  if (entry.actionAt !== place.actionAt) return entry.actionAt > place.actionAt;
  if (!place.after) return true;
  return compareIndexOrder(entry, { ...place.after, actionAt: place.actionAt }) > 0;
}

export function comparePlaces(a: IndexPlace, b: IndexPlace): number {
  const byTime = cmp(a.actionAt, b.actionAt);
  if (byTime !== 0) return byTime;
  if (!a.after || !b.after) return a.after ? 1 : b.after ? -1 : 0;
  return cmp(a.after.hub, b.after.hub) || cmp(a.after.deviceId, b.after.deviceId);
}

/**
 * The earliest time no entry at or after `place` can hold: an entry exactly at a place after an
 * entry may still share its time.
 */
export function timeOfPlace(place: IndexPlace): string {
  return place.after ? new Date(Date.parse(place.actionAt) + 1).toISOString() : place.actionAt;
}

/** One string per index entry (its time and its device), for maps. */
export function indexEntryId(entry: IndexEntryKey): string {
  return `${entry.actionAt}|${deviceKeyString(entry)}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
