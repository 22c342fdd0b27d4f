import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { AlertState, AlertTransition, transitionId } from '../../domain/alerts/AlertState';
import { nextAlertStates } from '../../domain/alerts/nextAlertStates';
import { rollUp } from '../../domain/alerts/rollUp';
import { AuditEntry, auditEntryId } from '../../domain/AuditEntry';
import { Clock, isoUtc } from '../../domain/Clock';
import {
  AlertDelivery,
  AlertLog,
  AlertSink,
  AlertSinkFailed,
  AlertSinkName,
  AlertStore,
  AuditTrail,
  Versioned,
  WriteConflict,
} from '../ports';
import { AlertRelay } from './AlertRelay';

/** The prefix of the log line written when a sink refuses or cannot be reached. */
export const ALERT_DELIVERY_FAILED_PREFIX = 'CERTFLEET_ALERT_DELIVERY_FAILED';

/** How the notification outbox is worked through. */
export interface DeliveryPolicy {
  /** Deliveries read at a time… */
  batchSize: number;
  /** …and at most this many batches a run (a run is a minute's timer). */
  maxBatches: number;
  /** The first retry waits this long, doubling with each failure… */
  retryBaseMs: number;
  /** …up to this (a sink down for hours is tried this often, and hears everything after). */
  retryMaxMs: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  batchSize: 500,
  maxBatches: 40,
  retryBaseMs: 30_000,
  retryMaxMs: 15 * 60_000,
};

export interface DeliverAlertsDependencies {
  store: AlertStore;
  sinks: readonly AlertSink[];
  audit: AuditTrail;
  relay: AlertRelay;
  log: AlertLog;
  clock: Clock;
  settings: AlertSettings;
  policy: DeliveryPolicy;
}

export interface DeliveryReport {
  at: string;
  /** Accepted by each sink. */
  sent: Partial<Record<AlertSinkName, number>>;
  /** Refused or unreachable, to be retried. */
  failed: Partial<Record<AlertSinkName, number>>;
  /** Device notifications a fleet alert says for them. */
  rolledUp: number;
  /** Fleet alerts raised, escalated or resolved by this run. */
  fleetTransitions: AlertTransition[];
}

/**
 * Use case: works through the notification outbox (every minute, and after the simulated
 * fleet's steps). Device notifications of one rule and one cause are first counted together:
 * at `rollUpThreshold` open device alerts the group becomes one fleet alert (raised, escalated,
 * resolved like any other, audited, queued at once) and its device notifications are settled as
 * rolled up instead of sent. Each other delivery goes to its sink; accepted, it is settled and
 * audited (`alert.delivered`); refused, it is retried with backoff, forever, so a sink that was
 * down for hours hears everything once it is back. One failure a run per sink: after it, that
 * sink's other deliveries wait for its retry untried. A retried run sends nothing twice that was
 * settled; a run that dies between a sink's answer and the settling sends that one again, with
 * the same idempotency key.
 */
export class DeliverAlerts {
  constructor(private readonly deps: DeliverAlertsDependencies) {}

