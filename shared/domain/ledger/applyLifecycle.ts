// A device's creation and deletion (ordered by operationTimestamp), and its incarnations: a
// device id created again after a deletion starts a new life.
import { certificateIdentity } from '../Certificate';
import { DeviceRecord, newDeviceRecord } from '../DeviceRecord';
import { LifecycleEvent } from '../LedgerEvent';
import { auditEntry } from './auditEntry';
import { clone } from './clone';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';

export function applyLifecycle(
  existing: DeviceRecord | undefined,
  event: LifecycleEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  return event.change === 'created'
    ? applyCreated(existing, event, ctx)
    : applyDeleted(existing, event, ctx);
}

function applyCreated(
  existing: DeviceRecord | undefined,
  event: LifecycleEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  if (!existing) {
    const record = newDeviceRecord(event.hub, event.deviceId, ctx.now);
    record.createdAt = event.occurredAt;
    return { outcome: 'applied', record };
  }
  if (existing.lifecycle === 'deleted') {
    if (existing.deletedAt && event.occurredAt <= existing.deletedAt) {
      return { outcome: 'stale', reason: 'created before the device was last deleted' };
    }
    return { outcome: 'applied', record: reincarnate(clone(existing), event.occurredAt, ctx.now) };
  }
  if (existing.createdAt && event.occurredAt < existing.createdAt) {
    return { outcome: 'stale', reason: 'created before this incarnation' };
  }
  if (existing.createdAt === event.occurredAt) {
    return { outcome: 'duplicate', reason: 'this incarnation is already recorded' };
  }
  if (existing.createdAt) {
    // Created again after an earlier creation: a deletion in between was missed.
    return { outcome: 'applied', record: reincarnate(clone(existing), event.occurredAt, ctx.now) };
  }
  if (existing.lastSeenAt !== undefined && existing.lastSeenAt < event.occurredAt) {
    // All the record knows of the device happened before this creation: an earlier life, whose
    // deletion is missed or late.
    return { outcome: 'applied', record: reincarnate(clone(existing), event.occurredAt, ctx.now) };
  }
  const record = clone(existing);
  record.createdAt = event.occurredAt;
  record.updatedAt = ctx.now;
  return { outcome: 'applied', record };
}

function applyDeleted(
  existing: DeviceRecord | undefined,
  event: LifecycleEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  if (existing?.lifecycle === 'deleted') {
    if (!existing.deletedAt || event.occurredAt <= existing.deletedAt) {
      return { outcome: 'duplicate', reason: 'the device is already deleted' };
    }
    // Deleted again (its re-creation was never seen): later events are judged by this deletion.
    const record = clone(existing);
    record.deletedAt = event.occurredAt;
    record.updatedAt = ctx.now;
    return { outcome: 'applied', record };
  }
  if (existing?.createdAt && event.occurredAt < existing.createdAt) {
    return { outcome: 'stale', reason: 'deletion of an earlier incarnation' };
  }
  const record = existing ? clone(existing) : newDeviceRecord(event.hub, event.deviceId, ctx.now);
  record.lifecycle = 'deleted';
  record.deletedAt = event.occurredAt;
  record.connection = { state: 'disconnected', changedAt: event.occurredAt };
  delete record.renewalDueAt;
  delete record.renewal;
  record.updatedAt = ctx.now;
  record.pendingAudit.push(
    auditEntry(record, event, 'device.deleted', ctx, {
      old: record.current && certificateIdentity(record.current),
    }),
  );
  return { outcome: 'applied', record };
}

/**
 * A device id created again starts a new life: its old certificate becomes the previous one, its
 * certificates stay in the history, and the life is counted (audit ids tell lives apart by it).
 */
export function reincarnate(record: DeviceRecord, at: string, now: string): DeviceRecord {
  const next = newDeviceRecord(record.hub, record.deviceId, now);
  next.createdAt = at;
  const previous = record.current ?? record.previous;
  if (previous) next.previous = previous;
  if (record.lastSeenAt) next.lastSeenAt = record.lastSeenAt;
  if (record.history) next.history = record.history;
  next.incarnation = (record.incarnation ?? 0) + 1;
  next.pendingAudit = record.pendingAudit;
  return next;
}
