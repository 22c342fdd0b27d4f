/**
 * What the planner simulation needs of a capacity planner: the renewals pending, and each
 * minute the devices to ask. Times are whole minutes from the start of the simulation.
 *
 * The simulation runs on BucketPlanner; the cross-check test runs the same fleet on an adapter
 * over the real CapacityPlanner (shared/domain/renewal/CapacityPlanner.ts) and compares.
 */
export interface FleetPlanner {
  /**
   * Device `device` needs a renewal request from minute `actionAt` on, before `validUntil`.
   * `fresh`: a renewal not yet begun (`healthy`), which may be started early for capacity;
   * otherwise the next attempt of a running campaign, never made before `actionAt`. Replaces
   * whatever the planner held for the device.
   */
  add(device: number, actionAt: number, validUntil: number, fresh: boolean): void;
  /** The device needs no request any more (asked, renewed, expired, given up). */
  remove(device: number): void;
  /**
   * The devices to ask in `minute`, at most `capacity` (what is left of the minute's budget),
   * dropped from the plan. Called once a minute, minutes increasing.
   */
  takeMinute(minute: number, capacity: number): readonly number[];
  /** Renewals waiting past their action time after the last `takeMinute`: demand over capacity. */
  readonly overdue: number;
}

export interface PlannerSetup {
  devices: number;
  /** Minutes the planner may be asked about: the simulation plus the horizon. */
  minutes: number;
  renewalsPerMinute: number;
  /** Renewals due within this many minutes are seen, and may be started early. */
  horizonMinutes: number;
  /** Minute 0 in milliseconds since the epoch (UTC), for planners that work on dates. */
  startMs: number;
}
