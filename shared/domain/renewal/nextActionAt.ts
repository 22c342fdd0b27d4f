import { DeviceRecord } from '../DeviceRecord';
import { renewalOf } from './renewalTransitions';
import { rotationSlotOf } from '../rotation/DeviceRotation';

/**
 * When certfleet next has something to do for a device: the key of the renewal index, so one
 * range query ("action due before T") finds every device the sweep must look at, and nothing
 * else. Undefined: nothing to do until an event arrives.
 *
 * - healthy: when renewal falls due, or its slot in a planned CA rotation if that is earlier;
 * - due, retrying, unreachable: the next attempt;
 * - requested: the deadline for the new certificate;
 * - failed: the expiry, to record it;
 * - expired, moved (to another hub): nothing;
 * and never later than the certificate's expiry, which must be recorded when it passes; and
 * no later than the device's next alert check (`alertCheckAt`), so alerts change on time.
 */
export function nextActionAt(record: DeviceRecord): string | undefined {
  const renewal = nextRenewalActionAt(record);
  const alerts = record.alertCheckAt;
  if (renewal === undefined || alerts === undefined) return renewal;
  return alerts < renewal ? alerts : renewal;
}

/**
 * The renewal's part of nextActionAt, without the alerts' next check: what the capacity planner
 * takes as the time a renewal is due.
 */
export function nextRenewalActionAt(record: DeviceRecord): string | undefined {
  const current = record.current;
  if (record.lifecycle !== 'active' || !current) return undefined;
  const renewal = renewalOf(record);
  let at: string | undefined;
  switch (renewal.status) {
    case 'healthy': {
      // A planned CA rotation's slot moves the renewal earlier (shared/domain/rotation).
      const slot = rotationSlotOf(record);
      at =
        slot !== undefined && (!record.renewalDueAt || slot < record.renewalDueAt)
          ? slot
          : record.renewalDueAt;
      break;
    }
    case 'due':
    case 'retrying':
    case 'unreachable':
      at = renewal.nextAttemptAt;
      break;
    case 'requested':
      at = renewal.deadline;
      break;
    case 'failed':
      at = current.validUntil;
      break;
    case 'expired':
    case 'moved':
      return undefined;
  }
  if (at === undefined || at > current.validUntil) return current.validUntil;
  return at;
}
