import { Clock, isoUtc } from '../../domain/Clock';
import { DeviceKey, deviceKeyString } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import {
  CapacityPlan,
  NEEDS_REQUEST,
  PlanCandidate,
  PlannedStart,
  planFromDemand,
  renewalsToStartEarly,
} from '../../domain/renewal/CapacityPlanner';
import { MethodOutcomeKind } from '../../domain/renewal/MethodOutcome';
import { Incident, PacingPolicy, isPaused, usedThisMinute } from '../../domain/renewal/Pacing';
import { HEALTHY } from '../../domain/renewal/RenewalState';
import { RenewalTiming } from '../../domain/renewal/RenewalTiming';
import { renewalOf, startCampaign } from '../../domain/renewal/renewalTransitions';
import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { incidentTransitions } from '../../domain/alerts/incidentTransitions';
import { AuditOutbox, TouchedRecord } from '../AuditOutbox';
import { alertsOnWrite } from '../alerts/alertsOnWrite';
import { AlertRelay } from '../alerts/AlertRelay';
import { ActionEntry, AuditTrail, CertificateLedger, DeviceMethods, PacingStore } from '../ports';
import { AskResult, wasAsked } from './AskResult';
import { PacingBudget } from './PacingBudget';
import { AskReason, RenewalRequests } from './RenewalRequests';
import { applyDeadlinesAndExpiries, countDeadlinesAndExpiries } from './applyDeadlinesAndExpiries';
import { updateRecord } from '../updateRecord';
import { Askable, RenewalIndexWindow } from './RenewalIndexWindow';

/** How the renewal engine runs: its rates, horizon and policies (from config's RenewalConfig). */
export interface RenewalEngineSettings {
  /** Direct-method calls per second to one hub (IoT Hub S1: about 40 per unit). */
  methodCallsPerSecond: number;
  /** How far ahead the planner looks for renewals to start early. */
  horizonMs: number;
  maxConcurrentCalls: number;
  timing: RenewalTiming;
  pacing: PacingPolicy;
  /** Alerts are evaluated with each record written, and when their next check comes. */
  alerts?: AlertSettings;
}

export interface RenewalDependencies {
  ledger: CertificateLedger;
  audit: AuditTrail;
  pacing: PacingStore;
  /** Undefined when no IoT Hub is configured: then the sweep asks no device to renew. */
  methods?: DeviceMethods;
  clock: Clock;
  /** Waits; a test or a simulation passes one that moves its clock instead. */
  sleep: (ms: number) => Promise<void>;
  settings: RenewalEngineSettings;
  /** Where alert transitions go once audited (none: they stay in the records and the trail). */
  alertRelay?: AlertRelay;
}

export interface SweepReport {
  at: string;
  dryRun: boolean;
  /** Renewals pending within the planning horizon. */
  pending: number;
  /** What the plan asks in this minute (the dry run's answer). */
  planned: PlannedStart[];
  late: number;
  atRisk: number;
  requested: number;
  outcomes: Partial<Record<MethodOutcomeKind, number>>;
  skipped: number;
  /** Planned, but known to be disconnected: not called, asked when they connect. */
  awaitingConnection: number;
  deadlinesPassed: number;
  expired: number;
  pausedUntil?: string;
  requestsDisabled: boolean;
  incidentsOpened: Incident[];
  incidentsResolved: Incident[];
  auditWritten: number;
}

/**
 * Use case: renew certificates before it is too late, under Azure's quotas.
 *
 * The sweep (every minute, a singleton timer in Azure) reads from the renewal index what is due
 * and what changed, and keeps the rest of its planning horizon as counts between sweeps
 * (./renewal/RenewalIndexWindow.ts: cost grows with what is asked, not with the fleet nor with
 * the renewals waiting), applies deadlines and expiries (./renewal/applyDeadlinesAndExpiries.ts),
 * plans this minute's requests (shared/domain/renewal/CapacityPlanner.ts), reserves them from the
 * per-minute budget (./renewal/PacingBudget.ts), and asks each device by direct method, paced
 * per hub (./renewal/RenewalRequests.ts). Every step is a state change of the device's record
 * with its audit entries (the outbox); fleet-wide trouble becomes one incident.
 */