  async deliver(): Promise<DeliveryReport> {
    const now = isoUtc(this.deps.clock.now());
    const report: DeliveryReport = {
      at: now,
      sent: {},
      failed: {},
      rolledUp: 0,
      fleetTransitions: [],
    };
    const { batchSize, maxBatches } = this.deps.policy;
    // Sinks that failed in this run, and when they are tried again.
    const down = new Map<AlertSinkName, string>();
    // Batch by batch: the fleet notifications a batch queues are due in the next one.
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const due = await this.deps.store.duePending(now, batchSize);
      if (due.length === 0) break;
      const groups = await this.rollUpGroups(due, now, report);
      const audit: AuditEntry[] = [];
      for (const delivery of due) {
        const entry = await this.deliverOne(delivery, groups, now, report, down);
        if (entry) audit.push(entry);
      }
      if (audit.length > 0) await this.deps.audit.append(audit, { mayAlreadyBeWritten: true });
      // What failed stays pending with a later attempt; a batch short of full was the last.
      if (due.length < batchSize) {
        const more = await this.deps.store.duePending(now, 1);
        if (more.length === 0) break;
      }
    }
    return report;
  }

  /**
   * The fleet subjects among these deliveries that are rolled up after this run (their fleet
   * alert is open, or was open before this run and resolved in it): each is looked at once,
   * from its group's open device alerts, and its fleet alert moved on.
   */
  private async rollUpGroups(
    due: readonly Versioned<AlertDelivery>[],
    now: string,
    report: DeliveryReport,
  ): Promise<Set<string>> {
    const subjects = new Set(due.flatMap((d) => (d.value.group ? [d.value.group] : [])));
    if (subjects.size === 0) return subjects;
    const previous: AlertState[] = [];
    for await (const state of this.deps.store.listOpen({ scope: 'fleet' })) {
      if (subjects.has(state.subject)) previous.push(state);
    }
    const conditions = [];
    for (const subject of subjects) {
      const members = await this.deps.store.listGroup(subject);
      conditions.push(...rollUp(members, this.deps.settings).fleet);
    }
    const { transitions } = nextAlertStates(previous, conditions, now);
    await this.deps.relay.acceptFleet(transitions, now);
    report.fleetTransitions.push(...transitions);
    return new Set([...previous.map((s) => s.subject), ...conditions.map((c) => c.subject)]);
  }

  private async deliverOne(
    delivery: Versioned<AlertDelivery>,
    rolledUpGroups: ReadonlySet<string>,
    now: string,
    report: DeliveryReport,
    down: Map<AlertSinkName, string>,
  ): Promise<AuditEntry | undefined> {
    const d = delivery.value;
    if (d.group !== undefined && (await this.rolledUp(d, rolledUpGroups))) {
      const settled = await this.settle(delivery, { ...d, state: 'rolled-up', settledAt: now });
      if (!settled) return undefined;
      report.rolledUp += 1;
      return deliveredEntry(d, 'rolled-up', now);
    }
    const sink = this.deps.sinks.find((s) => s.name === d.sink);
    if (!sink) return undefined; // a sink no longer configured: left as it is
    const retryAt = down.get(d.sink);
    if (retryAt !== undefined) {
      // The sink failed earlier in this run: the rest wait for its retry, untried.
      await this.settle(delivery, { ...d, nextAttemptAt: retryAt });
      return undefined;
    }
    const attempts = d.attempts + 1;
    try {
      await sink.send(d.notification);
    } catch (error) {
      const failure = error instanceof AlertSinkFailed ? error : undefined;
      const reason = failure ? failure.message : error instanceof Error ? error.name : 'failed';
      const backoff = Math.min(
        this.deps.policy.retryMaxMs,
        this.deps.policy.retryBaseMs * 2 ** (attempts - 1),
      );
      const wait = Math.max(backoff, failure?.details.retryAfterMs ?? 0);
      const nextAttemptAt = new Date(Date.parse(now) + wait).toISOString();
      down.set(d.sink, nextAttemptAt);
      await this.settle(delivery, { ...d, attempts, lastError: reason, nextAttemptAt });
      report.failed[d.sink] = (report.failed[d.sink] ?? 0) + 1;
      this.deps.log.error(
        `${ALERT_DELIVERY_FAILED_PREFIX} ${JSON.stringify({
          sink: d.sink,
          notificationId: d.notification.id,
          rule: d.notification.rule,
          attempts,
          retryable: failure?.retryable ?? true,
          reason,
        })}`,
      );
      return undefined;
    }
    await this.settle(delivery, { ...d, attempts, state: 'delivered', settledAt: now });
    report.sent[d.sink] = (report.sent[d.sink] ?? 0) + 1;
    return deliveredEntry({ ...d, attempts }, 'sent', now);
  }

  /**
   * Whether a device notification is said by a fleet alert instead: its group's fleet alert is
   * open (or resolved in this run); and a resolution always goes the way its alert's raising
   * went, so a sink never hears a device alert resolve that it never heard raised.
   */
  private async rolledUp(d: AlertDelivery, rolledUpGroups: ReadonlySet<string>): Promise<boolean> {
    if (d.notification.status === 'resolved') {
      for (const severity of ['warning', 'critical'] as const) {
        const raisedId = transitionId(d.notification.alertId, 'raised', severity);
        const raised = await this.deps.store.findDelivery(d.sink, raisedId);
        if (raised && raised.state !== 'pending') return raised.state === 'rolled-up';
      }
    }
    return rolledUpGroups.has(d.group!);
  }

  /** Settles a delivery; false when another run settled it first (then it is that run's). */
  private async settle(previous: Versioned<AlertDelivery>, next: AlertDelivery): Promise<boolean> {
    try {
      await this.deps.store.settle(next, previous);
      return true;
    } catch (error) {
      if (error instanceof WriteConflict) return false;
      throw error;
    }
  }
}

function deliveredEntry(
  d: AlertDelivery,
  deliveredAs: 'sent' | 'rolled-up',
  now: string,
): AuditEntry {
  const n = d.notification;
  return {
    id: auditEntryId(['alert.delivered', d.sink, n.id]),
    type: 'alert.delivered',
    hub: n.hub ?? '*',
    deviceId: n.deviceId ?? '*',
    occurredAt: now,
    recordedAt: now,
    delivery: {
      notificationId: n.id,
      alertId: n.alertId,
      rule: n.rule,
      status: n.status,
      sink: d.sink,
      deliveredAs,
      attempts: d.attempts,
    },
  };
}
