import { renewalDueAt } from '../../shared/agent/renewalDueAt';
import { DEFAULT_RETRY, retryDelayMs } from '../../shared/agent/RetryPolicy';
import { Alarm, LONGEST_WAIT_MS } from '../../shared/agent/Timers';
import { DAY_MS, ManualClock, MINUTE_MS } from '../../shared/domain/Clock';
import { ManualScheduler } from './support/ManualScheduler';

describe('when the agent renews by itself', () => {
  const validity = {
    validFrom: new Date('2026-11-01T00:00:00Z'),
    validUntil: new Date('2026-12-01T00:00:00Z'),
  };

  it('renews at 80% of a 30-day lifetime, on day 24', () => {
    expect(renewalDueAt(validity, 0.8).toISOString()).toBe('2026-11-25T00:00:00.000Z');
  });

  it("renews before certfleet's default of 85% would ask it to", () => {
    expect(renewalDueAt(validity, 0.8).getTime()).toBeLessThan(
      renewalDueAt(validity, 0.85).getTime(),
    );
  });
});

describe('retrying after a failure', () => {
  const half = () => 0.5;

  it('waits about a minute after the first failure, doubling after each', () => {
    const [first, second, third] = [1, 2, 3].map((n) => retryDelayMs(n, DEFAULT_RETRY, half));
    expect(first).toBe(0.75 * MINUTE_MS);
    expect(second).toBe(2 * first!);
    expect(third).toBe(4 * first!);
  });

  it('never waits longer than the cap, however many failures', () => {
    for (const failures of [7, 20, 1000]) {
      expect(retryDelayMs(failures, DEFAULT_RETRY, () => 0.999999)).toBeLessThanOrEqual(
        DEFAULT_RETRY.maxMs,
      );
    }
  });

  it('spreads devices that failed together between half the delay and all of it', () => {
    expect(retryDelayMs(3, DEFAULT_RETRY, () => 0)).toBe(2 * MINUTE_MS);
    expect(retryDelayMs(3, DEFAULT_RETRY, () => 0.999999)).toBeCloseTo(4 * MINUTE_MS, -1);
  });

  it("waits at least as long as the server's Retry-After", () => {
    expect(retryDelayMs(1, DEFAULT_RETRY, half, 10 * MINUTE_MS)).toBe(10 * MINUTE_MS);
  });

  it('honours a Retry-After only up to its longest wait', () => {
    expect(retryDelayMs(1, DEFAULT_RETRY, half, 365 * DAY_MS)).toBe(DEFAULT_RETRY.maxMs);
  });
});

describe('an alarm set for an instant', () => {
  it('fires at the instant, even 60 days ahead, past what one Node timer can wait', async () => {
    const clock = new ManualClock('2026-11-01T00:00:00Z');
    const scheduler = new ManualScheduler(clock);
    const alarm = new Alarm(clock, scheduler);
    const firedAt: string[] = [];
    alarm.set(new Date('2026-12-31T00:00:00Z'), () => firedAt.push(clock.now().toISOString()));

    await scheduler.advanceTo('2026-12-30T23:59:59Z');
    expect(firedAt).toEqual([]);
    await scheduler.advanceTo('2027-01-01T00:00:00Z');
    expect(firedAt).toEqual(['2026-12-31T00:00:00.000Z']);
    expect(Math.max(...scheduler.requestedDelays)).toBeLessThanOrEqual(LONGEST_WAIT_MS);
  });

  it('fires on time when the wall clock jumps ahead while it waits', async () => {
    const clock = new ManualClock('2026-11-01T00:00:00Z');
    const scheduler = new ManualScheduler(clock);
    const alarm = new Alarm(clock, scheduler);
    let fired = false;
    alarm.set(new Date(clock.now().getTime() + 10 * DAY_MS), () => (fired = true));
    clock.advance(10 * DAY_MS); // the device slept, or its clock was set
    await scheduler.advanceBy(LONGEST_WAIT_MS);
    expect(fired).toBe(true);
  });

  it('does not fire once cancelled or set again', async () => {
    const clock = new ManualClock('2026-11-01T00:00:00Z');
    const scheduler = new ManualScheduler(clock);
    const alarm = new Alarm(clock, scheduler);
    const fired: string[] = [];
    alarm.set(new Date('2026-11-02T00:00:00Z'), () => fired.push('first'));
    alarm.set(new Date('2026-11-03T00:00:00Z'), () => fired.push('second'));
    await scheduler.advanceTo('2026-11-04T00:00:00Z');
    expect(fired).toEqual(['second']);

    alarm.set(new Date('2026-11-05T00:00:00Z'), () => fired.push('third'));
    alarm.cancel();
    await scheduler.advanceTo('2026-11-06T00:00:00Z');
    expect(fired).toEqual(['second']);
    expect(scheduler.pendingCount).toBe(0);
  });
});
