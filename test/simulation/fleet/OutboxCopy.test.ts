import { AlertDelivery, AlertSinkName, WriteConflict } from '../../../shared/app/ports';
import { ManualClock } from '../../../shared/domain/Clock';
import { OutboxCopy, watchAlertStore } from '../../../shared/simulation/fleet/OutboxCopy';
import { VirtualTime } from '../../../shared/simulation/fleet/VirtualTime';
import { InMemoryAlertStore } from '../../support/InMemoryAlertStore';
import { aDeviceNotification } from '../../adapters/alerts/notifications';

/**
 * The fleet run's copy of the notification outbox's schedule: it must name the instant the
 * delivery timer next has work, and never wait for a delivery the store will not hand out.
 */

const T0 = '2026-11-27T06:00:00.000Z';
const T10 = '2026-11-27T06:10:00.000Z';

function aDelivery(
  id: string,
  nextAttemptAt: string,
  overrides: Partial<AlertDelivery> = {},
): AlertDelivery {
  return {
    sink: 'webhook',
    notification: aDeviceNotification({ id }),
    queuedAt: T0,
    nextAttemptAt,
    attempts: 0,
    state: 'pending',
    ...overrides,
  };
}

const webhookOnly = () => new OutboxCopy(new Set<AlertSinkName>(['webhook']));

describe('OutboxCopy', () => {
  it('names the earliest pending delivery, and nothing once all are settled', () => {
    const copy = webhookOnly();
    expect(copy.nextDueAt()).toBe(Infinity);

    copy.queued(aDelivery('tr-late', T10));
    copy.queued(aDelivery('tr-early', T0));
    expect(copy.nextDueAt()).toBe(Date.parse(T0));

    copy.settledAs(aDelivery('tr-early', T0, { state: 'delivered' }));
    expect(copy.nextDueAt()).toBe(Date.parse(T10));
    copy.settledAs(aDelivery('tr-late', T10, { state: 'rolled-up' }));
    expect(copy.nextDueAt()).toBe(Infinity);
  });

  it('follows a failed attempt to its retry', () => {
    const copy = webhookOnly();
    copy.queued(aDelivery('tr-1', T0));

    copy.settledAs(aDelivery('tr-1', T10, { attempts: 1, lastError: 'webhook sink answered 503' }));

    expect(copy.nextDueAt()).toBe(Date.parse(T10));
  });

  it('keeps a settled delivery settled when it is queued again, as the store does', () => {
    const copy = webhookOnly();
    copy.queued(aDelivery('tr-1', T0));
    copy.settledAs(aDelivery('tr-1', T0, { state: 'delivered' }));

    copy.queued(aDelivery('tr-1', T0));

    expect(copy.nextDueAt()).toBe(Infinity);
  });

  it('does not wait for a sink that is not configured', () => {
    const copy = webhookOnly();

    copy.queued(aDelivery('tr-1', T0, { sink: 'slack' }));

    expect(copy.nextDueAt()).toBe(Infinity);
  });
});

describe('watchAlertStore', () => {
  it('keeps the copy from what the store is asked to queue and settle, and restores the store', async () => {
    const store = new InMemoryAlertStore();
    const copy = webhookOnly();
    const restore = watchAlertStore(store, new VirtualTime(new ManualClock(T0)), copy);

    await store.enqueue([aDelivery('tr-1', T10)]);
    expect(copy.nextDueAt()).toBe(Date.parse(T10));
    const [due] = await store.duePending(T10, 10);
    await store.settle({ ...due!.value, state: 'delivered', settledAt: T10 }, due!);
    expect(copy.nextDueAt()).toBe(Infinity);

    restore();
    await store.enqueue([aDelivery('tr-2', T0)]);
    expect(copy.nextDueAt()).toBe(Infinity);
  });

  it('leaves the copy as it was when a settle loses its race', async () => {
    const store = new InMemoryAlertStore();
    const copy = webhookOnly();
    watchAlertStore(store, new VirtualTime(new ManualClock(T0)), copy);
    await store.enqueue([aDelivery('tr-1', T0)]);
    const [due] = await store.duePending(T0, 10);
    await store.settle({ ...due!.value, attempts: 1, nextAttemptAt: T10 }, due!);

    await expect(
      store.settle({ ...due!.value, state: 'delivered', settledAt: T0 }, due!),
    ).rejects.toBeInstanceOf(WriteConflict);

    expect(copy.nextDueAt()).toBe(Date.parse(T10));
  });
});
