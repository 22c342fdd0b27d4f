import { AuditEntry, AuditEventType, auditEntryId } from '../domain/AuditEntry';
import { Clock, MINUTE_MS, isoUtc } from '../domain/Clock';
import { DeviceKey } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { NEEDS_REQUEST, PlannedStart, planRenewals } from '../domain/renewal/CapacityPlanner';
import { MethodOutcome, MethodOutcomeKind } from '../domain/renewal/MethodOutcome';
import {
  Incident,
  PacingChange,
  PacingPolicy,
  PacingState,
  initialPacing,
  isPaused,
  recordOutcome,
  release,
  reserve,
  resolveIncidents,
  usedThisMinute,
} from '../domain/renewal/Pacing';
import { HEALTHY } from '../domain/renewal/RenewalState';
import { RenewalTiming } from '../domain/renewal/RenewalTiming';
import { nextActionAt } from '../domain/renewal/nextActionAt';
import {
  attemptAnswered,
  certificateExpired,
  deadlinePassed,
  nextRequest,
  renewalOf,
  startCampaign,
} from '../domain/renewal/renewalTransitions';
import { AuditOutbox, TouchedRecord } from './AuditOutbox';
import { mapWithConcurrency } from './concurrency';
import {
  ActionEntry,
  AuditTrail,
  CertificateLedger,
  DeviceMethods,
  PacingStore,
  WriteConflict,
} from './ports';
import { updateRecord } from './updateRecord';

export interface RenewalSettings {
  /** Direct-method calls per second to one hub (IoT Hub S1: about 40 per unit). */
  methodCallsPerSecond: number;
  /** How far ahead the planner looks for renewals to start early. */
  horizonMs: number;
  maxConcurrentCalls: number;
  timing: RenewalTiming;
  pacing: PacingPolicy;
}

export interface RenewalDependencies {
  ledger: CertificateLedger;
  audit: AuditTrail;
  pacing: PacingStore;
  /** Undefined when no IoT Hub is configured: the sweep then only keeps the books. */
  methods?: DeviceMethods;
  clock: Clock;
  /** Waits; a test or a simulation passes one that moves its clock instead. */
  sleep: (ms: number) => Promise<void>;
  settings: RenewalSettings;
}

export type Trigger = 'due' | 'capacity' | 'retry' | 'manual' | 'device-connected';

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
  deadlinesPassed: number;
  expired: number;
  pausedUntil?: string;
  requestsDisabled: boolean;
  incidentsOpened: Incident[];
  incidentsResolved: Incident[];
  auditWritten: number;
}

type StepResult = {
  kind: MethodOutcomeKind | 'skipped' | 'expired';
  hub: string;
  at: string;
  /** For `error`: why, for the incident. */
  detail?: string;
};

type BookKeeping = 'deadline' | 'expired' | 'repaired' | 'none';

/**
 * Use case: renew certificates before it is too late, under Azure's quotas.
 *
 * The sweep (every minute, a singleton timer in Azure) gathers every device with something due
 * within the planning horizon from the renewal index (cost grows with that set, not with the
 * fleet), keeps the books for deadlines and expiries, plans this minute's requests
 * (shared/domain/renewal/CapacityPlanner.ts), reserves them from the per-minute budget, and asks
 * each device by direct method, paced per hub. Every step is a state change of the device's
 * record with its audit entries (the outbox); fleet-wide trouble becomes one incident.
 */
export class RenewDevices {
  private readonly outbox: AuditOutbox;

  constructor(private readonly deps: RenewalDependencies) {
    this.outbox = new AuditOutbox(deps.ledger, deps.audit);
  }

  get requestsEnabled(): boolean {
    return this.deps.methods !== undefined;
  }

