import { WallPacedClock } from '../../shared/cli/WallPacedClock';

/**
 * The clock of `certfleet sweep --now T`: the plan is made at T; the waits between calls are
 * real, and from the first one on the clock moves as the wall clock does.
 */
describe('WallPacedClock', () => {
  const T = '2026-11-26T12:00:58.000Z';

  /** A monotonic wall clock the test moves, and the real waits it was asked for. */
  function aWall() {
    const wall = { ms: 5_000, waits: [] as number[] };
    const clock = new WallPacedClock(new Date(T), {
      monotonicMs: () => wall.ms,
      wait: async (ms) => {
        wall.waits.push(ms);
        wall.ms += ms;
      },
    });
    return { wall, clock };
  }

  it('reads --now while nothing has waited, however long planning takes', () => {
    const { wall, clock } = aWall();
    wall.ms += 1_500;

    expect(clock.now().toISOString()).toBe(T);
  });

  it('really waits, and from the first wait on moves with the wall clock', async () => {
    const { wall, clock } = aWall();

    await clock.sleep(200);
    expect(clock.now().toISOString()).toBe('2026-11-26T12:00:58.200Z');
    wall.ms += 35; // a call takes its time
    expect(clock.now().toISOString()).toBe('2026-11-26T12:00:58.235Z');
    await clock.sleep(165);

    expect(wall.waits).toEqual([200, 165]);
    expect(clock.now().toISOString()).toBe('2026-11-26T12:00:58.400Z');
  });

  it('counts concurrent waits once: the time passed, not the sum of the waits', async () => {
    let wallMs = 5_000;
    const releases: (() => void)[] = [];
    const clock = new WallPacedClock(new Date(T), {
      monotonicMs: () => wallMs,
      wait: () => new Promise<void>((resolve) => releases.push(resolve)),
    });

    const waits = [clock.sleep(200), clock.sleep(400)];
    wallMs += 400;
    releases.forEach((release) => release());
    await Promise.all(waits);

    expect(clock.now().toISOString()).toBe('2026-11-26T12:00:58.400Z');
  });

  it('waits on real timers by default', async () => {
    const clock = new WallPacedClock(new Date(T));
    const started = performance.now();

    await clock.sleep(50);

    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(Date.parse(clock.now().toISOString()) - Date.parse(T)).toBeGreaterThanOrEqual(45);
  });
});
