import { DeviceKey } from '../DeviceKey';
import { DeviceRecord } from '../DeviceRecord';
import { RenewalStatus } from './RenewalState';
import { nextActionAt, nextRenewalActionAt } from './nextActionAt';
import { renewalOf } from './renewalTransitions';

/**
 * One entry of the renewal index: a device with something for certfleet to do at `actionAt`
 * (shared/domain/renewal/nextActionAt.ts), and enough about it for the capacity planner to
 * work without reading the record. The ledger's `ActionEntry` (shared/app/ports.ts) is this
 * shape.
 */
export interface RenewalIndexEntry extends DeviceKey {
  actionAt: string;
  /**
   * When the renewal itself is next due (nextRenewalActionAt), when `actionAt` is earlier (an
   * alert check comes first). Absent: `actionAt` is the renewal's.
   */
  renewalAt?: string;
  /**
   * The record's next alert check (alertCheckAt), so the sweep finds devices whose alerts are
   * due among those waiting for a request, without reading their records.
   */
  alertCheckAt?: string;
  validUntil: string;
  status: RenewalStatus;
}

/**
 * What the renewal index holds for a record: its next action, or nothing (deleted, no
 * certificate, expired). Every ledger, the Table adapter and the in-memory double alike,
 * indexes a record by this one rule, so "due before T" means the same everywhere.
 */
export function renewalIndexEntry(record: DeviceRecord): RenewalIndexEntry | undefined {
  const actionAt = nextActionAt(record);
  const renewalAt = nextRenewalActionAt(record);
  if (actionAt === undefined || renewalAt === undefined || !record.current) return undefined;
  return {
    hub: record.hub,
    deviceId: record.deviceId,
    actionAt,
    ...(renewalAt !== actionAt ? { renewalAt } : {}),
    ...(record.alertCheckAt !== undefined ? { alertCheckAt: record.alertCheckAt } : {}),
    validUntil: record.current.validUntil,
    status: renewalOf(record).status,
  };
}

/**
 * How writing `after` over `before` (undefined: a new record) changes the index, which is
 * keyed by `actionAt`: `put` the new entry when it says something the old one did not, and
 * `remove` the old one when the new one does not take its place (no entry any more, or
 * another `actionAt`). A write that changes neither leaves the index alone.
 */
export function renewalIndexChange(
  before: DeviceRecord | undefined,
  after: DeviceRecord,
): { put?: RenewalIndexEntry; remove?: RenewalIndexEntry } {
  const put = renewalIndexEntry(after);
  const removed = before ? renewalIndexEntry(before) : undefined;
  const change: { put?: RenewalIndexEntry; remove?: RenewalIndexEntry } = {};
  if (put && !sameEntry(put, removed)) change.put = put;
  if (removed && removed.actionAt !== put?.actionAt) change.remove = removed;
  return change;
}

function sameEntry(a: RenewalIndexEntry, b: RenewalIndexEntry | undefined): boolean {
  return (
    !!b &&
    a.actionAt === b.actionAt &&
    a.renewalAt === b.renewalAt &&
    a.alertCheckAt === b.alertCheckAt &&
    a.validUntil === b.validUntil &&
    a.status === b.status
  );
}