  async sweep(options: { dryRun?: boolean } = {}): Promise<SweepReport> {
    const now = isoUtc(this.deps.clock.now());
    const dryRun = options.dryRun ?? false;
    const { settings } = this.deps;
    const stored = await this.deps.pacing.read();
    const pacing = stored?.value ?? initialPacing(now);

    const horizon = new Date(Date.parse(now) + settings.horizonMs).toISOString();
    const candidates: ActionEntry[] = [];
    const books: ActionEntry[] = [];
    for await (const entry of this.deps.ledger.actionsDueBefore(horizon)) {
      const needsRequest = NEEDS_REQUEST.includes(entry.status) && entry.validUntil > now;
      if (needsRequest) candidates.push(entry);
      else if (entry.actionAt <= now) books.push(entry);
    }
    const requestable = candidates.filter(
      (c) => this.requestsEnabled && !isPaused(pacing, now, c.hub),
    );
    const plan = planRenewals({
      now,
      candidates: requestable,
      renewalsPerMinute: settings.pacing.renewalsPerMinute,
      usedThisMinute: usedThisMinute(pacing, now),
    });
    const report: SweepReport = {
      at: now,
      dryRun,
      pending: candidates.length,
      planned: plan.now,
      late: plan.late,
      atRisk: plan.atRisk,
      requested: 0,
      outcomes: {},
      skipped: 0,
      deadlinesPassed: 0,
      expired: 0,
      requestsDisabled: !this.requestsEnabled,
      incidentsOpened: [],
      incidentsResolved: [],
      auditWritten: 0,
    };
    if (pacing.pausedUntil && now < pacing.pausedUntil) report.pausedUntil = pacing.pausedUntil;
    if (dryRun) {
      report.deadlinesPassed = books.filter(
        (b) => b.status === 'requested' && b.validUntil > now,
      ).length;
      report.expired = books.filter((b) => b.validUntil <= now).length;
      return report;
    }

    const touched: TouchedRecord[] = [];
    const noShows: StepResult[] = [];
    for (const entry of books) {
      const result = await this.keepBooks(entry, now);
      if (result.touched.changed) touched.push(result.touched);
      if (result.kind === 'deadline') {
        report.deadlinesPassed += 1;
        noShows.push({ kind: 'timeout', hub: entry.hub, at: now });
      }
      if (result.kind === 'expired') report.expired += 1;
    }
    // The wait for a certificate that never came counts as a failure in the fleet's window.
    const afterBooks = await this.updatePacing((state) => {
      let next = state;
      // No-shows are what an issuer outage looks like: the failure spike they open is audited.
      const opened: Incident[] = [];
      for (const n of noShows) {
        const change = this.recorded(next, n.at, 'no-show', n.hub);
        next = change.state;
        opened.push(...change.opened);
      }
      return { state: next, opened, resolved: [] };
    });
    const { granted, state: live } = await this.reserveBudget(plan.now.length, now);
    const steps = await this.request(plan.now.slice(0, granted), touched, live);
    report.requested = steps.filter((s) => s.kind !== 'skipped' && s.kind !== 'expired').length;
    report.skipped = steps.filter((s) => s.kind === 'skipped').length;
    report.expired += steps.filter((s) => s.kind === 'expired').length;
    for (const s of steps) {
      if (s.kind !== 'skipped' && s.kind !== 'expired')
        report.outcomes[s.kind] = (report.outcomes[s.kind] ?? 0) + 1;
    }
    const change = await this.settle(steps, granted, now);
    report.incidentsOpened = [...afterBooks.opened, ...change.opened];
    report.incidentsResolved = change.resolved;
    if (change.state.pausedUntil && now < change.state.pausedUntil)
      report.pausedUntil = change.state.pausedUntil;
    report.auditWritten = await this.outbox.flush(touched);
    report.auditWritten += await this.auditIncidents(
      report.incidentsOpened,
      report.incidentsResolved,
      now,
    );
    return report;
  }

  /**
   * Asks these devices now, out of the sweep's rhythm (they just connected with a renewal
   * pending, or a person asked), within what is left of this minute's budget. What finds no
   * budget stays due and is first in line at the next sweep.
   */
  async askNow(devices: readonly DeviceKey[], trigger: Trigger): Promise<StepResult[]> {
    if (!this.requestsEnabled || devices.length === 0) return [];
    const now = isoUtc(this.deps.clock.now());
    const pacing = (await this.deps.pacing.read())?.value ?? initialPacing(now);
    const allowed = devices.filter((d) => !isPaused(pacing, now, d.hub));
    const { granted, state: live } = await this.reserveBudget(allowed.length, now);
    const touched: TouchedRecord[] = [];
    const planned = allowed.slice(0, granted).map((d) => ({ ...d, startAt: now, trigger }));
    const steps = await this.request(planned, touched, live);
    const change = await this.settle(steps, granted, now);
    await this.outbox.flush(touched);
    await this.auditIncidents(change.opened, change.resolved, now);
    return steps;
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
    let missing: 'not-found' | 'no-certificate' | 'expired' | undefined;
    const touched = await updateRecord(this.deps.ledger, key, (record) => {
      missing = undefined;
      if (!record || record.lifecycle !== 'active') missing = 'not-found';
      else if (!record.current) missing = 'no-certificate';
      // An expired certificate cannot connect: no direct method reaches the device, which must
      // re-provision through DPS with its onboarding credential.
      else if (record.current.validUntil <= now) missing = 'expired';
      if (missing || !record) return undefined;
      // A person asking is what a campaign certfleet gave up on (`failed`) waits for: it starts
      // afresh. Kept as it was, it would never be asked, and the answer would say "queued".
      const given =
        renewalOf(record).status === 'failed' ? { ...record, renewal: HEALTHY } : record;
      return startCampaign(given, now, 'manual', requestedBy);
    });
    if (missing) return { status: missing };
    await this.outbox.flush([touched]);
    const [step] = await this.askNow([key], 'manual');
    const record = (await this.deps.ledger.read(key))?.value ?? touched.record!;
    if (!step || step.kind === 'skipped') return { status: 'queued', record };
    return {
      status: 'requested',
      outcome: step.kind === 'expired' ? undefined : step.kind,
      record,
    } as const;
  }

