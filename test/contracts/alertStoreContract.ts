import {
  AlertDelivery,
  AlertFilter,
  AlertSinkName,
  AlertStore,
  Versioned,
  WriteConflict,
} from '../../shared/app/ports';
import { AlertCondition } from '../../shared/domain/alerts/AlertCondition';
import { AlertState } from '../../shared/domain/alerts/AlertState';
import { nextAlertStates } from '../../shared/domain/alerts/nextAlertStates';
import { deviceKeyString } from '../../shared/domain/DeviceKey';

/**
 * What every AlertStore does: open alerts kept in step with the transitions the evaluation
 * decides (replays and late arrivals included), device alerts found by the group they roll up
 * into, and an outbox that never queues a notification twice. Run against the in-memory double
 * and the Table adapter on Azurite (AlertStore.test.ts), so the double cannot drift.
 */

const HUB = 'contoso-hub';
const T0 = '2026-11-27T06:00:00.000Z';
const T1 = '2026-11-28T00:00:00.000Z';
const T2 = '2026-11-29T00:00:00.000Z';
const T3 = '2026-11-30T00:00:00.000Z';
const VALID_UNTIL = '2026-12-01T00:00:00.000Z';
const CAUSE = 'issuer=Contoso Devices CA;cohort=2026-11;expires=2026-12-01';
const RENEWED_CAUSE = 'issuer=Contoso Devices CA;cohort=2026-11;expires=2026-12-31';

function aDeviceCondition(deviceId: string, at: Partial<AlertCondition> = {}): AlertCondition {
  const hub = at.hub ?? HUB;
  return {
    rule: 'certificate-expiring',
    severity: 'warning',
    scope: 'device',
    subject: deviceKeyString({ hub, deviceId }),
    summary: `Device ${deviceId} in ${hub}: its certificate expires soon.`,
    hub,
    deviceId,
    validUntil: VALID_UNTIL,
    cause: CAUSE,
    ...at,
  };
}

function aFleetCondition(at: Partial<AlertCondition> = {}): AlertCondition {
  const rule = at.rule ?? 'certificate-expiring';
  const cause = at.cause ?? CAUSE;
  return {
    rule,
    severity: 'warning',
    scope: 'fleet',
    subject: `${rule};${cause}`,
    summary: `25 devices: ${rule} (issuer Contoso Devices CA).`,
    cause,
    count: 25,
    sample: [`${HUB}/thermostat-0001`, `${HUB}/thermostat-0002`],
    validUntil: VALID_UNTIL,
    ...at,
  };
}