export class RenewDevices {
  private readonly outbox: AuditOutbox;
  private readonly budget: PacingBudget;
  private readonly requests: RenewalRequests;
  /** The renewal index as this instance's sweeps last read it (RenewalIndexWindow.ts). */
  private readonly window: RenewalIndexWindow;

  constructor(private readonly deps: RenewalDependencies) {
    this.window = new RenewalIndexWindow(deps.ledger, { horizonMs: deps.settings.horizonMs });
    this.outbox = new AuditOutbox(deps.ledger, deps.audit, deps.alertRelay);
    this.budget = new PacingBudget(deps.pacing, deps.audit, deps.clock, deps.settings.pacing);
    this.requests = new RenewalRequests({
      ledger: deps.ledger,
      methods: deps.methods,
      clock: deps.clock,
      sleep: deps.sleep,
      budget: this.budget,
      timing: deps.settings.timing,
      methodCallsPerSecond: deps.settings.methodCallsPerSecond,
      maxConcurrentCalls: deps.settings.maxConcurrentCalls,
      ...(deps.settings.alerts ? { alerts: deps.settings.alerts } : {}),
    });
  }

  get requestsEnabled(): boolean {
    return this.deps.methods !== undefined;
  }

  async sweep(options: { dryRun?: boolean } = {}): Promise<SweepReport> {
    const now = isoUtc(this.deps.clock.now());
    const dryRun = options.dryRun ?? false;
    const { settings } = this.deps;
    const pacing = await this.budget.read(now);

    // Whose renewals the plan may ask now: none without an IoT Hub, none of a paused hub's.
    const hubOpen = (hub: string) => this.requestsEnabled && !isPaused(pacing, now, hub);
    const askable: Askable = { hubOpen, requestable: (entry) => hubOpen(entry.hub) };
    const { plan, pending, waiting, bookkeeping, plannedFrom } = await this.gather(
      now,
      askable,
      usedThisMinute(pacing, now),
    );
    const report: SweepReport = {
      at: now,
      dryRun,
      pending,
      planned: plan.now,
      late: plan.late,
      atRisk: plan.atRisk,
      requested: 0,
      outcomes: {},
      skipped: 0,
      awaitingConnection: 0,
      deadlinesPassed: 0,
      expired: 0,
      requestsDisabled: !this.requestsEnabled,
      incidentsOpened: [],
      incidentsResolved: [],
      auditWritten: 0,
    };
    if (pacing.pausedUntil && now < pacing.pausedUntil) report.pausedUntil = pacing.pausedUntil;
    if (dryRun) return { ...report, ...countDeadlinesAndExpiries(bookkeeping, now) };

    // Devices whose alerts are due for a look and that this minute's plan does not ask (an ask
    // writes the record, which evaluates its alerts anyway).
    const asking = new Set(plan.now.map((p) => deviceKeyString(p)));
    // An entry without an alert check is a record written before alerts were evaluated: it is
    // looked at once, and has one from then on.
    const alertChecks = waiting.filter(
      (c) => (c.alertCheckAt ?? c.actionAt) <= now && !asking.has(deviceKeyString(c)),
    );
    this.window.expectWrites();
    const books = await applyDeadlinesAndExpiries(
      this.deps.ledger,
      [...bookkeeping, ...alertChecks],
      now,
      settings.timing,
      settings.alerts,
    );
    const touched: TouchedRecord[] = [...books.touched];
    report.deadlinesPassed = books.deadlinesPassed.length;
    report.expired = books.expired;
    // The wait for a certificate that never came counts as a failure in the fleet's window.
    const afterBooks = await this.budget.recordNoShows(
      books.deadlinesPassed.map((entry) => entry.hub),
      now,
    );
    const { granted, state: live } = await this.budget.reserve(plan.now.length, now);
    // Each ask carries the index entry it was planned from (see PlannedAsk).
    const asks = plan.now
      .slice(0, granted)
      .map((p) => ({ ...p, entry: plannedFrom.get(deviceKeyString(p)) }));
    const results = await this.requests.requestAll(asks, live, touched);
    // The entries asked leave the sweep's window; the records written bring theirs.
    this.window.recordWrites(
      touched,
      asks.flatMap((a) => (a.entry ? [a.entry] : [])),
    );
    const asked = results.filter(wasAsked);
    report.requested = asked.length;
    report.awaitingConnection = results.filter((r) => r.awaitingConnection).length;
    report.skipped = results.filter((r) => r.kind === 'skipped').length - report.awaitingConnection;
    report.expired += results.filter((r) => r.kind === 'expired').length;
    for (const r of asked) report.outcomes[r.kind] = (report.outcomes[r.kind] ?? 0) + 1;
    const change = await this.budget.recordAnswers(results, granted, now);
    report.incidentsOpened = [...afterBooks.opened, ...change.opened];
    report.incidentsResolved = change.resolved;
    if (change.state.pausedUntil && now < change.state.pausedUntil)
      report.pausedUntil = change.state.pausedUntil;
    report.auditWritten = await this.outbox.flush(touched);
    report.auditWritten += await this.budget.auditIncidents(
      report.incidentsOpened,
      report.incidentsResolved,
      now,
    );
    report.auditWritten += await this.alertIncidents(
      report.incidentsOpened,
      report.incidentsResolved,
      now,
    );
    return report;
  }

