import { ExpiryCause } from './FleetSimulationResult';
import { FleetPlanner, PlannerSetup } from './planner/FleetPlanner';

/** Hooks into a run, called as things happen: for tests that follow devices one by one. */
export interface SimulationTrace {
  /** Each direct-method call, as answered. */
  requested?(
    minute: number,
    device: number,
    answer: {
      outcome: 'accepted' | 'refused' | 'offline';
      validUntil: number;
      /** Failures of the campaign after this answer. */
      failures: number;
      /** Asked before its due time, for capacity. */
      early: boolean;
    },
  ): void;
  /** A device the plan picked, known to be offline: not called, it waits to connect. */
  awaitedConnection?(minute: number, device: number): void;
  /**
   * A planned rotation gave the device a slot (`slotAt`, a minute) at its announcement, for its
   * certificate expiring at `validUntil`.
   */
  slotted?(minute: number, device: number, slotAt: number, validUntil: number): void;
  /** `waited`: the minutes the device waited for a slot before it was asked, or before expiry. */
  expired?(
    minute: number,
    device: number,
    cause: ExpiryCause,
    waited: { from: number; until: number },
  ): void;
}

/** How a run is driven, beside its config: the planner it runs, and hooks into it. */
export interface SimulationOptions {
  /** The planner to run; BucketPlanner by default. The cross-check test passes the real one. */
  planner?: (setup: PlannerSetup) => FleetPlanner;
  trace?: SimulationTrace;
}
