import { PlanRotation, RotationSettings } from '../../../shared/app/rotation/PlanRotation';
import { applyLedgerEvent } from '../../../shared/domain/applyLedgerEvent';
import { DAY_MS, isoUtc } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { nextActionAt } from '../../../shared/domain/renewal/nextActionAt';
import { DEFAULT_RENEWAL_TIMING } from '../../../shared/domain/renewal/RenewalTiming';
import { Rotation } from '../../../shared/domain/rotation/Rotation';
import { aContext, patch, recordOf } from '../../support/ledgerEvents';
import { InMemoryRotationStore } from '../../support/memoryPorts';
import { HUB, RenewalWorld, aDeviceNamed, plus } from '../../support/renewalWorld';

/**
 * Planned CA rotations on in-memory ports, with the renewal engine beside them: declared, the
 * ledger gone through in runs that stop and resume, each device's slot written into its record,
 * the sweep asking devices at their slots, the status counting who moved off the issuer, and
 * the rotation's fleet alert raised and resolved.
 */
const DECLARED = '2026-11-23T12:00:00.000Z';
const COMPLETE_BY = '2027-01-22T12:00:00.000Z';
const OLD_CA = 'CN=Contoso Issuing CA 2024, O=Contoso';
const NEW_CA = 'CN=Contoso Issuing CA 2026, O=Contoso';
const WHO = 'ops@contoso.com';

/** A device holding a one-year certificate from `issuer`, expiring `days` after 1 June 2027. */
function aDeviceFrom(deviceId: string, issuer: string | undefined, days = 0): DeviceRecord {
  const record = aDeviceNamed(deviceId, {
    validFrom: '2026-06-01T00:00:00.000Z',
    validUntil: plus('2027-06-01T00:00:00.000Z', days * DAY_MS),
  });
  if (issuer) record.current!.issuer = issuer;
  return record;
}

/** The fleet: ten devices on the old CA (expiring in reverse order of their ids), others. */
function aFleet(): DeviceRecord[] {
  const onOldCa = Array.from({ length: 10 }, (_, i) =>
    aDeviceFrom(`meter-${String(i).padStart(2, '0')}`, OLD_CA, 10 - i),
  );
  return [
    ...onOldCa,
    aDeviceFrom('pump-new-1', NEW_CA),
    aDeviceFrom('pump-new-2', NEW_CA),
    aDeviceFrom('sensor-dates-only', undefined),
    // Its own renewal (85% of 60 days: 22 December) falls inside the window.
    (() => {
      const r = aDeviceNamed('valve-short', {
        validFrom: '2026-11-01T00:00:00.000Z',
        validUntil: '2026-12-31T00:00:00.000Z',
      });
      r.current!.issuer = OLD_CA;
      return r;
    })(),
  ];
}

interface Setup {
  world: RenewalWorld;
  store: InMemoryRotationStore;
  rotations: PlanRotation;
}

function aSetup(settings: Partial<RotationSettings> = {}, renewalsPerMinute = 400): Setup {
  const world = new RenewalWorld({ now: DECLARED, alerts: {}, renewalsPerMinute });
  const store = new InMemoryRotationStore();
  const rotations = new PlanRotation({
    ledger: world.ledger,
    store,
    audit: world.audit,
    clock: world.clock,
    alertRelay: world.alertRelay,
    alertStore: world.alertStore,
    settings: {
      renewalsPerMinute,
      timing: DEFAULT_RENEWAL_TIMING,
      trackEveryMs: 0,
      alerts: world.alertSettings,
      ...settings,
    },
  });
  return { world, store, rotations };
}

async function declared(
  { rotations }: Setup,
  completeBy = COMPLETE_BY,
  issuer = OLD_CA,
): Promise<Rotation> {
  const result = await rotations.declare({ issuer, completeBy, who: WHO, why: 'CA retires' });
  if (!('rotation' in result)) throw new Error(result.problem);
  return result.rotation;
}