function aDelivery(
  id: string,
  at: Partial<AlertDelivery> = {},
  sink: AlertSinkName = 'webhook',
): AlertDelivery {
  return {
    sink,
    notification: {
      id,
      alertId: `alert-of-${id}`,
      rule: 'certificate-expiring',
      severity: 'warning',
      status: 'raised',
      scope: 'device',
      summary: 'Device thermostat-0001 in contoso-hub: its certificate expires soon.',
      raisedAt: T0,
      at: T0,
      hub: HUB,
      deviceId: 'thermostat-0001',
      validUntil: VALID_UNTIL,
    },
    queuedAt: T0,
    nextAttemptAt: T0,
    attempts: 0,
    state: 'pending',
    ...at,
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** `scope rule subject severity` of each alert, in the order listed. */
async function openAlerts(store: AlertStore, filter?: AlertFilter): Promise<string[]> {
  return (await collect(store.listOpen(filter))).map(
    (a) => `${a.scope} ${a.rule} ${a.subject} ${a.severity}`,
  );
}

/** Every delivery, by sink and notification id (the port promises no order). */
async function deliveries(store: AlertStore): Promise<AlertDelivery[]> {
  const key = (d: AlertDelivery) => `${d.sink}\n${d.notification.id}`;
  return (await collect(store.listDeliveries())).sort((a, b) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0,
  );
}

/** The one due delivery, as read for sending. */
async function theOnlyDue(store: AlertStore, now: string): Promise<Versioned<AlertDelivery>> {
  const due = await store.duePending(now, 10);
  expect(due).toHaveLength(1);
  return due[0]!;
}

export function alertStoreContract(name: string, aStore: () => AlertStore): void {
  describe(`the AlertStore contract: ${name}`, () => {
    describe('open alerts', () => {
      it('lists a raised alert open, as the evaluation left it', async () => {
        const store = aStore();
        const raised = nextAlertStates([], [aDeviceCondition('thermostat-0001')], T0);

        await store.applyTransitions(raised.transitions);

        expect(await collect(store.listOpen())).toEqual(raised.states);
      });

      it('replaces an escalated alert: the same episode at its new severity', async () => {
        const store = aStore();
        const c = aDeviceCondition('thermostat-0001');
        const raised = nextAlertStates([], [c], T0);
        const escalated = nextAlertStates(raised.states, [{ ...c, severity: 'critical' }], T1);

        await store.applyTransitions([...raised.transitions, ...escalated.transitions]);

        const open = await collect(store.listOpen());
        expect(open).toEqual(escalated.states);
        expect(open[0]).toMatchObject({
          id: raised.states[0]!.id,
          episodeStartedAt: T0,
          severity: 'critical',
          peakSeverity: 'critical',
        });
      });

      it('removes a resolved alert', async () => {
        const store = aStore();
        const raised = nextAlertStates([], [aDeviceCondition('thermostat-0001')], T0);
        await store.applyTransitions(raised.transitions);

        await store.applyTransitions(nextAlertStates(raised.states, [], T1).transitions);

        expect(await openAlerts(store)).toEqual([]);
      });

      it('leaves a newer episode open when the resolution of an older one arrives late', async () => {
        const store = aStore();
        const c = aDeviceCondition('thermostat-0001');
        const first = nextAlertStates([], [c], T0);
        const firstResolved = nextAlertStates(first.states, [], T1);
        const second = nextAlertStates([], [c], T2);

        await store.applyTransitions([...first.transitions, ...second.transitions]);
        await store.applyTransitions(firstResolved.transitions);

        expect(await collect(store.listOpen())).toEqual(second.states);
      });

      it('changes nothing when an older episode is replayed after a newer one began', async () => {
        const store = aStore();
        const c = aDeviceCondition('thermostat-0001');
        const first = nextAlertStates([], [c], T0);
        const firstResolved = nextAlertStates(first.states, [], T1);
        const second = nextAlertStates([], [{ ...c, severity: 'critical' }], T2);
        const earlier = [...first.transitions, ...firstResolved.transitions];
        await store.applyTransitions([...earlier, ...second.transitions]);

        await store.applyTransitions(earlier);

        expect(await collect(store.listOpen())).toEqual(second.states);
      });

      it('keeps an escalation when the raise before it is replayed', async () => {
        const store = aStore();
        const c = aDeviceCondition('thermostat-0001');
        const raised = nextAlertStates([], [c], T0);
        const escalated = nextAlertStates(raised.states, [{ ...c, severity: 'critical' }], T1);
        await store.applyTransitions([...raised.transitions, ...escalated.transitions]);

        await store.applyTransitions(raised.transitions);

        expect(await collect(store.listOpen())).toEqual(escalated.states);
      });

      it('ends with the same alerts when the same transitions are applied twice', async () => {
        const store = aStore();
        const a = aDeviceCondition('thermostat-0001');
        const b = aDeviceCondition('thermostat-0002');
        const fleet = aFleetCondition();
        const raised = nextAlertStates([], [a, b, fleet], T0);
        const later = nextAlertStates(raised.states, [{ ...a, severity: 'critical' }, fleet], T1);
        const transitions = [...raised.transitions, ...later.transitions];

        await store.applyTransitions(transitions);
        const once = await collect(store.listOpen());
        await store.applyTransitions(transitions);

        expect(await collect(store.listOpen())).toEqual(once);
        expect(await openAlerts(store)).toEqual([
          `device certificate-expiring ${HUB}/thermostat-0001 critical`,
          `fleet certificate-expiring certificate-expiring;${CAUSE} warning`,
        ]);
      });

      it('lists device alerts before fleet alerts, each by rule, then by subject', async () => {
        const store = aStore();
        const conditions = [
          aFleetCondition(),
          aDeviceCondition('thermostat-0002', { rule: 'renewal-overdue' }),
          aDeviceCondition('thermostat-0002'),
          aFleetCondition({ rule: 'certificate-expired', severity: 'critical' }),
          aDeviceCondition('thermostat-0001'),
          aDeviceCondition('meter-0001', { hub: 'aardvark-hub' }),
        ];

        await store.applyTransitions(nextAlertStates([], conditions, T0).transitions);

        expect(await openAlerts(store)).toEqual([
          'device certificate-expiring aardvark-hub/meter-0001 warning',
          `device certificate-expiring ${HUB}/thermostat-0001 warning`,
          `device certificate-expiring ${HUB}/thermostat-0002 warning`,
          `device renewal-overdue ${HUB}/thermostat-0002 warning`,
          `fleet certificate-expired certificate-expired;${CAUSE} critical`,
          `fleet certificate-expiring certificate-expiring;${CAUSE} warning`,
        ]);
      });

      const FILTERED: [string, AlertFilter, string[]][] = [
        ['severity', { severity: 'critical' }, ['hub-b/sensor-2', 'certificate-expired;' + CAUSE]],
        ['rule', { rule: 'certificate-expiring' }, ['hub-a/sensor-1']],
        ['scope fleet', { scope: 'fleet' }, ['certificate-expired;' + CAUSE]],
        [
          'scope device',
          { scope: 'device' },
          ['hub-b/sensor-2', 'hub-a/sensor-1', 'hub-a/sensor-3'],
        ],
        ['hub', { hub: 'hub-a' }, ['hub-a/sensor-1', 'hub-a/sensor-3']],
        [
          'hub, rule and severity',
          { hub: 'hub-a', rule: 'renewal-overdue', severity: 'warning' },
          ['hub-a/sensor-3'],
        ],
        ['hub and scope fleet', { hub: 'hub-a', scope: 'fleet' }, []],
        ['a rule nothing fires', { rule: 'device-silent' }, []],
      ];
      it.each(FILTERED)(
        'lists only the open alerts that match a filter: %s',
        async (_, filter, subjects) => {
          const store = aStore();
          const conditions = [
            aDeviceCondition('sensor-1', { hub: 'hub-a' }),
            aDeviceCondition('sensor-2', {
              hub: 'hub-b',
              rule: 'certificate-expired',
              severity: 'critical',
            }),
            aDeviceCondition('sensor-3', { hub: 'hub-a', rule: 'renewal-overdue' }),
            aFleetCondition({ rule: 'certificate-expired', severity: 'critical' }),
          ];
          await store.applyTransitions(nextAlertStates([], conditions, T0).transitions);

          const listed = await collect(store.listOpen(filter));

          expect(listed.map((a) => a.subject)).toEqual(subjects);
        },
      );
    });

    describe('groups', () => {
      it("lists the open device alerts of one rule and cause, not the group's fleet alert nor its neighbours", async () => {
        const store = aStore();
        const group = `certificate-expiring;${CAUSE}`;
        const inGroup = ['thermostat-0003', 'thermostat-0001', 'thermostat-0002'].map((id) =>
          aDeviceCondition(id, { rolledUpInto: group }),
        );
        const conditions = [
          ...inGroup,
          aFleetCondition(),
          aDeviceCondition('thermostat-0004', { cause: RENEWED_CAUSE }),
          aDeviceCondition('thermostat-0005', { rule: 'renewal-overdue' }),
        ];
        const raised = nextAlertStates([], conditions, T0);
        await store.applyTransitions(raised.transitions);

        const listed = await store.listGroup(group);

        expect(listed.map((a) => a.subject)).toEqual(
          ['thermostat-0001', 'thermostat-0002', 'thermostat-0003'].map((id) => `${HUB}/${id}`),
        );
        expect(listed).toEqual(
          raised.states.filter((s) => s.rolledUpInto === group).sort(bySubject),
        );
        expect(await store.listGroup(`certificate-expired;${CAUSE}`)).toEqual([]);
      });

      it('moves a device alert to its new group when it escalates with a new cause', async () => {
        const store = aStore();
        const c = aDeviceCondition('thermostat-0001');
        const raised = nextAlertStates([], [c], T0);
        const escalated = nextAlertStates(
          raised.states,
          [{ ...c, severity: 'critical', cause: RENEWED_CAUSE }],
          T1,
        );

        await store.applyTransitions([...raised.transitions, ...escalated.transitions]);

        expect(await store.listGroup(`certificate-expiring;${CAUSE}`)).toEqual([]);
        expect(await store.listGroup(`certificate-expiring;${RENEWED_CAUSE}`)).toEqual(
          escalated.states,
        );
        expect(await collect(store.listOpen())).toEqual(escalated.states);
      });

      it('removes an alert on a resolution that names a cause it was not raised with', async () => {
        const store = aStore();
        const c = aDeviceCondition('thermostat-0001', { rule: 'chain-untrusted' });
        const raised = nextAlertStates([], [c], T0);
        // The device renews: the expiry day in its cause moves, with no transition to tell.
        const renewed = nextAlertStates(raised.states, [{ ...c, cause: RENEWED_CAUSE }], T1);
        expect(renewed.transitions).toEqual([]);
        await store.applyTransitions(raised.transitions);

        await store.applyTransitions(nextAlertStates(renewed.states, [], T2).transitions);

        expect(await openAlerts(store)).toEqual([]);
        expect(await store.listGroup(`chain-untrusted;${CAUSE}`)).toEqual([]);
      });
    });

    describe('keys', () => {
      it('keeps hubs, device ids and causes with # / \\ ? quotes and non-ASCII characters as they are', async () => {
        const store = aStore();
        const hub = "fab'#?\\/hall-ü";
        const cause = "issuer=Contoso #1 / Zürich 'root' ?\\;cohort=雪;expires=2026-12-01";
        const c = aDeviceCondition("sensor#7/äö'?\\雪🙂", { hub, cause });
        const raised = nextAlertStates([], [c], T0);

        await store.applyTransitions(raised.transitions);

        expect(await collect(store.listOpen({ hub }))).toEqual(raised.states);
        expect(await store.listGroup(`certificate-expiring;${cause}`)).toEqual(raised.states);
        await store.applyTransitions(nextAlertStates(raised.states, [], T1).transitions);
        expect(await openAlerts(store)).toEqual([]);
      });

      it('keeps a fleet alert whose cause is longer than a table key can hold', async () => {
        const store = aStore();
        const f = aFleetCondition({
          cause: `issuer=${'Überwachungs-CA '.repeat(80)};cohort=;expires=`,
        });
        const raised = nextAlertStates([], [f], T0);
        const escalated = nextAlertStates(raised.states, [{ ...f, severity: 'critical' }], T1);

        await store.applyTransitions([...raised.transitions, ...escalated.transitions]);
        expect(await collect(store.listOpen())).toEqual(escalated.states);

        await store.applyTransitions(nextAlertStates(escalated.states, [], T2).transitions);
        expect(await openAlerts(store)).toEqual([]);
      });
    });

    describe('the outbox', () => {
      it('queues deliveries, the same notification once for each sink', async () => {
        const store = aStore();
        const queued = [
          aDelivery('n-1', {}, 'webhook'),
          aDelivery('n-1', {}, 'teams'),
          aDelivery('n-2'),
        ];

        await store.enqueue(queued);

        expect(await deliveries(store)).toEqual([queued[1], queued[0], queued[2]]);
      });

      it('leaves a queued delivery as it is when it is queued again, delivered or not', async () => {
        const store = aStore();
        const pending = aDelivery('n-1');
        await store.enqueue([pending, aDelivery('n-2')]);
        const read = (await store.duePending(T0, 10)).find(
          (d) => d.value.notification.id === 'n-1',
        )!;
        const delivered: AlertDelivery = {
          ...pending,
          state: 'delivered',
          attempts: 1,
          settledAt: T1,
        };
        await store.settle(delivered, read);

        await store.enqueue([
          aDelivery('n-1', { queuedAt: T2, nextAttemptAt: T2 }),
          aDelivery('n-2', { queuedAt: T2 }),
        ]);

        expect(await deliveries(store)).toEqual([delivered, aDelivery('n-2')]);
        expect((await store.duePending(T3, 10)).map((d) => d.value.notification.id)).toEqual([
          'n-2',
        ]);
      });

      it('keeps the first of one notification queued twice for one sink in one call', async () => {
        const store = aStore();

        await store.enqueue([
          aDelivery('n-1'),
          aDelivery('n-1', { nextAttemptAt: T3, attempts: 5 }),
        ]);

        expect(await deliveries(store)).toEqual([aDelivery('n-1')]);
      });

      it('hands out pending deliveries whose time has come, oldest first, at most the limit', async () => {
        const store = aStore();
        const EARLIER = '2026-11-26T00:00:00.000Z';
        await store.enqueue([
          aDelivery('n-a', { nextAttemptAt: T1 }),
          aDelivery('n-future', { nextAttemptAt: T2 }),
          aDelivery('n-b', { nextAttemptAt: T0 }),
          aDelivery('n-delivered', { state: 'delivered', settledAt: T0 }),
          aDelivery('n-0', { nextAttemptAt: T1 }),
          aDelivery('n-rolled-up', { state: 'rolled-up', settledAt: T0 }),
          aDelivery('n-z', { nextAttemptAt: T1, queuedAt: EARLIER }),
        ]);
        const ids = async (limit: number) =>
          (await store.duePending(T1, limit)).map((d) => d.value.notification.id);

        expect(await ids(10)).toEqual(['n-b', 'n-z', 'n-0', 'n-a']);
        expect(await ids(2)).toEqual(['n-b', 'n-z']);
        expect(await ids(0)).toEqual([]);
      });

      it('settles a delivery over the ETag it was handed out with, and hands it out again with a new one', async () => {
        const store = aStore();
        await store.enqueue([aDelivery('n-1')]);
        const read = await theOnlyDue(store, T0);
        const retry: AlertDelivery = {
          ...read.value,
          attempts: 1,
          nextAttemptAt: T2,
          lastError: 'webhook answered 503',
        };

        await store.settle(retry, read);

        expect(await store.duePending(T1, 10)).toEqual([]);
        const again = await theOnlyDue(store, T2);
        expect(again.value).toEqual(retry);
        expect(again.etag).not.toBe(read.etag);
      });

      it('refuses a settle over a stale ETag with WriteConflict and keeps the first', async () => {
        const store = aStore();
        await store.enqueue([aDelivery('n-1')]);
        const readByBoth = await theOnlyDue(store, T0);
        const delivered: AlertDelivery = {
          ...readByBoth.value,
          state: 'delivered',
          attempts: 1,
          settledAt: T1,
        };
        await store.settle(delivered, readByBoth);

        await expect(
          store.settle({ ...readByBoth.value, attempts: 1, nextAttemptAt: T2 }, readByBoth),
        ).rejects.toBeInstanceOf(WriteConflict);
        expect(await deliveries(store)).toEqual([delivered]);
      });
    });

    it('hands out copies: changing what it took or returned changes nothing stored', async () => {
      const store = aStore();
      const fleet = aFleetCondition();
      const raised = nextAlertStates([], [fleet], T0);
      const expected = structuredClone(raised.states);
      const delivery = aDelivery('n-1');
      await store.applyTransitions(raised.transitions);
      await store.enqueue([delivery]);

      raised.transitions[0]!.sample!.push('intruder');
      delivery.notification.summary = 'changed';
      const [listed] = await collect(store.listOpen());
      listed!.sample!.length = 0;
      const [due] = await store.duePending(T0, 1);
      due!.value.notification.sample = ['changed'];

      expect(await collect(store.listOpen())).toEqual(expected);
      expect(await deliveries(store)).toEqual([aDelivery('n-1')]);
    });
  });
}

function bySubject(a: AlertState, b: AlertState): number {
  return a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0;
}