  /** Incidents as fleet alerts: audited, then relayed to the store and the sinks. */
  private async alertIncidents(
    opened: readonly Incident[],
    resolved: readonly Incident[],
    now: string,
  ): Promise<number> {
    const relay = this.deps.alertRelay;
    return relay ? relay.acceptFleet(incidentTransitions(opened, resolved, now), now) : 0;
  }

  /**
   * Asks these devices now, out of the sweep's rhythm (they just connected with a renewal
   * pending, or a person asked), within what is left of this minute's budget. What finds no
   * budget stays due and is first in line at the next sweep.
   */
  async askNow(devices: readonly DeviceKey[], reason: AskReason): Promise<AskResult[]> {
    if (!this.requestsEnabled || devices.length === 0) return [];
    const now = isoUtc(this.deps.clock.now());
    const pacing = await this.budget.read(now);
    const allowed = devices.filter((d) => !isPaused(pacing, now, d.hub));
    const { granted, state: live } = await this.budget.reserve(allowed.length, now);
    const touched: TouchedRecord[] = [];
    const planned = allowed.slice(0, granted).map((d) => ({ ...d, startAt: now, reason }));
    const results = await this.requests.requestAll(planned, live, touched);
    this.window.recordWrites(touched, []);
    const change = await this.budget.recordAnswers(results, granted, now);
    await this.outbox.flush(touched);
    await this.budget.auditIncidents(change.opened, change.resolved, now);
    await this.alertIncidents(change.opened, change.resolved, now);
    return results;
  }

