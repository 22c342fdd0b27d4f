// A device's connection state, ordered by IoT Hub's per-device sequence number; a connection
// is also the moment to ask a device whose renewal waits on it.
import { DeviceRecord, newDeviceRecord } from '../DeviceRecord';
import { ConnectionEvent } from '../LedgerEvent';
import { deviceConnected } from '../renewal/renewalTransitions';
import { reincarnate } from './applyLifecycle';
import { clone } from './clone';
import { compareHex } from './eventOrder';
import { later } from './later';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';

export function applyConnection(
  existing: DeviceRecord | undefined,
  event: ConnectionEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  if (
    existing?.lifecycle === 'deleted' &&
    existing.deletedAt &&
    event.occurredAt <= existing.deletedAt
  ) {
    return { outcome: 'stale', reason: 'connection change from before the device was deleted' };
  }
  if (existing?.lifecycle === 'deleted' && !event.connected) {
    // A deleted device's last disconnect trails its deletion: it does not bring the device back.
    return { outcome: 'stale', reason: 'a deleted device disconnecting' };
  }
  let record = existing ? clone(existing) : newDeviceRecord(event.hub, event.deviceId, ctx.now);
  if (record.lifecycle === 'deleted') record = reincarnate(record, event.occurredAt, ctx.now);
  const last = record.connection.sequenceNumber;
  if (last !== undefined) {
    const order = compareHex(event.sequenceNumber, last);
    if (order === 0)
      return { outcome: 'duplicate', reason: `sequence number ${last} already applied` };
    if (order < 0) return { outcome: 'stale', reason: `sequence number is older than ${last}` };
  }
  record.connection = {
    state: event.connected ? 'connected' : 'disconnected',
    sequenceNumber: event.sequenceNumber,
    changedAt: event.occurredAt,
  };
  record.lastSeenAt = later(record.lastSeenAt, event.occurredAt);
  record.updatedAt = ctx.now;
  if (event.connected) {
    // A renewal waiting on this device is asked right away, not at the next sweep.
    const { record: next, askNow } = deviceConnected(record, ctx.now);
    return askNow
      ? { outcome: 'applied', record: next, askNow }
      : { outcome: 'applied', record: next };
  }
  return { outcome: 'applied', record };
}
