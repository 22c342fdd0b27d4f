import { AlertDelivery, AlertSinkName } from '../../app/ports';
import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { AlertTransition, alertKey } from '../../domain/alerts/AlertState';
import { criticalFrom } from '../../domain/alerts/expiryWindows';
import { AuditEntry } from '../../domain/AuditEntry';
import { CertificateIdentity } from '../../domain/Certificate';
import { ConsistencyChecks } from './ConsistencyChecks';
import { FleetRecords } from './FleetRecords';

/** What the alert checks read of a run's records. */
export type AlertCheckRecords = Pick<FleetRecords, 'audit' | 'ledger' | 'alerts'>;

/** The sink the loopback receiver stands behind. */
const RECEIVER_SINK: AlertSinkName = 'webhook';

/** The rules that say "act now, or this certificate expires". */
const EXPIRY_RULES: readonly string[] = ['certificate-expiring', 'renewal-failed'];

/**
 * Checks the run's alerts against its audit trail, ledger, alert store, outbox and the loopback
 * receiver, in this order (the problems are listed in it):
 * - every certificate that expired had a critical `certificate-expiring` or `renewal-failed`
 *   alert raised (or escalated to critical) before it expired, unless certfleet first saw it
 *   inside its critical window or already expired. A device alert that a fleet alert covers is
 *   still raised, audited and kept (rollUp), so the device's own transition is the evidence
 *   either way; whether ops heard it directly or through the fleet alert is the delivery check's;
 * - every alert raised was resolved, or is still held open at the end: by its device's record
 *   (`record.alerts`), or for a fleet alert by the store; and the store and the records agree
 *   on the open device alerts;
 * - one episode at a time: per rule and subject, a raising only when none is open, escalations
 *   and the resolution only of the open one; no alert id raised twice, no transition id twice;
 *   and the receiver accepted each notification id once;
 * - every transition was queued for the receiver's sink; each not rolled up was delivered,
 *   audited as sent, and reached the receiver exactly once, as the audit trail says it; none
 *   rolled up reached it; the receiver got nothing else and turned nothing away.
 */
export function checkAlertConsistency(
  records: AlertCheckRecords,
  settings: AlertSettings,
  checks: ConsistencyChecks,
): void {
  checkExpiriesAlertedInTime(records, settings, checks);
  checkAlertsResolvedOrHeld(records, checks);
  checkOneEpisodeAtATime(records, checks);
  checkTransitionsReachedReceiver(records, checks);
}

function checkExpiriesAlertedInTime(
  records: AlertCheckRecords,
  settings: AlertSettings,
  checks: ConsistencyChecks,
): void {
  const heldFrom = new Map<string, AuditEntry[]>();
  const alertsOf = new Map<string, AlertTransition[]>();
  for (const entry of records.audit) {
    if (entry.new && entry.type.startsWith('certificate.')) push(heldFrom, deviceOf(entry), entry);
  }
  for (const t of records.alerts.transitions) {
    if (t.scope === 'device') push(alertsOf, deviceOf(t), t);
  }
  for (const expired of records.audit) {
    if (expired.type !== 'certificate.expired' || !expired.old) continue;
    const certificate = expired.old;
    const device = `${expired.hub}/${expired.deviceId}`;
    // When certfleet first held it: the record that made it current.
    const seen = (heldFrom.get(deviceOf(expired)) ?? []).find((e) =>
      sameCertificate(e.new!, certificate),
    );
    checks.check(
      seen !== undefined,
      () =>
        `${device}: certificate expiring ${certificate.validUntil} expired, never recorded held`,
    );
    if (!seen) continue;
    const critical = criticalFrom(certificate, settings);
    if (Date.parse(seen.recordedAt) >= critical) continue; // no time to warn: seen too late
    const until = Date.parse(certificate.validUntil);
    const alerted = (alertsOf.get(deviceOf(expired)) ?? []).some(
      (t) =>
        EXPIRY_RULES.includes(t.rule) &&
        t.severity === 'critical' &&
        t.kind !== 'resolved' &&
        t.validUntil === certificate.validUntil &&
        Date.parse(t.at) < until,
    );
    checks.check(
      alerted,
      () =>
        `${device}: certificate expired at ${certificate.validUntil} with no critical alert before it (critical from ${new Date(critical).toISOString()})`,
    );
  }
}

function checkAlertsResolvedOrHeld(records: AlertCheckRecords, checks: ConsistencyChecks): void {
  const { transitions, open } = records.alerts;
  const resolved = new Set(transitions.filter((t) => t.kind === 'resolved').map((t) => t.alertId));
  const inStore = new Set(open.map((s) => s.id));
  const inRecords = new Map<string, string>();
  for (const record of records.ledger) {
    for (const a of record.alerts ?? []) inRecords.set(a.id, `${record.hub}/${record.deviceId}`);
  }
  for (const t of transitions) {
    if (t.kind !== 'raised') continue;
    const held = t.scope === 'device' ? inRecords.has(t.alertId) : inStore.has(t.alertId);
    checks.check(
      resolved.has(t.alertId) || held,
      () =>
        `${subjectOf(t)}: ${t.rule} alert ${t.alertId} raised at ${t.at}, neither resolved nor open at the end`,
    );
  }
  for (const state of open) {
    if (state.scope !== 'device') continue;
    checks.check(
      inRecords.has(state.id),
      () =>
        `${state.subject}: the store lists ${state.rule} alert ${state.id}, its record does not`,
    );
  }
  for (const [id, device] of inRecords) {
    checks.check(
      inStore.has(id),
      () => `${device}: the record holds alert ${id}, the store does not list it`,
    );
  }
}