  /** Deadlines and expiries: changes of state that need no request. */
  private async keepBooks(entry: ActionEntry, now: string) {
    let kind = 'none' as BookKeeping;
    const touched = await updateRecord(this.deps.ledger, entry, (record) => {
      kind = 'none';
      if (!record) return undefined;
      if (record.current && record.current.validUntil <= now) {
        const next = certificateExpired(record, now);
        if (next !== record) kind = 'expired';
        return next !== record ? next : undefined;
      }
      const renewal = renewalOf(record);
      if (renewal.status === 'requested' && renewal.deadline && renewal.deadline <= now) {
        kind = 'deadline';
        return deadlinePassed(record, now, this.deps.settings.timing);
      }
      if (nextActionAt(record) !== entry.actionAt) {
        // The index entry is out of date (a crash between index and record): rewriting the
        // record puts the index right.
        kind = 'repaired';
        return record;
      }
      return undefined;
    });
    return { kind: kind as BookKeeping, touched };
  }

  /** Makes the planned requests: bounded concurrency, each hub's calls spaced, each at its start. */
  private async request(
    planned: readonly (DeviceKey & {
      startAt: string;
      reason?: PlannedStart['reason'];
      trigger?: Trigger;
    })[],
    touched: TouchedRecord[],
    pacing: PacingState,
  ): Promise<StepResult[]> {
    // The sweep's own view of the fleet, updated with every answer: a hub that throttles, or
    // a fleet-wide pause, stops the rest of this sweep's calls too, not just the next sweep's.
    let live = pacing;
    const spacing = 1000 / Math.max(0.001, this.deps.settings.methodCallsPerSecond);
    const nextSlot = new Map<string, number>();
    const slotFor = (hub: string, earliest: number) => {
      const slot = Math.max(earliest, nextSlot.get(hub) ?? 0);
      nextSlot.set(hub, slot + spacing);
      return slot;
    };
    // Slots are handed out in order of start, before any call starts, so pacing does not depend
    // on how long each call takes. (Handed out in plan order, earliest expiry first, a device
    // starting late in the minute would push every later-planned call of its hub behind it.)
    const scheduled = [...planned]
      .sort((a, b) => Date.parse(a.startAt) - Date.parse(b.startAt))
      .map((p) => ({ p, at: slotFor(p.hub, Date.parse(p.startAt)) }));
    return mapWithConcurrency(
      scheduled,
      this.deps.settings.maxConcurrentCalls,
      async ({ p, at }) => {
        // The budget was granted for the minute of the start: a call spaced (or delayed) past
        // its end is not made now but stays due, first in line at the next sweep, so no
        // calendar minute takes more calls than the rate.
        const minuteEnd = (Math.floor(Date.parse(p.startAt) / MINUTE_MS) + 1) * MINUTE_MS;
        if (at >= minuteEnd) return { kind: 'skipped', hub: p.hub, at: p.startAt };
        const wait = at - this.deps.clock.now().getTime();
        if (wait > 0) await this.deps.sleep(wait);
        const callAt = isoUtc(this.deps.clock.now());
        if (Date.parse(callAt) >= minuteEnd || isPaused(live, callAt, p.hub))
          return { kind: 'skipped', hub: p.hub, at: callAt };
        const trigger: Trigger = p.trigger ?? (p.reason === 'capacity' ? 'capacity' : 'due');
        const step = await this.requestOne(p, trigger, touched);
        if (step.kind !== 'skipped' && step.kind !== 'expired') {
          live = this.recorded(live, step.at, step.kind, step.hub, step.detail).state;
        }
        return step;
      },
    );
  }

