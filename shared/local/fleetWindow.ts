import { DAY_MS, HOUR_MS, isoUtc } from '../domain/Clock';
import type { FleetOptions } from '../simulation/fleet';

/**
 * How long after its last day a simulated fleet's run still writes: alert delivery past the
 * longest roll-up hold (10 minutes by default) and the final checkpoint (FleetRun.ts), with room
 * to spare.
 */
export const FLEET_RUN_TAIL_MS = HOUR_MS;

/**
 * The fleet's options with its days moved back by whole days, as few as needed for its run to be
 * over `FLEET_RUN_TAIL_MS` before `now`; as they are when it already is.
 *
 * Real agents run on the wall clock after the simulated fleet, and write to the same audit trail.
 * A trail only goes forward: a record appended after a checkpoint must say it was appended after
 * it, and a checkpoint cannot be dated before the one it follows (docs/auditing.md). Ending the
 * fleet's virtual days before the wall clock keeps the agents' records and checkpoints after the
 * fleet's. Whole days keep every device's day the same (online windows are hours of the UTC
 * day, checkpoints and reports follow midnight), so the fleet has the same history, on other
 * dates.
 */
export function fleetEndingBefore(options: FleetOptions, now: Date): FleetOptions {
  const end = Date.parse(options.start) + options.days * DAY_MS;
  const latestEnd = now.getTime() - FLEET_RUN_TAIL_MS;
  if (end <= latestEnd) return options;
  return shiftFleet(options, -Math.ceil((end - latestEnd) / DAY_MS) * DAY_MS);
}

/** Every date of the options moved by `deltaMs`. */
function shiftFleet(options: FleetOptions, deltaMs: number): FleetOptions {
  const move = (iso: string) => isoUtc(Date.parse(iso) + deltaMs);
  return {
    ...options,
    start: move(options.start),
    ...(options.cohort
      ? { cohort: { ...options.cohort, hourStart: move(options.cohort.hourStart) } }
      : {}),
    dpsOutages: options.dpsOutages.map((o) => ({ from: move(o.from), until: move(o.until) })),
    manualRenewals: options.manualRenewals.map((m) => ({ ...m, at: move(m.at) })),
    ...(options.profiles
      ? {
          profiles: options.profiles.map((p) => ({
            ...p,
            provisionAt: move(p.provisionAt),
            ...(p.dark ? { dark: { from: move(p.dark.from), until: move(p.dark.until) } } : {}),
          })),
        }
      : {}),
  };
}
