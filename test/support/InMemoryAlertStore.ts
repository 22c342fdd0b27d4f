import {
  AlertDelivery,
  AlertFilter,
  AlertStore,
  alertStoreRules,
  Versioned,
  WriteConflict,
} from '../../shared/app/ports';
import {
  AlertState,
  AlertTransition,
  alertKey,
  stateOfTransition,
} from '../../shared/domain/alerts/AlertState';
import { fleetSubject } from '../../shared/domain/alerts/rollUp';

/**
 * The AlertStore in memory, for use-case tests: the same contract as TableAlertStore
 * (test/contracts/alertStoreContract.ts runs against both), ETags included, and copies in and
 * out so a caller cannot change what is stored by holding on to it.
 */
export class InMemoryAlertStore implements AlertStore {
  /** Open alerts by alert key (scope, rule, subject). */
  readonly open = new Map<string, AlertState>();
  /** Deliveries by sink and notification id. */
  readonly deliveries = new Map<string, Versioned<AlertDelivery>>();
  private version = 0;

  async applyTransitions(transitions: readonly AlertTransition[]): Promise<void> {
    for (const t of transitions) {
      const key = alertKey(t);
      const stored = this.open.get(key);
      if (t.kind === 'resolved') {
        // A resolution of an older episode leaves a newer one open.
        if (stored?.id === t.alertId) this.open.delete(key);
      } else if (!stored || alertStoreRules.replaces(stored, t)) {
        this.open.set(key, structuredClone(stateOfTransition(t)));
      }
    }
  }

  async *listOpen(filter: AlertFilter = {}): AsyncIterable<AlertState> {
    const found = [...this.open.values()].filter((a) => alertStoreRules.matches(a, filter));
    found.sort(alertStoreRules.byScopeRuleSubject);
    for (const a of found) yield structuredClone(a);
  }

  async listGroup(subject: string): Promise<AlertState[]> {
    return [...this.open.values()]
      .filter((a) => a.scope === 'device' && fleetSubject(a) === subject)
      .sort(alertStoreRules.byScopeRuleSubject)
      .map((a) => structuredClone(a));
  }

  async enqueue(deliveries: readonly AlertDelivery[]): Promise<void> {
    for (const d of deliveries) {
      const key = deliveryKey(d);
      if (!this.deliveries.has(key))
        this.deliveries.set(key, { value: structuredClone(d), etag: this.nextEtag() });
    }
  }

  async duePending(now: string, limit: number): Promise<Versioned<AlertDelivery>[]> {
    return [...this.deliveries.values()]
      .filter(({ value }) => value.state === 'pending' && value.nextAttemptAt <= now)
      .sort((a, b) => alertStoreRules.oldestFirst(a.value, b.value))
      .slice(0, Math.max(0, limit))
      .map((d) => structuredClone(d));
  }

  async settle(next: AlertDelivery, previous: Versioned<AlertDelivery>): Promise<void> {
    const key = deliveryKey(next);
    if (this.deliveries.get(key)?.etag !== previous.etag)
      throw new WriteConflict(`alert delivery ${next.notification.id} changed since it was read`);
    this.deliveries.set(key, { value: structuredClone(next), etag: this.nextEtag() });
  }

  async findDelivery(
    sink: AlertDelivery['sink'],
    notificationId: string,
  ): Promise<AlertDelivery | undefined> {
    const found = this.deliveries.get(`${sink}\n${notificationId}`);
    return found ? structuredClone(found.value) : undefined;
  }

  async *listDeliveries(): AsyncIterable<AlertDelivery> {
    const all = [...this.deliveries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, d] of all) yield structuredClone(d.value);
  }

  private nextEtag(): string {
    this.version += 1;
    return `W/"alert-${this.version}"`;
  }
}

function deliveryKey(d: AlertDelivery): string {
  return `${d.sink}\n${d.notification.id}`;
}