/** Runs the timer until the rotation reaches `status` (or gives up after `runs`). */
async function workUntil(setup: Setup, id: string, done: (r: Rotation) => boolean, runs = 20) {
  const reports = [];
  for (let i = 0; i < runs; i += 1) {
    reports.push(await setup.rotations.work());
    if (done(setup.store.get(id)!)) return reports;
  }
  throw new Error(`rotation ${id} did not get there: ${JSON.stringify(setup.store.get(id)?.work)}`);
}

/** The device reports a new certificate (version 3 of its twin) at the world's time. */
async function reportsRenewal(world: RenewalWorld, deviceId: string, issuer: string, version = 3) {
  const key = { hub: HUB, deviceId };
  const stored = await world.ledger.read(key);
  const now = isoUtc(world.clock.now());
  const event = {
    ...patch(version, {
      validFrom: now,
      validUntil: plus(now, 365 * DAY_MS),
      issuer,
      subject: `CN=${deviceId}`,
    }),
    deviceId,
    occurredAt: now,
  };
  const record = recordOf(applyLedgerEvent(stored?.value, event, { ...aContext(), now }));
  await world.ledger.write({ ...record, pendingAudit: [] }, stored);
}

const slotOf = (world: RenewalWorld, deviceId: string) => world.record(deviceId).rotation?.slotAt;

describe('planning a rotation', () => {
  it('goes through the ledger in runs that stop and resume, and gives every affected device its place', async () => {
    const setup = aSetup({ batchSize: 2, maxRecordsPerRun: 5 });
    await setup.world.given(...aFleet());
    const rotation = await declared(setup);

    const reports = await workUntil(setup, rotation.id, (r) => r.status === 'active');

    // 14 records, 5 a run: the count takes three runs, the places three more.
    expect(reports.map((r) => r.steps.map((s) => `${s.from}>${s.to}`).join())).toEqual([
      'count>count',
      'count>count',
      'count>assign',
      'assign>assign',
      'assign>assign',
      'assign>track',
    ]);
    expect(reports[0]!.steps[0]).toMatchObject({ records: 5, stopped: 'record-limit' });
    const slots = Array.from({ length: 10 }, (_, i) =>
      slotOf(setup.world, `meter-${String(i).padStart(2, '0')}`),
    );
    // The earliest expiry (meter-09) first, every slot inside the window, in the index.
    expect(
      slots.every((s) => s !== undefined && s < setup.store.get(rotation.id)!.slotsEndAt),
    ).toBe(true);
    expect([...slots].reverse()).toEqual([...slots].sort());
    expect(nextActionAt(setup.world.record('meter-09'))).toBe(slots[9]);
    expect(setup.world.record('valve-short').rotation).toMatchObject({ id: rotation.id });
    expect(setup.world.record('valve-short').rotation?.slotAt).toBeUndefined();
    expect(setup.world.record('pump-new-1').rotation).toBeUndefined();
  });

  it('audits the declaration, the plan and each device’s place once, however often a run stopped', async () => {
    const setup = aSetup({ batchSize: 2, maxRecordsPerRun: 3 });
    await setup.world.given(...aFleet());
    const rotation = await declared(setup);

    await workUntil(setup, rotation.id, (r) => r.status === 'active');

    const trail = setup.world.trail().filter((e) => e.type.startsWith('rotation.'));
    expect(trail.filter((e) => e.type === 'rotation.declared')).toEqual([
      expect.objectContaining({
        rotation: expect.objectContaining({ id: rotation.id, by: WHO, why: 'CA retires' }),
      }),
    ]);
    expect(trail.filter((e) => e.type === 'rotation.planned')).toHaveLength(1);
    expect(trail.filter((e) => e.type === 'rotation.planned')[0]!.detail).toMatch(
      /^11 devices hold a certificate from the issuer \(1 more name no issuer\); 10 need a slot/,
    );
    const scheduled = trail.filter((e) => e.type === 'rotation.scheduled').map((e) => e.deviceId);
    expect(scheduled.sort()).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `meter-${String(i).padStart(2, '0')}`),
      'valve-short',
    ]);
  });

  it('refuses a second open rotation of the same issuer, however its DN is written', async () => {
    const setup = aSetup();
    const first = await declared(setup);

    const again = await setup.rotations.declare({
      issuer: 'o=Contoso, cn=contoso issuing ca 2024',
      completeBy: COMPLETE_BY,
      who: WHO,
      why: 'again',
    });

    expect(again).toEqual({
      refused: 'conflict',
      problem: `rotation ${first.id} away from ${OLD_CA} is planning: cancel it first`,
    });
  });

  it('refuses a declaration with a bad deadline, saying what is wrong', async () => {
    const setup = aSetup();

    const result = await setup.rotations.declare({
      issuer: OLD_CA,
      completeBy: 'soon',
      who: WHO,
      why: 'x',
    });

    expect(result).toMatchObject({
      refused: 'invalid',
      problem: expect.stringMatching(/^completeBy/),
    });
    expect(await setup.store.list()).toEqual([]);
  });
});

