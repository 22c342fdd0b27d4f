import { DeviceRecord } from '../DeviceRecord';
import { AlertSettings } from './AlertSettings';
import { criticalFrom, warningFrom } from './expiryWindows';

/**
 * The next instant after `now` at which a device's alert conditions can change with no event:
 * its certificate enters the warning or the critical window, expires, its renewal becomes
 * overdue, or a silent device crosses the silence threshold. The renewal index holds it beside
 * the renewal's own next action (shared/domain/renewal/nextActionAt.ts), so the sweep looks at
 * the device then, and only then: alerts cost what changes, not what the fleet holds.
 * Undefined: only an event can change them (no certificate, deleted, moved, expired).
 */
export function nextAlertCheckAt(
  record: DeviceRecord,
  now: string,
  settings: AlertSettings,
): string | undefined {
  const current = record.current;
  if (record.lifecycle !== 'active' || !current || record.renewal?.status === 'moved')
    return undefined;
  const at = Date.parse(now);
  const until = Date.parse(current.validUntil);
  if (at >= until) return undefined;
  const moments = [warningFrom(current, settings), criticalFrom(current, settings), until];
  if (record.renewalDueAt) {
    const due = Date.parse(record.renewalDueAt);
    moments.push(due, due + settings.overdueAfterMs);
  }
  const heard = [record.lastSeenAt, record.connection.changedAt]
    .filter((t): t is string => t !== undefined)
    .map((t) => Date.parse(t));
  if (heard.length > 0 && record.connection.state !== 'connected')
    moments.push(Math.max(...heard) + settings.silentAfterMs);
  const next = moments.filter((m) => m > at && m <= until).sort((a, b) => a - b)[0];
  return next === undefined ? undefined : new Date(next).toISOString();
}