function checkOneEpisodeAtATime(records: AlertCheckRecords, checks: ConsistencyChecks): void {
  const openEpisode = new Map<string, string>();
  const raised = new Set<string>();
  const transitionIds = new Set<string>();
  // By the instant each happened; the audit trail's order among equals (a stable sort).
  const inOrder = [...records.alerts.transitions].sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at),
  );
  for (const t of inOrder) {
    const key = alertKey(t);
    const current = openEpisode.get(key);
    checks.check(
      !transitionIds.has(t.id),
      () => `${subjectOf(t)}: transition ${t.id} (${t.kind} ${t.rule}) audited twice`,
    );
    transitionIds.add(t.id);
    if (t.kind === 'raised') {
      checks.check(
        !raised.has(t.alertId),
        () => `${subjectOf(t)}: ${t.rule} alert ${t.alertId} raised twice`,
      );
      checks.check(
        current === undefined,
        () => `${subjectOf(t)}: ${t.rule} raised at ${t.at} while alert ${current} was still open`,
      );
      raised.add(t.alertId);
      openEpisode.set(key, t.alertId);
    } else {
      checks.check(
        current === t.alertId,
        () => `${subjectOf(t)}: ${t.rule} alert ${t.alertId} ${t.kind} at ${t.at}, but not open`,
      );
      if (t.kind === 'resolved' && current === t.alertId) openEpisode.delete(key);
    }
  }
  for (const [id, n] of countIds(records.alerts.received.notifications)) {
    checks.check(n === 1, () => `the receiver accepted notification ${id} ${n} times`);
  }
}

function checkTransitionsReachedReceiver(
  records: AlertCheckRecords,
  checks: ConsistencyChecks,
): void {
  const { transitions, deliveries, received } = records.alerts;
  const outbox = new Map<string, AlertDelivery>();
  for (const d of deliveries) if (d.sink === RECEIVER_SINK) outbox.set(d.notification.id, d);
  const accepted = countIds(received.notifications);
  const audited = new Set<string>();
  for (const entry of records.audit) {
    const d = entry.delivery;
    if (entry.type === 'alert.delivered' && d)
      audited.add(`${d.sink} ${d.notificationId} ${d.deliveredAs}`);
  }
  const byId = new Map(received.notifications.map((n) => [n.id, n]));
  for (const t of transitions) {
    const what = `${subjectOf(t)}: ${t.kind} ${t.rule} (${t.id})`;
    const d = outbox.get(t.id);
    checks.check(d !== undefined, () => `${what} never queued for the ${RECEIVER_SINK} sink`);
    if (!d) continue;
    const times = accepted.get(t.id) ?? 0;
    if (d.state === 'rolled-up') {
      checks.check(times === 0, () => `${what} rolled up into a fleet alert, yet sent`);
      checks.check(
        audited.has(`${RECEIVER_SINK} ${t.id} rolled-up`),
        () => `${what} rolled up, no alert.delivered record`,
      );
      continue;
    }
    checks.check(
      d.state === 'delivered',
      () =>
        `${what} still pending at the end (${d.attempts} attempts${d.lastError ? `: ${d.lastError}` : ''})`,
    );
    checks.check(times === 1, () => `${what} reached the receiver ${times} times`);
    checks.check(
      audited.has(`${RECEIVER_SINK} ${t.id} sent`),
      () => `${what} delivered, no alert.delivered record`,
    );
    const n = byId.get(t.id);
    if (n) {
      checks.check(
        n.alertId === t.alertId &&
          n.status === t.kind &&
          n.rule === t.rule &&
          n.severity === t.severity &&
          n.scope === t.scope,
        () => `${what}: the receiver got ${n.status} ${n.rule} ${n.severity} of alert ${n.alertId}`,
      );
    }
  }
  const audit = new Set(transitions.map((t) => t.id));
  for (const n of received.notifications) {
    checks.check(
      audit.has(n.id),
      () => `the receiver got ${n.status} ${n.rule} (${n.id}), which is in no audit record`,
    );
  }
  checks.check(
    received.badSignatures === 0 && received.malformed === 0,
    () =>
      `the receiver turned away ${received.badSignatures} badly signed and ${received.malformed} malformed requests`,
  );
}

/** The same certificate: by thumbprint when both have one, else by its dates. */
function sameCertificate(a: CertificateIdentity, b: CertificateIdentity): boolean {
  if (a.thumbprintSha256 && b.thumbprintSha256) return a.thumbprintSha256 === b.thumbprintSha256;
  return a.validFrom === b.validFrom && a.validUntil === b.validUntil;
}

/** A device's key for lookups: hub and id, the id without case (as IoT Hub compares them). */
function deviceOf(x: { hub?: string; deviceId?: string }): string {
  return `${x.hub ?? ''}/${(x.deviceId ?? '').toLowerCase()}`;
}

function subjectOf(t: AlertTransition): string {
  return t.scope === 'device' ? `${t.hub}/${t.deviceId}` : `fleet ${t.subject}`;
}

function countIds(notifications: readonly { id: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of notifications) counts.set(n.id, (counts.get(n.id) ?? 0) + 1);
  return counts;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
