import { AlertDelivery, AlertSinkName, AlertStore } from '../../app/ports';
import { VirtualTime } from './VirtualTime';

/**
 * The run's copy of the notification outbox's schedule: when the next pending delivery may be
 * tried, so the alert-delivery timer runs in that minute and not in every minute of 90 days.
 * It is kept from the store's own calls (what the relay queues, what delivery settles), as the
 * renewal index copy is kept from the ledger's writes.
 *
 * A delivery queued again after it was settled stays settled, as in the store (queuing keeps
 * the first), so the copy never waits for one the store will not hand out.
 */
export class OutboxCopy {
  /** Pending deliveries (`sink`, newline, notification id) and when each may next be tried. */
  private readonly pending = new Map<string, number>();
  private readonly settled = new Set<string>();

  /**
   * `sinks`: the configured ones. Delivery leaves another sink's deliveries as they are (a sink
   * no longer configured, in reused storage), so the copy does not wait for them.
   */
  constructor(private readonly sinks: ReadonlySet<AlertSinkName>) {}

  queued(delivery: AlertDelivery): void {
    if (!this.sinks.has(delivery.sink)) return;
    const key = keyOf(delivery);
    if (this.pending.has(key) || this.settled.has(key)) return;
    this.record(key, delivery);
  }

  settledAs(delivery: AlertDelivery): void {
    if (!this.sinks.has(delivery.sink)) return;
    this.record(keyOf(delivery), delivery);
  }

  /** The earliest instant a pending delivery may be tried (ms); Infinity when none waits. */
  nextDueAt(): number {
    let earliest = Infinity;
    for (const at of this.pending.values()) if (at < earliest) earliest = at;
    return earliest;
  }

  private record(key: string, delivery: AlertDelivery): void {
    if (delivery.state === 'pending') {
      this.pending.set(key, Date.parse(delivery.nextAttemptAt));
    } else {
      this.pending.delete(key);
      this.settled.add(key);
    }
  }
}

/**
 * Watches the alert store in place (the very object the relay and delivery hold), as the run
 * watches the ledger: its writes count as work in flight for the virtual time (the relay writes
 * during a sweep, while paced callers sleep), and what is queued and settled updates the copy.
 * Returns the function that restores it.
 */
export function watchAlertStore(
  store: AlertStore,
  time: VirtualTime,
  copy: OutboxCopy,
): () => void {
  const applyTransitions = store.applyTransitions;
  const enqueue = store.enqueue;
  const settle = store.settle;
  store.applyTransitions = (transitions) =>
    time.track(() => applyTransitions.call(store, transitions));
  store.enqueue = (deliveries) =>
    time.track(async () => {
      await enqueue.call(store, deliveries);
      for (const d of deliveries) copy.queued(d);
    });
  store.settle = (next, previous) =>
    time.track(async () => {
      await settle.call(store, next, previous);
      copy.settledAs(next);
    });
  return () => {
    store.applyTransitions = applyTransitions;
    store.enqueue = enqueue;
    store.settle = settle;
  };
}

function keyOf(d: AlertDelivery): string {
  return `${d.sink}\n${d.notification.id}`;
}