  /**
   * `POST /api/devices/{id}/renew`: a person asks for a renewal now. The campaign (or the
   * running one) records who asked and why; the request is made at once when the minute's
   * budget allows, else at the next sweep.
   */
  async renewOnRequest(
    key: DeviceKey,
    requestedBy: { who: string; why: string },
  ): Promise<
    | { status: 'requested' | 'queued'; outcome?: MethodOutcomeKind; record: DeviceRecord }
    | { status: 'not-found' | 'no-certificate' | 'expired' }
  > {
    const now = isoUtc(this.deps.clock.now());
    type Start = 'started' | 'not-found' | 'no-certificate' | 'expired';
    const started = await updateRecord<Start>(
      this.deps.ledger,
      key,
      (record) => {
        if (!record || record.lifecycle !== 'active') return { verdict: 'not-found' };
        if (!record.current) return { verdict: 'no-certificate' };
        // An expired certificate cannot connect: no direct method reaches the device, which must
        // re-provision through DPS with its onboarding credential.
        if (record.current.validUntil <= now) return { verdict: 'expired' };
        // A person asking is what a campaign certfleet gave up on (`failed`) waits for: it starts
        // afresh. Kept as it was, it would never be asked, and the answer would say "queued".
        const given =
          renewalOf(record).status === 'failed' ? { ...record, renewal: HEALTHY } : record;
        return { next: startCampaign(given, now, 'manual', requestedBy), verdict: 'started' };
      },
      alertsOnWrite(this.deps.settings.alerts, now),
    );
    if (started.verdict !== 'started') return { status: started.verdict };
    this.window.recordWrites([started.touched], []);
    await this.outbox.flush([started.touched]);
    const [result] = await this.askNow([key], 'manual');
    const record = (await this.deps.ledger.read(key))?.value ?? started.touched.record!;
    if (!result || result.kind === 'skipped') return { status: 'queued', record };
    return {
      status: 'requested',
      outcome: result.kind === 'expired' ? undefined : result.kind,
      record,
    } as const;
  }

  /**
   * Reads the renewal index as far as this minute's plan needs (RenewalIndexWindow.ts: what is
   * due, what entered the horizon, and ahead as far as renewals start early), and plans this
   * minute from it (planFromDemand: the renewals due now one by one, the rest by counts).
   * `waiting`: renewals due now that wait for a request; `bookkeeping`: entries due now for a
   * change that needs none; `plannedFrom`: the entry each device the plan may ask came from.
   */
  private async gather(
    now: string,
    askable: Askable,
    used: number,
  ): Promise<{
    plan: CapacityPlan;
    pending: number;
    waiting: ActionEntry[];
    bookkeeping: ActionEntry[];
    plannedFrom: Map<string, ActionEntry>;
  }> {
    const window = this.window;
    const { horizonMs, pacing } = this.deps.settings;
    const renewalsPerMinute = pacing.renewalsPerMinute;
    await window.advance(now);
    for (let round = 0; ; round += 1) {
      const demand = window.demand(now, askable);
      const early = renewalsToStartEarly({ now, renewalsPerMinute, usedThisMinute: used, demand });
      const earliest = window.earliest(now, askable, early);
      const short = early - earliest.entries.length;
      if (!earliest.complete && (await window.readAhead(short, round))) continue;
      const due = window.dueRenewals(now, askable);
      const startedEarly = earliest.entries.slice(0, early);
      const plan = planFromDemand({
        now,
        renewalsPerMinute,
        usedThisMinute: used,
        demand,
        due: due.map(asPlanCandidate),
        earliest: startedEarly.map(asPlanCandidate),
      });
      window.settle(now, startedEarly);
      const horizon = new Date(Date.parse(now) + horizonMs).toISOString();
      const waits = (entry: ActionEntry) =>
        NEEDS_REQUEST.includes(entry.status) &&
        entry.validUntil > now &&
        (entry.renewalAt ?? entry.actionAt) < horizon;
      const dueNow = window.dueBy(now);
      return {
        plan,
        pending: window.pending(now),
        waiting: dueNow.filter(waits),
        bookkeeping: dueNow.filter((entry) => !waits(entry)),
        plannedFrom: new Map([...due, ...startedEarly].map((e) => [deviceKeyString(e), e])),
      };
    }
  }
}

/** The planner takes the renewal's own time, not an earlier alert check (renewalAt). */
function asPlanCandidate(entry: ActionEntry): PlanCandidate {
  return entry.renewalAt !== undefined ? { ...entry, actionAt: entry.renewalAt } : entry;
}
