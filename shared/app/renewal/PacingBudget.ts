import { AuditEntry, AuditEventType, auditEntryId } from '../../domain/AuditEntry';
import { Clock, isoUtc } from '../../domain/Clock';
import { MethodOutcomeKind } from '../../domain/renewal/MethodOutcome';
import {
  Incident,
  PacingChange,
  PacingPolicy,
  PacingState,
  Probe,
  addProbes,
  initialPacing,
  recordOutcome,
  release,
  reserve,
  resolveIncidents,
  settleProbes,
} from '../../domain/renewal/Pacing';
import { AuditTrail, PacingStore } from '../ports';
import { retryOnWriteConflict } from '../retryOnWriteConflict';
import { AskResult, wasAsked } from './AskResult';

/**
 * The fleet's renewal budget and health, shared by every sweep and every ask: how many requests
 * this minute has left, which hubs (or the whole fleet) are paused, and the incidents open. It
 * lives in the pacing store, one record changed under its ETag; the decisions are the domain's
 * (shared/domain/renewal/Pacing.ts). Each incident opened or resolved is audited once.
 */
export class PacingBudget {
  constructor(
    private readonly store: PacingStore,
    private readonly audit: AuditTrail,
    private readonly clock: Clock,
    private readonly policy: PacingPolicy,
  ) {}

  /** The pacing state as stored (a fresh one before the first write). */
  async read(now: string): Promise<PacingState> {
    return (await this.store.read())?.value ?? initialPacing(now);
  }

  /** Takes up to `wanted` requests from this minute's budget; `state`: the pacing after. */
  reserve(wanted: number, now: string): Promise<{ granted: number; state: PacingState }> {
    return this.update((state) => reserve(state, now, wanted, this.policy));
  }

  /**
   * Counts renewals whose deadline passed without a new certificate (`hubs`: each one's hub) as
   * failures in the fleet's window: no-shows are what an issuer outage looks like, so the
   * failure spike they open is an incident.
   */
  async recordNoShows(hubs: readonly string[], now: string): Promise<PacingChange> {
    return this.update((state) => {
      let next = state;
      const opened: Incident[] = [];
      for (const hub of hubs) {
        const change = this.countOutcome(next, now, 'no-show', hub);
        next = change.state;
        opened.push(...change.opened);
      }
      return { state: next, opened, resolved: [] };
    });
  }

  /**
   * Closes a reservation of `granted` requests: counts each answer into the pacing state (a
   * throttled hub pauses, a failure spike pauses the fleet), gives back the budget no device was
   * asked with, and resolves the incidents that have passed.
   */
  async recordAnswers(
    results: readonly AskResult[],
    granted: number,
    now: string,
  ): Promise<PacingChange> {
    const asked = results.filter(wasAsked);
    return this.update((state) => {
      let next = release(state, now, granted - asked.length);
      const opened: Incident[] = [];
      for (const result of asked) {
        const change = this.countOutcome(next, result.at, result.kind, result.hub, result.detail);
        next = change.state;
        opened.push(...change.opened);
      }
      const resolution = resolveIncidents(next, now, this.policy);
      return { state: resolution.state, opened, resolved: resolution.resolved };
    });
  }

  /** Accepted requests made while recovering from an issuer outage, watched as probes. */
  async recordProbes(probes: readonly Probe[]): Promise<PacingState> {
    const { state } = await this.update((current) => ({ state: addProbes(current, probes) }));
    return state;
  }

  /**
   * Settles the probes (`renewed`: those whose device holds a later certificate now): one that
   * renewed ends the recovery; those past their deadline make room for others.
   */
  async settleProbes(renewed: (probe: Probe) => boolean, now: string): Promise<PacingState> {
    const { state } = await this.update((current) => ({
      state: settleProbes(current, now, renewed),
    }));
    return state;
  }

  /** One answer counted into a pacing state, without storing it (the policy is this budget's). */
  countOutcome(
    state: PacingState,
    at: string,
    kind: MethodOutcomeKind | 'no-show',
    hub: string,
    detail?: string,
  ): PacingChange {
    return recordOutcome(state, at, kind, hub, this.policy, detail);
  }

  /** One audit record per fleet-wide incident opened or resolved (not one per device). */
  async auditIncidents(
    opened: readonly Incident[],
    resolved: readonly Incident[],
    now: string,
  ): Promise<number> {
    const entry = (incident: Incident, type: AuditEventType): AuditEntry => ({
      id: auditEntryId([type, incident.id]),
      type,
      hub: incident.hub ?? '*',
      deviceId: '*',
      occurredAt: type === 'incident.opened' ? incident.openedAt : now,
      recordedAt: now,
      detail: `${incident.kind}: ${incident.detail}`,
    });
    const entries = [
      ...opened.map((i) => entry(i, 'incident.opened')),
      ...resolved.map((i) => entry(i, 'incident.resolved')),
    ];
    if (entries.length > 0) await this.audit.append(entries, { mayAlreadyBeWritten: true });
    return entries.length;
  }

  /**
   * Read, change, write the pacing state under its ETag; on a conflict, read and change again.
   * Returns what the change that was written decided.
   */
  private update<R extends { state: PacingState }>(change: (state: PacingState) => R): Promise<R> {
    return retryOnWriteConflict('pacing state', async () => {
      const now = isoUtc(this.clock.now());
      const stored = await this.store.read();
      const result = change(stored?.value ?? initialPacing(now));
      await this.store.write(result.state, stored);
      return result;
    });
  }
}