describe('a rotation under way', () => {
  it('has the sweep ask each device at its slot, as a rotation campaign, and counts who moved off the issuer', async () => {
    const setup = aSetup();
    const { world } = setup;
    await world.given(...aFleet());
    const rotation = await declared(setup);
    await workUntil(setup, rotation.id, (r) => r.status === 'active');

    // The earliest slot comes: the sweep asks that device, and nothing else yet.
    const first = slotOf(world, 'meter-09')!;
    await world.sweepAt(first);
    expect(world.methods.calls.map((c) => c.deviceId)).toEqual(['meter-09']);
    // The device is told why: its issuing CA is being retired.
    expect(world.methods.calls[0]?.request.reason).toBe('rotation');
    expect(world.record('meter-09').renewal).toMatchObject({ trigger: 'rotation' });
    expect(
      world.trail().find((e) => e.type === 'renewal.due' && e.deviceId === 'meter-09'),
    ).toMatchObject({
      renewal: { trigger: 'rotation', rotationId: rotation.id },
    });
    // It renews from the new CA; another device renews by itself; one renews from the old CA.
    await reportsRenewal(world, 'meter-09', NEW_CA);
    await reportsRenewal(world, 'meter-05', NEW_CA);
    await reportsRenewal(world, 'meter-04', OLD_CA);
    await setup.rotations.work();

    const status = setup.store.get(rotation.id)!;
    expect(status.progress).toMatchObject({
      done: 2,
      renewedByCertfleet: 1,
      renewedByDevice: 1,
      scheduled: 7,
      ownRenewal: 1,
      renewedSameIssuer: 1,
      unknownIssuer: 1,
      remaining: 9,
      atRiskCount: 1,
      meetsDeadline: false,
    });
    expect(status.progress?.atRisk).toEqual([
      expect.objectContaining({ deviceId: 'meter-04', reason: 'renewed-from-same-issuer' }),
    ]);
    // Its slot spent, the device that renewed from the old CA is not asked again.
    expect(nextActionAt(world.record('meter-04'))).not.toBe(slotOf(world, 'meter-04'));
  });

  it('is completed, and audited so, when no device holds a certificate from the issuer', async () => {
    const setup = aSetup();
    const { world } = setup;
    await world.given(aDeviceFrom('meter-1', OLD_CA), aDeviceFrom('meter-2', OLD_CA, 3));
    const rotation = await declared(setup);
    await workUntil(setup, rotation.id, (r) => r.status === 'active');

    world.moveTo(plus(DECLARED, 2 * DAY_MS));
    await reportsRenewal(world, 'meter-1', NEW_CA);
    await reportsRenewal(world, 'meter-2', NEW_CA);
    await workUntil(setup, rotation.id, (r) => r.status === 'completed');

    const completed = setup.store.get(rotation.id)!;
    expect(completed).toMatchObject({
      status: 'completed',
      completedAt: plus(DECLARED, 2 * DAY_MS),
      progress: { done: 2, remaining: 0, renewedByDevice: 2 },
      work: { phase: 'idle' },
    });
    expect(world.trail().filter((e) => e.type === 'rotation.completed')).toHaveLength(1);
    expect((await setup.rotations.work()).steps).toEqual([]);
  });
});

