import { MINUTE_MS } from '../../../shared/domain/Clock';
import { MethodOutcomeKind } from '../../../shared/domain/renewal/MethodOutcome';
import {
  DEFAULT_PACING_POLICY,
  Incident,
  PacingPolicy,
  PacingState,
  Probe,
  addProbes,
  initialPacing,
  isPaused,
  minuteOf,
  recordOutcome,
  release,
  reserve,
  resolveIncidents,
  settleProbes,
  usedThisMinute,
} from '../../../shared/domain/renewal/Pacing';
import { deepFreeze, plus } from '../../support/renewalRecords';

const POLICY: PacingPolicy = DEFAULT_PACING_POLICY;
const T0 = '2026-11-26T12:00:00.000Z';
const CONTOSO = 'contoso-hub';
const FABRIKAM = 'fabrikam-hub';

const at = (ms: number) => plus(T0, ms);
const minutes = (n: number) => n * MINUTE_MS;

type Outcome = MethodOutcomeKind | 'no-show';

/** Records outcomes in order; returns the state and every incident they opened. */
function recordAll(
  state: PacingState,
  outcomes: readonly { at: string; outcome: Outcome; hub?: string }[],
  policy: PacingPolicy = POLICY,
): { state: PacingState; opened: Incident[] } {
  const opened: Incident[] = [];
  let next = state;
  for (const o of outcomes) {
    const change = recordOutcome(next, o.at, o.outcome, o.hub ?? CONTOSO, policy, 'HTTP 401');
    expect(change.resolved).toEqual([]);
    next = change.state;
    opened.push(...change.opened);
  }
  return { state: next, opened };
}

/** `n` outcomes of one kind, one every `everyMs` from `from`. */
function many(n: number, outcome: Outcome, from: string, everyMs = 1000, hub = CONTOSO) {
  return Array.from({ length: n }, (_, i) => ({ at: plus(from, i * everyMs), outcome, hub }));
}

/** 20 attempts from T0, one every 30 s, half of them refused: a spike under the default policy. */
function aSpike(from: string = T0) {
  return Array.from({ length: 20 }, (_, i) => ({
    at: plus(from, i * 30_000),
    outcome: (i % 2 === 0 ? 'accepted' : 'refused') as Outcome,
  }));
}