  /** One device: start or continue its campaign, ask it, record the answer. */
  private async requestOne(
    key: DeviceKey,
    trigger: Trigger,
    touched: TouchedRecord[],
  ): Promise<StepResult> {
    const { timing } = this.deps.settings;
    const now = isoUtc(this.deps.clock.now());
    let skip = false;
    let expired = false;
    const started = await updateRecord(this.deps.ledger, key, (record) => {
      skip = false;
      expired = false;
      if (!record || record.lifecycle !== 'active' || !record.current) {
        skip = true;
        return undefined;
      }
      if (record.current.validUntil <= now) {
        expired = true;
        const next = certificateExpired(record, now);
        return next === record ? undefined : next;
      }
      const renewal = renewalOf(record);
      if (!NEEDS_REQUEST.includes(renewal.status)) {
        skip = true; // already asked (a connection event got there first), or given up
        return undefined;
      }
      if (renewal.status === 'healthy') {
        return startCampaign(
          record,
          now,
          trigger === 'capacity' ? 'capacity' : trigger === 'manual' ? 'manual' : 'due',
        );
      }
      return undefined; // a campaign is running: its next attempt is now
    });
    if (started.changed || started.record?.pendingAudit.length) touched.push(started);
    if (skip) return { kind: 'skipped', hub: key.hub, at: now };
    if (expired) return { kind: 'expired', hub: key.hub, at: now };
    const record = started.record;
    if (!record) return { kind: 'skipped', hub: key.hub, at: now };

    const request = nextRequest(record, now, timing);
    const outcome: MethodOutcome = this.deps.methods
      ? await this.deps.methods.requestRenewal(key, {
          ...request,
          // Say why now: a person asked, or the device just connected; else due or retry.
          reason:
            trigger === 'manual' || trigger === 'device-connected'
              ? trigger
              : request.reason === 'retry'
                ? 'retry'
                : trigger,
        })
      : { kind: 'error', reason: 'no IoT Hub configured', transient: false };
    const answeredAt = isoUtc(this.deps.clock.now());
    const answered = await updateRecord(this.deps.ledger, key, (current) => {
      if (!current || current.lifecycle !== 'active') return undefined;
      const renewal = renewalOf(current);
      // Recorded already (a retried invocation), or the campaign ended meanwhile (the new
      // certificate arrived while we were asking): nothing to add.
      if (renewal.lastAttempt?.requestId === request.requestId) return undefined;
      if (renewal.campaignId !== renewalOf(record).campaignId) return undefined;
      return attemptAnswered(current, request, outcome, answeredAt, timing);
    });
    touched.push(answered);
    return {
      kind: outcome.kind,
      hub: key.hub,
      at: answeredAt,
      ...(outcome.kind === 'error' ? { detail: outcome.reason } : {}),
    };
  }

  private async reserveBudget(
    wanted: number,
    now: string,
  ): Promise<{ granted: number; state: PacingState }> {
    let granted = 0;
    const change = await this.updatePacing((state) => {
      const r = reserve(state, now, wanted, this.deps.settings.pacing);
      granted = r.granted;
      return { state: r.state, opened: [], resolved: [] };
    });
    return { granted, state: change.state };
  }

  /** Counts the outcomes into the pacing state, gives back unused budget, closes what passed. */
  private async settle(steps: StepResult[], granted: number, now: string): Promise<PacingChange> {
    const unused =
      granted - steps.filter((s) => s.kind !== 'skipped' && s.kind !== 'expired').length;
    return this.updatePacing((state) => {
      let next = release(state, now, unused);
      const opened: Incident[] = [];
      for (const step of steps) {
        if (step.kind === 'skipped' || step.kind === 'expired') continue;
        const change = this.recorded(
          next,
          step.at,
          step.kind,
          step.hub,
          (step as { detail?: string }).detail,
        );
        next = change.state;
        opened.push(...change.opened);
      }
      const resolution = resolveIncidents(next, now, this.deps.settings.pacing);
      return { state: resolution.state, opened, resolved: resolution.resolved };
    });
  }

  private recorded(
    state: PacingState,
    at: string,
    kind: MethodOutcomeKind | 'no-show',
    hub: string,
    detail?: string,
  ) {
    return recordOutcome(state, at, kind, hub, this.deps.settings.pacing, detail);
  }

  /** Read, change, write the pacing state under its ETag; on a conflict, read and change again. */
  private async updatePacing(change: (state: PacingState) => PacingChange): Promise<PacingChange> {
    for (let attempt = 1; attempt <= 8; attempt += 1) {
      const now = isoUtc(this.deps.clock.now());
      const stored = await this.deps.pacing.read();
      const result = change(stored?.value ?? initialPacing(now));
      try {
        await this.deps.pacing.write(result.state, stored);
        return result;
      } catch (error) {
        if (!(error instanceof WriteConflict)) throw error;
      }
    }
    throw new Error('pacing state kept changing');
  }

  /** One audit record per fleet-wide incident opened or resolved (not one per device). */
  private async auditIncidents(
    opened: Incident[],
    resolved: Incident[],
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
    if (entries.length > 0) await this.deps.audit.append(entries, { mayAlreadyBeWritten: true });
    return entries.length;
  }
}