describe('the rotation-deadline-at-risk alert', () => {
  it('is raised when the plan cannot meet its deadline, and resolved once the devices moved', async () => {
    // One renewal a day for ten devices in a five-day window: it cannot be done.
    const setup = aSetup({}, 1 / 1440);
    const { world } = setup;
    await world.given(...aFleet().slice(0, 10));
    const rotation = await declared(setup, plus(DECLARED, 5 * DAY_MS));

    await workUntil(setup, rotation.id, (r) => r.work.phase === 'assign');

    const raised = world.alertTransitions().filter((t) => t.rule === 'rotation-deadline-at-risk');
    expect(raised.map((t) => [t.kind, t.severity, t.scope, t.subject])).toEqual([
      ['raised', 'critical', 'fleet', `rotation ${rotation.id}`],
    ]);
    expect(raised[0]!.summary).toMatch(/cannot meet its deadline/);
    expect(setup.store.get(rotation.id)!.plan?.slotAfterDeadline).toBeGreaterThan(0);

    await workUntil(setup, rotation.id, (r) => r.status === 'active');
    for (let i = 0; i < 10; i += 1)
      await reportsRenewal(world, `meter-${String(i).padStart(2, '0')}`, NEW_CA);
    await workUntil(setup, rotation.id, (r) => r.status === 'completed');

    const transitions = world
      .alertTransitions()
      .filter((t) => t.rule === 'rotation-deadline-at-risk')
      .map((t) => t.kind);
    expect(transitions).toEqual(['raised', 'resolved']);
    const open = [];
    for await (const a of world.alertStore.listOpen({ rule: 'rotation-deadline-at-risk' }))
      open.push(a);
    expect(open).toEqual([]);
  });
});

describe('cancelling a rotation', () => {
  it('takes the unused places off the records and audits who cancelled and why', async () => {
    const setup = aSetup({ batchSize: 2, maxRecordsPerRun: 5 });
    const { world } = setup;
    await world.given(...aFleet());
    const rotation = await declared(setup);
    await workUntil(setup, rotation.id, (r) => r.status === 'active');

    const result = await setup.rotations.cancel({ id: rotation.id, who: WHO, why: 'wrong CA' });
    await workUntil(setup, rotation.id, (r) => r.work.phase === 'idle');

    expect(result).toMatchObject({ rotation: { status: 'cancelled' } });
    expect(world.record('meter-03').rotation).toBeUndefined();
    expect(nextActionAt(world.record('meter-03'))).toBe(world.record('meter-03').renewalDueAt);
    expect(world.trail().find((e) => e.type === 'rotation.cancelled')).toMatchObject({
      rotation: { id: rotation.id, by: WHO, why: 'wrong CA' },
    });
    expect(await setup.rotations.cancel({ id: rotation.id, who: WHO, why: 'again' })).toEqual({
      refused: 'conflict',
      problem: `rotation ${rotation.id} is cancelled already`,
    });
  });

  it('is never overwritten by a pass that was under way when it came', async () => {
    const setup = aSetup({ batchSize: 2 });
    const { world, store } = setup;
    await world.given(...aFleet());
    const rotation = await declared(setup);
    await workUntil(setup, rotation.id, (r) => r.work.phase === 'assign');
    // Someone cancels while the places are being written: the pass's next save finds it.
    let cancelled = false;
    store.beforeWrite = () => {
      if (cancelled) return;
      cancelled = true;
      store.beforeWrite = undefined;
      void setup.rotations.cancel({ id: rotation.id, who: WHO, why: 'stop' });
    };

    const report = await setup.rotations.work();
    await new Promise((resolve) => setImmediate(resolve));

    expect(report.steps[0]).toMatchObject({ from: 'assign', stopped: 'changed-elsewhere' });
    expect(store.get(rotation.id)).toMatchObject({ status: 'cancelled', work: { phase: 'clear' } });
    await workUntil(setup, rotation.id, (r) => r.work.phase === 'idle');
    const placed = [...world.ledger.records.values()].filter(
      (r) => r.value.rotation?.id === rotation.id,
    );
    expect(placed).toEqual([]);
  });

  it('answers for a rotation that does not exist', async () => {
    const setup = aSetup();

    expect(
      await setup.rotations.cancel({ id: 'rot-20261123-00000000', who: WHO, why: 'x' }),
    ).toEqual({
      refused: 'not-found',
      problem: 'no rotation rot-20261123-00000000',
    });
  });
});