describe('pacing', () => {
  describe('the minute’s budget', () => {
    it('grants requests up to the rate within a minute', () => {
      let state = initialPacing(T0);

      const first = reserve(state, at(1000), 300, POLICY);
      state = first.state;
      const second = reserve(state, at(20_000), 200, POLICY);
      state = second.state;
      const third = reserve(state, at(59_999), 1, POLICY);

      expect([first.granted, second.granted, third.granted]).toEqual([300, 100, 0]);
      expect(usedThisMinute(third.state, at(59_999))).toBe(400);
    });

    it('starts each minute with the full rate', () => {
      const spent = reserve(initialPacing(T0), at(59_000), 400, POLICY).state;

      const next = reserve(spent, at(60_000), 500, POLICY);

      expect(usedThisMinute(spent, at(60_000))).toBe(0);
      expect(next.granted).toBe(400);
      expect(next.state.minute).toBe('2026-11-26T12:01');
    });

    it('gives back what was reserved but not used in the same minute', () => {
      const spent = reserve(initialPacing(T0), at(1000), 400, POLICY).state;

      const released = release(spent, at(2000), 50);

      expect(usedThisMinute(released, at(3000))).toBe(350);
      expect(reserve(released, at(3000), 60, POLICY).granted).toBe(50);
    });

    it('ignores what is given back after the minute has passed', () => {
      const spent = reserve(initialPacing(T0), at(1000), 400, POLICY).state;

      const released = release(spent, at(61_000), 50);

      expect(released).toBe(spent);
      expect(usedThisMinute(released, at(61_000))).toBe(0);
    });

    it('never counts less than nothing used', () => {
      const spent = reserve(initialPacing(T0), at(1000), 10, POLICY).state;

      expect(usedThisMinute(release(spent, at(2000), 50), at(2000))).toBe(0);
    });

    it('grants nothing when nothing is wanted', () => {
      expect(reserve(initialPacing(T0), T0, 0, POLICY).granted).toBe(0);
    });

    it('names minutes by their UTC minute', () => {
      expect(minuteOf('2026-11-26T12:34:56.789Z')).toBe('2026-11-26T12:34');
    });
  });

  describe('throttling', () => {
    it('pauses only the throttled hub, for a minute, and opens one hub-throttled incident', () => {
      const change = recordOutcome(initialPacing(T0), T0, 'throttled', CONTOSO, POLICY);

      expect(isPaused(change.state, at(59_999), CONTOSO)).toBe(true);
      expect(isPaused(change.state, at(60_000), CONTOSO)).toBe(false);
      expect(isPaused(change.state, at(1000), FABRIKAM)).toBe(false);
      expect(isPaused(change.state, at(1000))).toBe(false);
      expect(change.opened).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          kind: 'hub-throttled',
          hub: CONTOSO,
          openedAt: T0,
          detail: `IoT Hub ${CONTOSO} is throttling direct methods (429); paused 60 s`,
        },
      ]);
      expect(change.state.incidents).toEqual(change.opened);
    });

    it('doubles the hub’s pause each time it throttles again after a pause, with one incident', () => {
      let state = initialPacing(T0);
      let now = T0;
      const pauses: number[] = [];
      const opened: Incident[] = [];
      for (let i = 0; i < 4; i += 1) {
        const change = recordOutcome(state, now, 'throttled', CONTOSO, POLICY);
        state = change.state;
        opened.push(...change.opened);
        const until = state.hubs[CONTOSO]!.pausedUntil;
        pauses.push((Date.parse(until) - Date.parse(now)) / MINUTE_MS);
        now = until;
      }

      expect(pauses).toEqual([1, 2, 4, 8]);
      expect(opened).toHaveLength(1);
    });

    it('counts the throttled answers of calls already in flight as one pause', () => {
      const { state, opened } = recordAll(initialPacing(T0), many(40, 'throttled', T0, 100));

      expect(state.hubs[CONTOSO]).toEqual({ pausedUntil: at(minutes(1)), pauses: 1 });
      expect(opened).toHaveLength(1);
    });

    it('pauses a hub at most maxPauseMs', () => {
      let state = initialPacing(T0);
      let now = T0;
      for (let i = 0; i < 20; i += 1) {
        state = recordOutcome(state, now, 'throttled', CONTOSO, POLICY).state;
        now = state.hubs[CONTOSO]!.pausedUntil;
      }
      const last = recordOutcome(state, now, 'throttled', CONTOSO, POLICY).state;

      expect(Date.parse(last.hubs[CONTOSO]!.pausedUntil) - Date.parse(now)).toBe(POLICY.maxPauseMs);
    });

    it('starts the doubling afresh once the hub accepts a call', () => {
      let state = recordOutcome(initialPacing(T0), T0, 'throttled', CONTOSO, POLICY).state;
      state = recordOutcome(state, at(minutes(1)), 'throttled', CONTOSO, POLICY).state;
      state = recordOutcome(state, at(minutes(3)), 'accepted', CONTOSO, POLICY).state;

      const next = recordOutcome(state, at(minutes(4)), 'throttled', CONTOSO, POLICY).state;

      expect(next.hubs[CONTOSO]).toEqual({ pausedUntil: at(minutes(5)), pauses: 1 });
    });

    it('keeps throttling out of the failure count', () => {
      const { state } = recordAll(initialPacing(T0), many(30, 'throttled', T0, minutes(2)));

      expect(state.recent).toEqual([]);
      expect(isPaused(state, at(minutes(60)))).toBe(false);
    });
  });

  describe('service errors', () => {
    it('pauses everyone for 15 minutes and opens one service-error incident', () => {
      const change = recordOutcome(initialPacing(T0), T0, 'error', CONTOSO, POLICY, 'HTTP 401');

      expect(change.state.pausedUntil).toBe(at(minutes(15)));
      expect(isPaused(change.state, at(minutes(15) - 1))).toBe(true);
      expect(isPaused(change.state, at(1000), FABRIKAM)).toBe(true);
      expect(isPaused(change.state, at(minutes(15)))).toBe(false);
      expect(change.opened).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          kind: 'service-error',
          openedAt: T0,
          detail: "renewal requests fail for a reason that is not the device's: HTTP 401",
        },
      ]);
    });

    it('counts the errors of calls already in flight as one pause and one incident', () => {
      const { state, opened } = recordAll(initialPacing(T0), many(100, 'error', T0, 200));

      expect(state.pausedUntil).toBe(at(minutes(15)));
      expect(state.pauses).toBe(1);
      expect(opened).toHaveLength(1);
    });

    it('doubles the pause when the error persists after it, without a second incident', () => {
      const first = recordAll(initialPacing(T0), [{ at: T0, outcome: 'error' }]);

      const second = recordAll(first.state, [{ at: at(minutes(15)), outcome: 'error' }]);

      expect(second.state.pausedUntil).toBe(at(minutes(45)));
      expect(second.opened).toEqual([]);
      expect(second.state.incidents).toHaveLength(1);
    });

    it('pauses everyone at most maxPauseMs', () => {
      let state = initialPacing(T0);
      let now = T0;
      const waits: number[] = [];
      for (let i = 0; i < 7; i += 1) {
        state = recordOutcome(state, now, 'error', CONTOSO, POLICY).state;
        waits.push((Date.parse(state.pausedUntil!) - Date.parse(now)) / MINUTE_MS);
        now = state.pausedUntil!;
      }

      expect(waits).toEqual([15, 30, 60, 120, 240, 240, 240]);
    });
  });

  describe('failure spikes', () => {
    it('pauses everyone once and opens one failure-spike incident, not one per failure', () => {
      const { state, opened } = recordAll(initialPacing(T0), [
        ...aSpike(),
        // The failures that keep coming in while paused change nothing.
        ...many(50, 'refused', at(minutes(10)), 1000),
      ]);
      const spikeAt = at(19 * 30_000);

      expect(opened).toEqual([
        expect.objectContaining({
          kind: 'failure-spike',
          openedAt: spikeAt,
          detail:
            '10 of the last 20 renewal attempts failed (an issuer or DPS outage?); renewals paused',
        }),
      ]);
      expect(state.pausedUntil).toBe(plus(spikeAt, minutes(15)));
      expect(state.pauses).toBe(1);
      expect(isPaused(state, plus(spikeAt, minutes(1)), FABRIKAM)).toBe(true);
    });

    it('does not pause before the 20th failure-heavy attempt', () => {
      const { state, opened } = recordAll(initialPacing(T0), aSpike().slice(0, 19));

      expect(opened).toEqual([]);
      expect(isPaused(state, at(minutes(10)))).toBe(false);
    });

    it('does not pause when fewer than half of the attempts failed', () => {
      const { state, opened } = recordAll(initialPacing(T0), [
        ...many(11, 'accepted', T0),
        ...many(9, 'refused', at(minutes(1))),
      ]);

      expect(opened).toEqual([]);
      expect(state.pausedUntil).toBeUndefined();
    });

    it.each<[Outcome, boolean]>([
      ['refused', true],
      ['timeout', true],
      ['no-show', true],
      ['offline', false],
      ['not-found', false],
      ['accepted', false],
    ])('counts %s as a failure: %s', (outcome, isFailure) => {
      const { state, opened } = recordAll(initialPacing(T0), many(20, outcome, T0, 30_000));

      expect(opened.map((i) => i.kind)).toEqual(isFailure ? ['failure-spike'] : []);
      expect(isPaused(state, at(minutes(11)))).toBe(isFailure);
    });

    it('forgets attempts older than the window', () => {
      const { state, opened } = recordAll(initialPacing(T0), [
        ...many(15, 'refused', T0),
        ...many(5, 'refused', at(minutes(31))),
      ]);

      expect(opened).toEqual([]);
      expect(state.recent).toEqual([{ minute: '2026-11-26T12:31', attempts: 5, failures: 5 }]);
    });

    it('doubles the pause when a second spike follows the first, under the same incident', () => {
      const first = recordAll(initialPacing(T0), aSpike());
      const resumedAt = first.state.pausedUntil!;

      const second = recordAll(first.state, aSpike(resumedAt));

      const spikeAt = plus(resumedAt, 19 * 30_000);
      expect(second.state.pausedUntil).toBe(plus(spikeAt, minutes(30)));
      expect(second.opened).toEqual([]);
      expect(second.state.incidents.map((i) => i.kind)).toEqual(['failure-spike']);
    });
  });

  describe('resolveIncidents', () => {
    it('closes a hub’s throttling once its pause is over, and not before', () => {
      const throttled = recordOutcome(initialPacing(T0), T0, 'throttled', CONTOSO, POLICY).state;

      const during = resolveIncidents(throttled, at(30_000), POLICY);
      const after = resolveIncidents(throttled, at(minutes(1)), POLICY);

      expect(during.resolved).toEqual([]);
      expect(during.state.incidents).toHaveLength(1);
      expect(after.resolved).toEqual(throttled.incidents);
      expect(after.state.incidents).toEqual([]);
      expect(after.opened).toEqual([]);
    });

    it('closes a hub’s throttling even while everyone is paused for something else', () => {
      let state = recordOutcome(initialPacing(T0), T0, 'throttled', CONTOSO, POLICY).state;
      state = recordOutcome(state, at(1000), 'error', FABRIKAM, POLICY).state;

      const change = resolveIncidents(state, at(minutes(2)), POLICY);

      expect(change.resolved.map((i) => i.kind)).toEqual(['hub-throttled']);
      expect(change.state.incidents.map((i) => i.kind)).toEqual(['service-error']);
    });

    it('keeps a fleet-wide incident open while its pause lasts, however well attempts go', () => {
      let state = recordOutcome(initialPacing(T0), T0, 'error', CONTOSO, POLICY).state;
      state = recordAll(state, many(5, 'accepted', at(minutes(1)))).state;

      const change = resolveIncidents(state, at(minutes(14)), POLICY);

      expect(change.resolved).toEqual([]);
      expect(change.state.incidents).toHaveLength(1);
    });

    it('keeps a fleet-wide incident open after its pause until an attempt works again', () => {
      const paused = recordAll(initialPacing(T0), aSpike()).state;
      const resumedAt = paused.pausedUntil!;

      const nothingTried = resolveIncidents(paused, resumedAt, POLICY);
      const worked = recordAll(paused, [{ at: resumedAt, outcome: 'accepted' }]).state;
      const change = resolveIncidents(worked, plus(resumedAt, 1000), POLICY);

      expect(nothingTried.resolved).toEqual([]);
      expect(change.resolved.map((i) => i.kind)).toEqual(['failure-spike']);
      expect(change.state.incidents).toEqual([]);
    });

    it('keeps a fleet-wide incident open after its pause while attempts still mostly fail', () => {
      const paused = recordAll(initialPacing(T0), aSpike()).state;
      const resumedAt = paused.pausedUntil!;
      const failing = recordAll(paused, [
        { at: resumedAt, outcome: 'accepted' },
        { at: plus(resumedAt, 1000), outcome: 'refused' },
      ]).state;

      expect(resolveIncidents(failing, plus(resumedAt, 2000), POLICY).resolved).toEqual([]);
    });

    it('starts the doubling afresh once every fleet-wide incident is closed', () => {
      let state = recordOutcome(initialPacing(T0), T0, 'error', CONTOSO, POLICY).state;
      state = recordOutcome(state, at(minutes(15)), 'error', CONTOSO, POLICY).state;
      expect(state.pauses).toBe(2);
      state = recordAll(state, [{ at: at(minutes(45)), outcome: 'accepted' }]).state;
      state = resolveIncidents(state, at(minutes(46)), POLICY).state;

      const next = recordOutcome(state, at(minutes(60)), 'error', CONTOSO, POLICY);

      expect(state.pauses).toBe(0);
      expect(next.state.pausedUntil).toBe(at(minutes(75)));
      expect(next.opened.map((i) => i.kind)).toEqual(['service-error']);
    });
  });

  describe('recovery after an issuer outage', () => {
    /** 20 accepted requests that brought no certificate by their deadline: an issuer outage. */
    const anOutage = () => recordAll(initialPacing(T0), many(20, 'no-show', T0, 30_000)).state;
    const aProbe = (deviceId: string, askedAt: string): Probe => ({
      hub: CONTOSO,
      deviceId,
      at: askedAt,
      deadline: plus(askedAt, minutes(60)),
      validUntil: '2026-11-28T00:00:00.000Z',
    });

    it('resumes after a spike of no-shows with three requests, not the full rate', () => {
      const paused = anOutage();
      const resumedAt = paused.pausedUntil!;

      const first = reserve(paused, resumedAt, 400, POLICY);
      const sameMinute = reserve(first.state, plus(resumedAt, 10_000), 400, POLICY);

      expect(paused.recovery).toEqual({ since: resumedAt, probes: [] });
      expect([first.granted, sameMinute.granted]).toEqual([3, 0]);
    });

    it('asks nobody more while three accepted probes wait for their certificates', () => {
      const resumedAt = anOutage().pausedUntil!;
      const probing = addProbes(anOutage(), [
        aProbe('meter-1', resumedAt),
        aProbe('meter-2', resumedAt),
        aProbe('meter-3', resumedAt),
      ]);

      expect(reserve(probing, plus(resumedAt, minutes(5)), 400, POLICY).granted).toBe(0);
    });

    it('asks another device in the next minute when a probe was refused rather than accepted', () => {
      const resumedAt = anOutage().pausedUntil!;
      const spent = reserve(anOutage(), resumedAt, 3, POLICY).state;
      const oneAccepted = addProbes(spent, [aProbe('meter-1', resumedAt)]);

      expect(reserve(oneAccepted, plus(resumedAt, minutes(1)), 400, POLICY).granted).toBe(2);
    });

    it('resumes at the full rate after a spike of refusals, which answers judge at once', () => {
      const paused = recordAll(initialPacing(T0), many(20, 'refused', T0, 30_000)).state;

      expect(paused.recovery).toBeUndefined();
      expect(reserve(paused, paused.pausedUntil!, 400, POLICY).granted).toBe(400);
    });

    it('keeps the incident open while probing, however many requests are accepted', () => {
      const paused = anOutage();
      const resumedAt = paused.pausedUntil!;
      const accepted = recordAll(paused, many(3, 'accepted', resumedAt)).state;

      const change = resolveIncidents(accepted, plus(resumedAt, minutes(1)), POLICY);

      expect(change.resolved).toEqual([]);
      expect(change.state.incidents.map((i) => i.kind)).toEqual(['failure-spike']);
    });

    it('goes back to the full rate and resolves the incident once a probe brings a certificate', () => {
      const paused = anOutage();
      const resumedAt = paused.pausedUntil!;
      const probes = [aProbe('meter-1', resumedAt), aProbe('meter-2', resumedAt)];
      const probing = addProbes(recordAll(paused, many(2, 'accepted', resumedAt)).state, probes);
      const renewedAt = plus(resumedAt, minutes(2));

      const recovered = settleProbes(probing, renewedAt, (p) => p.deviceId === 'meter-2');
      const change = resolveIncidents(recovered, renewedAt, POLICY);

      expect(recovered.recovery).toBeUndefined();
      expect(reserve(recovered, renewedAt, 400, POLICY).granted).toBe(400);
      expect(change.resolved.map((i) => i.kind)).toEqual(['failure-spike']);
      expect(change.state.pauses).toBe(0);
      expect(change.state.recoveredAt).toBeUndefined();
    });

    it('drops a probe whose deadline passed without a certificate, making room for another', () => {
      const resumedAt = anOutage().pausedUntil!;
      const late = aProbe('meter-1', resumedAt);
      const recent = aProbe('meter-2', plus(resumedAt, minutes(30)));
      const probing = addProbes(anOutage(), [late, recent]);

      const settled = settleProbes(probing, late.deadline, () => false);

      expect(settled.recovery?.probes).toEqual([recent]);
      expect(reserve(settled, late.deadline, 400, POLICY).granted).toBe(2);
      expect(resolveIncidents(settled, late.deadline, POLICY).resolved).toEqual([]);
    });

    it('keeps no probes when renewals are not recovering', () => {
      const state = initialPacing(T0);

      expect(addProbes(state, [aProbe('meter-1', T0)])).toBe(state);
      expect(settleProbes(state, T0, () => true)).toBe(state);
    });
  });

  describe('isPaused', () => {
    it('pauses every hub while everyone is paused, and one hub only while it is', () => {
      const state: PacingState = {
        ...initialPacing(T0),
        pausedUntil: at(minutes(5)),
        hubs: { [CONTOSO]: { pausedUntil: at(minutes(10)), pauses: 1 } },
      };

      expect(isPaused(state, at(minutes(4)))).toBe(true);
      expect(isPaused(state, at(minutes(4)), FABRIKAM)).toBe(true);
      expect(isPaused(state, at(minutes(6)))).toBe(false);
      expect(isPaused(state, at(minutes(6)), FABRIKAM)).toBe(false);
      expect(isPaused(state, at(minutes(6)), CONTOSO)).toBe(true);
      expect(isPaused(state, at(minutes(10)), CONTOSO)).toBe(false);
    });

    it('pauses nothing in a fresh state', () => {
      expect(isPaused(initialPacing(T0), T0, CONTOSO)).toBe(false);
    });
  });

  describe('purity', () => {
    it('never changes the state it is given', () => {
      const state = deepFreeze(
        recordAll(initialPacing(T0), [...aSpike(), { at: at(1000), outcome: 'throttled' }]).state,
      );
      const snapshot = structuredClone(state);

      reserve(state, T0, 10, POLICY);
      release(state, T0, 10);
      for (const outcome of ['accepted', 'refused', 'throttled', 'error', 'no-show'] as const)
        recordOutcome(state, at(minutes(30)), outcome, CONTOSO, POLICY);
      resolveIncidents(state, at(minutes(60)), POLICY);

      expect(state).toEqual(snapshot);
    });
  });
});
