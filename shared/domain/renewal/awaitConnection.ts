import { DeviceRecord } from '../DeviceRecord';
import { RenewalTiming } from './RenewalTiming';
import { renewalOf } from './renewalTransitions';

/**
 * Calls only where they can land. IoT Hub answers a direct method to a device that is not
 * connected with 404103 at once, and the ledger already knows which devices are not connected:
 * IoT Hub routes a DeviceDisconnected event for each (`record.connection`). Such a device is not
 * called; its renewal waits for the DeviceConnected event, which asks it right away
 * (deviceConnected, `askNow` in the ingest). Only when its certificate is about to expire
 * (`timing.offlineBlindTryMs` before validUntil) is a call tried anyway, a blind try: the
 * connection event that would have said it is back may have been lost.
 *
 * A device whose connection state is unknown (no connection event yet, or connection events not
 * routed to certfleet) is called as before.
 *
 * The rule is applied when a device is about to be called (RenewalRequests), on the record read
 * for the call anyway, and not in the renewal index: an index entry that carried the connection
 * state would be rewritten on every connect and disconnect of every device with a renewal
 * pending, where this costs nothing until the sweep reaches the device, and then one write that
 * parks it until it connects.
 */

/**
 * The device is disconnected as far as the ledger knows: its last connection event says so, and
 * nothing was heard from it since (a twin report after the disconnect means a connection event
 * was lost or is late, and the device may well be there).
 */
export function knownDisconnected(record: DeviceRecord): boolean {
  const { state, changedAt } = record.connection;
  if (state !== 'disconnected') return false;
  return !record.lastSeenAt || !changedAt || record.lastSeenAt <= changedAt;
}

/** When the blind try is due: `offlineBlindTryMs` before the certificate expires. */
export function blindTryAt(record: DeviceRecord, timing: RenewalTiming): string | undefined {
  const current = record.current;
  if (!current) return undefined;
  return new Date(Date.parse(current.validUntil) - timing.offlineBlindTryMs).toISOString();
}

/**
 * Whether to wait for the device to connect instead of calling it now: it is known to be
 * disconnected and its certificate is not yet within the blind try.
 */
export function shouldAwaitConnection(
  record: DeviceRecord,
  now: string,
  timing: RenewalTiming,
): boolean {
  const blindTry = blindTryAt(record, timing);
  return blindTry !== undefined && now < blindTry && knownDisconnected(record);
}

/**
 * The campaign waits for the device to connect, with no call made: `unreachable`, as after a
 * 404103 (the connection event asks it, deviceConnected), and its next attempt is the blind try.
 * No attempt or failure is counted, and nothing is audited: no request was made. The campaign
 * must have begun (startCampaign); a record with none is returned as it is.
 */
export function awaitConnection(
  record: DeviceRecord,
  now: string,
  timing: RenewalTiming,
): DeviceRecord {
  const renewal = renewalOf(record);
  const blindTry = blindTryAt(record, timing);
  if (!renewal.campaignId || blindTry === undefined) return record;
  const next = structuredClone(record);
  const since = record.connection.changedAt;
  next.renewal = {
    ...renewal,
    status: 'unreachable',
    reason: `device disconnected${since ? ` since ${since}` : ''}: asked when it connects`,
    nextAttemptAt: blindTry > now ? blindTry : now,
  };
  delete next.renewal.deadline;
  next.updatedAt = now;
  return next;
}
