import { AuditEntry, auditEntryId } from '../AuditEntry';
import { DeviceRecord } from '../DeviceRecord';
import { AlertSettings } from './AlertSettings';
import { AlertTransition } from './AlertState';
import { deviceConditions } from './deviceConditions';
import { nextAlertCheckAt } from './nextAlertCheckAt';
import { nextAlertStates } from './nextAlertStates';

/**
 * A device's alerts brought up to date with its record at `now`: the conditions it is in
 * (deviceConditions) move its open alerts on (nextAlertStates), each transition becomes an
 * audit entry in the record's outbox (so it reaches the audit trail, the open-alert store and
 * the sinks exactly once, with the write that decided it), and `alertCheckAt` says when to look
 * again if no event comes. Every write of a record goes through here; evaluating a record again
 * at the same instant changes nothing.
 */
export function evaluateAlerts(
  record: DeviceRecord,
  now: string,
  settings: AlertSettings,
): DeviceRecord {
  const { states, transitions } = nextAlertStates(
    record.alerts ?? [],
    deviceConditions(record, now, settings),
    now,
  );
  const next: DeviceRecord = { ...record };
  delete next.alerts;
  delete next.alertCheckAt;
  if (states.length > 0) next.alerts = states;
  const checkAt = nextAlertCheckAt(record, now, settings);
  if (checkAt !== undefined) next.alertCheckAt = checkAt;
  if (transitions.length > 0) {
    const pending = new Set(record.pendingAudit.map((e) => e.id));
    next.pendingAudit = [
      ...record.pendingAudit,
      ...transitions.map((t) => alertAuditEntry(t, now)).filter((e) => !pending.has(e.id)),
    ];
  }
  return next;
}

/** The audit record of an alert transition; its id follows from the transition's. */
export function alertAuditEntry(t: AlertTransition, now: string): AuditEntry {
  return {
    id: auditEntryId(['alert', t.id]),
    type: `alert.${t.kind}`,
    hub: t.hub ?? '*',
    deviceId: t.deviceId ?? '*',
    occurredAt: t.at,
    recordedAt: now,
    detail: t.summary,
    alert: t,
  };
}

/** The alert transitions among audit entries, in their order. */
export function alertTransitionsIn(entries: readonly AuditEntry[]): AlertTransition[] {
  return entries.flatMap((e) => (e.alert ? [e.alert] : []));
}
