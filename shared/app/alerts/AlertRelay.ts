import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { AlertTransition } from '../../domain/alerts/AlertState';
import { fleetSubject } from '../../domain/alerts/rollUp';
import { alertAuditEntry } from '../../domain/alerts/evaluateAlerts';
import {
  AlertDelivery,
  AlertLog,
  AlertNotification,
  AlertSinkName,
  AlertStore,
  AuditTrail,
} from '../ports';
import { notificationOf } from './notificationOf';

/** The prefix of the log line written for every alert transition (docs/alerts.md). */
export const ALERT_LOG_PREFIX = 'CERTFLEET_ALERT';

export interface AlertRelayDependencies {
  store: AlertStore;
  /** Where fleet alerts, decided outside any record, are audited first. */
  audit: AuditTrail;
  /** The configured sinks: each transition is queued once for each. */
  sinks: readonly AlertSinkName[];
  log: AlertLog;
  settings: AlertSettings;
}

/**
 * Takes alert transitions once they are in the audit trail (the audit outbox hands them over
 * before it clears them from their record, so none is lost between the two): keeps the store's
 * open alerts in step, queues one delivery per configured sink, and writes one log line each.
 * Handed the same transitions again (a retried invocation), it queues nothing new: the store
 * keeps the first of each delivery.
 *
 * Device notifications wait a little (rollUpHoldMs) so that a cohort's can be rolled up into one
 * fleet alert when they are delivered (DeliverAlerts); fleet ones go at once.
 */
export class AlertRelay {
  constructor(private readonly deps: AlertRelayDependencies) {}

  async accept(transitions: readonly AlertTransition[]): Promise<void> {
    if (transitions.length === 0) return;
    const { store, sinks, log } = this.deps;
    await store.applyTransitions(transitions);
    const deliveries = transitions.flatMap((t) =>
      sinks.map((sink): AlertDelivery => this.deliveryOf(t, sink)),
    );
    if (deliveries.length > 0) await store.enqueue(deliveries);
    for (const t of transitions) log.info(`${ALERT_LOG_PREFIX} ${JSON.stringify(logFields(t))}`);
  }

  /**
   * Fleet alerts (roll-ups, incidents, the daily review) are decided outside any record, so no
   * audit outbox carries them: they are audited here, then accepted. Their ids are
   * deterministic, so a retried run appends nothing twice. Returns the audit records written.
   */
  async acceptFleet(transitions: readonly AlertTransition[], now: string): Promise<number> {
    if (transitions.length === 0) return 0;
    const written = await this.deps.audit.append(
      transitions.map((t) => alertAuditEntry(t, now)),
      { mayAlreadyBeWritten: true },
    );
    await this.accept(transitions);
    return written;
  }

  /** Queues a notification that is no alert's transition (the daily digest) for every sink. */
  async queue(notification: AlertNotification): Promise<void> {
    const { store, sinks } = this.deps;
    if (sinks.length === 0) return;
    await store.enqueue(
      sinks.map((sink) => ({
        sink,
        notification,
        queuedAt: notification.at,
        nextAttemptAt: notification.at,
        attempts: 0,
        state: 'pending' as const,
      })),
    );
  }

  private deliveryOf(t: AlertTransition, sink: AlertSinkName): AlertDelivery {
    const { settings } = this.deps;
    const hold =
      t.scope === 'fleet'
        ? 0
        : t.severity === 'critical'
          ? settings.rollUpHoldCriticalMs
          : settings.rollUpHoldMs;
    const delivery: AlertDelivery = {
      sink,
      notification: notificationOf(t),
      queuedAt: t.at,
      nextAttemptAt: new Date(Date.parse(t.at) + hold).toISOString(),
      attempts: 0,
      state: 'pending',
    };
    if (t.scope === 'device') delivery.group = fleetSubject(t);
    return delivery;
  }
}

/** One alert line: what a KQL query filters and counts on; no device text, no secret. */
function logFields(t: AlertTransition): Record<string, unknown> {
  return {
    transition: t.kind,
    rule: t.rule,
    severity: t.severity,
    scope: t.scope,
    hub: t.hub,
    deviceId: t.deviceId,
    count: t.count,
    validUntil: t.validUntil,
    alertId: t.alertId,
    id: t.id,
    at: t.at,
    summary: t.summary,
  };
}
