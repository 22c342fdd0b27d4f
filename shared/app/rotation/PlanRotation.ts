import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { AlertState } from '../../domain/alerts/AlertState';
import { nextAlertStates } from '../../domain/alerts/nextAlertStates';
import { sameDistinguishedName } from '../../domain/Certificate';
import { Clock, DAY_MS, isoUtc } from '../../domain/Clock';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { plainTextProblem } from '../../domain/plainText';
import { forecastDemand } from '../../domain/renewal/forecast';
import { nextRenewalActionAt } from '../../domain/renewal/nextActionAt';
import { RenewalTiming } from '../../domain/renewal/RenewalTiming';
import { renewalOf } from '../../domain/renewal/renewalTransitions';
import {
  addDevice,
  bucketIndex,
  expiryBucket,
  firstRanks,
} from '../../domain/rotation/ExpiryHistogram';
import {
  AT_RISK_LISTED,
  Rotation,
  RotationCount,
  RotationDeclarationInput,
  RotationTally,
  RotationWork,
  declaredRotation,
  isOpen,
  rotationAudit,
  rotationDeclarationFrom,
} from '../../domain/rotation/Rotation';
import {
  RotationScope,
  holdsCertificateFrom,
  issuerUnknown,
  leaveRotation,
  needsSlot,
  placeInRotation,
  rotationStanding,
} from '../../domain/rotation/devicePlacement';
import { progressOf, rotationConditions } from '../../domain/rotation/rotationOutlook';
import {
  DEFAULT_RESERVE_SHARE,
  RotationSchedule,
  planRotation,
} from '../../domain/rotation/rotationPlan';
import { AuditOutbox, TouchedRecord } from '../AuditOutbox';
import { AlertRelay } from '../alerts/AlertRelay';
import { alertsOnWrite } from '../alerts/alertsOnWrite';
import { mapWithConcurrency } from '../concurrency';
import {
  ActionEntry,
  AlertStore,
  AuditTrail,
  CertificateLedger,
  RotationStore,
  Versioned,
  WriteConflict,
} from '../ports';
import { retryOnWriteConflict } from '../retryOnWriteConflict';
import { updateRecord } from '../updateRecord';

export interface RotationSettings {
  /** The paced rate the plan fits under (CERTFLEET_RENEWALS_PER_MINUTE). */
  renewalsPerMinute: number;
  /** The renewal's deadline and backoffs: the safety margin at the end of the window. */
  timing: RenewalTiming;
  /** The share of the rate kept free of the rotation (default 0.1). */
  reserveShare?: number;
  /** One `work` run stops after about this long (default 4 minutes: the timer runs every 5). */
  timeBudgetMs?: number;
  /** Records gone through between two saves of the pass's progress (default 200). */
  batchSize?: number;
  /** Record writes in flight at once (default 16). */
  concurrency?: number;
  /** A new status pass starts this long after the last one ended (default 30 minutes). */
  trackEveryMs?: number;
  /** At most this many records in one run (default: no limit but the time budget). */
  maxRecordsPerRun?: number;
  /** Alerts are evaluated with each record written, as every writer does. */
  alerts?: AlertSettings;
}

export interface PlanRotationDependencies {
  ledger: CertificateLedger;
  store: RotationStore;
  audit: AuditTrail;
  clock: Clock;
  settings: RotationSettings;
  /** Alert transitions (the records' and the rotation's own fleet alert) go here once audited. */
  alertRelay?: AlertRelay;
  /** The open alerts, to move the rotation's fleet alert on. */
  alertStore?: AlertStore;
}

/** Why a declaration or a cancellation was refused: bad input, or the state does not allow it. */
export type RotationRefusal =
  | { refused: 'invalid'; problem: string }
  | { refused: 'conflict'; problem: string }
  | { refused: 'not-found'; problem: string };

/** What one rotation's share of a `work` run did. */
export interface RotationWorkStep {
  id: string;
  /** The phase it was in when the run began, and the one it is in now. */
  from: RotationWork['phase'];
  to: RotationWork['phase'];
  /** Records gone through, and records written (places given or taken). */
  records: number;
  written: number;
  /** The pass reached the end of the ledger. */
  passEnded: boolean;
  /** Why it stopped before that: the time budget, the record limit, or another writer. */
  stopped?: 'time-budget' | 'record-limit' | 'changed-elsewhere';
}

export interface RotationWorkReport {
  at: string;
  steps: RotationWorkStep[];
}

const FLEET_RULE = 'rotation-deadline-at-risk';

/**
 * Use case: planned CA rotations. `declare` records one (who, why, the issuer, the deadline);
 * `work`, run by a timer every 5 minutes, goes through the ledger for each open rotation in
 * resumable passes (shared/domain/rotation/Rotation.ts, RotationWork): it counts the affected
 * devices' expiries, plans the slots (rotationPlan.ts), writes each device's place into its
 * record (so the renewal index holds it and the sweep asks the device when its slot comes), then
 * keeps the status counts and the `rotation-deadline-at-risk` alert up to date until no device
 * holds a certificate from the issuer. `cancel` stops one and takes the unused places off.
 *
 * Every pass saves where it is after each batch, under the rotation's ETag: a run that stops
 * (time budget, crash) is continued by the next, and a cancellation is never overwritten.
 */
export class PlanRotation {
  /** What a pass needs of the use case: its dependencies and the audit outbox. */
  readonly passDeps: PlanRotationDependencies & { outbox: AuditOutbox };

  constructor(private readonly deps: PlanRotationDependencies) {
    this.passDeps = { ...deps, outbox: new AuditOutbox(deps.ledger, deps.audit, deps.alertRelay) };
  }

  async declare(
    input: RotationDeclarationInput,
  ): Promise<{ rotation: Rotation } | RotationRefusal> {
    const now = this.now();
    const parsed = rotationDeclarationFrom(input, now);
    if ('problem' in parsed) return { refused: 'invalid', problem: parsed.problem };
    const { declaration } = parsed;
    const open = (await this.deps.store.list()).find(
      (r) => isOpen(r.value) && sameDistinguishedName(r.value.issuer, declaration.issuer),
    );
    if (open)
      return {
        refused: 'conflict',
        problem: `rotation ${open.value.id} away from ${open.value.issuer} is ${open.value.status}: cancel it first`,
      };
    const rotation = declaredRotation(declaration, now, this.deps.settings.timing);
    const etag = await this.deps.store.write(rotation, undefined);
    const stored = await this.flushRotationAudit({ value: rotation, etag });
    return { rotation: stored.value };
  }

  async cancel(input: {
    id: string;
    who?: unknown;
    why?: unknown;
  }): Promise<{ rotation: Rotation } | RotationRefusal> {
    const who = typeof input.who === 'string' ? input.who.trim() : '';
    const why = typeof input.why === 'string' ? input.why.trim() : '';
    if (who === '' || plainTextProblem(who))
      return { refused: 'invalid', problem: 'who must name who cancels, in plain text' };
    if (why === '' || why.length > 500 || plainTextProblem(why))
      return {
        refused: 'invalid',
        problem: 'why is required: a plain-text reason of at most 500 characters',
      };
    const outcome = await retryOnWriteConflict(
      `rotation ${input.id}`,
      async (): Promise<RotationRefusal | { stored: Versioned<Rotation> }> => {
        const stored = await this.deps.store.read(input.id);
        if (!stored) return { refused: 'not-found' as const, problem: `no rotation ${input.id}` };
        if (!isOpen(stored.value))
          return {
            refused: 'conflict' as const,
            problem: `rotation ${input.id} is ${stored.value.status} already`,
          };
        const now = this.now();
        const next: Rotation = {
          ...structuredClone(stored.value),
          status: 'cancelled',
          cancelledBy: { who, why, at: now },
          work: { phase: 'clear', position: 0, passStartedAt: now },
          updatedAt: now,
        };
        next.pendingAudit.push(rotationAudit(next, 'rotation.cancelled', now, { who, why }));
        const etag = await this.deps.store.write(next, stored);
        return { stored: { value: next, etag } };
      },
    );
    if ('refused' in outcome) return outcome;
    const stored = await this.flushRotationAudit(outcome.stored);
    await this.reviewAlert(stored.value);
    return { rotation: stored.value };
  }

  /** Every rotation, the latest declared first. */
  async list(): Promise<Rotation[]> {
    const all = (await this.deps.store.list()).map((r) => r.value);
    return all.sort((a, b) =>
      a.declaredAt < b.declaredAt ? 1 : a.declaredAt > b.declaredAt ? -1 : 0,
    );
  }

  async get(id: string): Promise<Rotation | undefined> {
    return (await this.deps.store.read(id))?.value;
  }

  /**
   * One timer run: each rotation with something to do moves on until the time budget (or the
   * record limit) is spent; the next run continues.
   */
  async work(): Promise<RotationWorkReport> {
    const startedAt = this.deps.clock.now().getTime();
    const budget = {
      until: startedAt + (this.deps.settings.timeBudgetMs ?? 4 * 60_000),
      records: 0,
    };
    const report: RotationWorkReport = { at: isoUtc(startedAt), steps: [] };
    for (const stored of await this.deps.store.list()) {
      if (this.spent(budget)) break;
      if (stored.value.work.phase === 'idle' && stored.value.pendingAudit.length === 0) continue;
      const step = await this.workOn(stored, budget);
      if (step) report.steps.push(step);
    }
    return report;
  }

  private async workOn(
    given: Versioned<Rotation>,
    budget: { until: number; records: number },
  ): Promise<RotationWorkStep | undefined> {
    let stored: Versioned<Rotation>;
    try {
      stored = await this.flushRotationAudit(given);
    } catch (error) {
      if (error instanceof WriteConflict) return undefined;
      throw error;
    }
    const from = stored.value.work.phase;
    const step: RotationWorkStep = {
      id: stored.value.id,
      from,
      to: from,
      records: 0,
      written: 0,
      passEnded: false,
    };
    const rotation = stored.value;
    if (rotation.work.phase === 'idle') return step;
    if (rotation.work.phase === 'track' && !this.trackDue(rotation)) {
      await this.reviewAlert(rotation);
      return step;
    }
    const pass = new Pass(this, stored, budget, step);
    const ended = await pass.run();
    if (!ended) {
      step.to = pass.stored.value.work.phase;
      return step;
    }
    step.passEnded = true;
    const finished = await this.endPass(pass.stored);
    if (!finished) {
      step.stopped = 'changed-elsewhere';
      return step;
    }
    step.to = finished.value.work.phase;
    await this.reviewAlert(finished.value);
    return step;
  }

  /** A status pass is due when none has ended yet, or the last ended a while ago. */
  private trackDue(rotation: Rotation): boolean {
    const work = rotation.work;
    if (work.position > 0 || work.lastTrackedAt === undefined) return true;
    const every = this.deps.settings.trackEveryMs ?? 30 * 60_000;
    return Date.parse(work.lastTrackedAt) + every <= this.deps.clock.now().getTime();
  }

  /** Moves a rotation whose pass reached the end of the ledger to what comes next. */
  private async endPass(stored: Versioned<Rotation>): Promise<Versioned<Rotation> | undefined> {
    const now = this.now();
    const rotation = structuredClone(stored.value);
    const work = rotation.work;
    switch (work.phase) {
      case 'count': {
        const counted = work.counted ?? emptyCount();
        const plan = planRotation({
          start: now,
          slotsEndAt: rotation.slotsEndAt,
          completeBy: rotation.completeBy,
          renewalsPerMinute: this.deps.settings.renewalsPerMinute,
          reserveShare: this.deps.settings.reserveShare ?? DEFAULT_RESERVE_SHARE,
          ordinaryPerDay: await this.ordinaryDemand(now, rotation.completeBy),
          needSlot: counted.needSlot,
        });
        rotation.plan = plan;
        work.counted = { ...counted, needSlot: [] };
        rotation.work = {
          ...work,
          phase: 'assign',
          position: 0,
          passStartedAt: now,
          assigned: { perBucket: plan.needSlot.map(() => 0), overflow: 0 },
        };
        delete rotation.work.last;
        rotation.pendingAudit.push(
          rotationAudit(
            rotation,
            'rotation.planned',
            now,
            {},
            `${counted.affected} devices hold a certificate from the issuer (${counted.unknownIssuer} more name no issuer); ` +
              `${plan.slotted} need a slot, from ${plan.firstSlotAt ?? '-'} to ${plan.lastSlotAt ?? '-'} ` +
              `(at most ${plan.peakPerMinute} a minute, ${Math.round(plan.spread * 100)}% of the free capacity); ` +
              `${counted.affected - plan.slotted} renew on their own schedule inside the window`,
          ),
        );
        break;
      }
      case 'assign':
        rotation.status = 'active';
        rotation.work = { ...work, phase: 'track', position: 0, passStartedAt: now };
        delete rotation.work.last;
        delete rotation.work.tally;
        break;
      case 'track': {
        const progress = progressOf(work.tally ?? emptyTally(), now, rotation);
        rotation.progress = progress;
        rotation.work = { ...work, position: 0, lastTrackedAt: now };
        delete rotation.work.last;
        delete rotation.work.tally;
        delete rotation.work.passStartedAt;
        if (progress.remaining === 0) {
          rotation.status = 'completed';
          rotation.completedAt = now;
          rotation.work.phase = 'idle';
          rotation.pendingAudit.push(
            rotationAudit(
              rotation,
              'rotation.completed',
              now,
              {},
              `${progress.done} devices moved off the issuer (certfleet ${progress.renewedByCertfleet}, the devices themselves ${progress.renewedByDevice}, not known ${progress.renewedUnknown})`,
            ),
          );
        }
        break;
      }
      case 'clear':
        rotation.work = { ...work, phase: 'idle', position: 0 };
        delete rotation.work.last;
        break;
      case 'idle':
        return stored;
    }
    rotation.updatedAt = now;
    try {
      const etag = await this.deps.store.write(rotation, stored);
      return await this.flushRotationAudit({ value: rotation, etag });
    } catch (error) {
      if (error instanceof WriteConflict) return undefined;
      throw error;
    }
  }

  /**
   * Ordinary renewals due each UTC day from now to the deadline, from the renewal index (the
   * forecast `certfleet forecast` prints), read in chunks so a large index is never held whole.
   */
  private async ordinaryDemand(now: string, completeBy: string): Promise<number[]> {
    const dayZero = Date.parse(`${now.slice(0, 10)}T00:00:00.000Z`);
    const days = Math.ceil((Date.parse(completeBy) - dayZero) / DAY_MS) + 1;
    const rate = this.deps.settings.renewalsPerMinute;
    const due = new Array<number>(days).fill(0);
    let chunk: ActionEntry[] = [];
    const add = () => {
      forecastDemand(chunk, now, days, rate).forEach((row, i) => (due[i]! += row.due));
      chunk = [];
    };
    for await (const entry of this.deps.ledger.actionsDueBefore(completeBy)) {
      chunk.push(entry);
      if (chunk.length >= 10_000) add();
    }
    add();
    return due;
  }

  /** Writes the rotation's own audit entries, then clears them from it. */
  async flushRotationAudit(stored: Versioned<Rotation>): Promise<Versioned<Rotation>> {
    if (stored.value.pendingAudit.length === 0) return stored;
    await this.deps.audit.append(stored.value.pendingAudit, { mayAlreadyBeWritten: true });
    const next = { ...stored.value, pendingAudit: [] };
    const etag = await this.deps.store.write(next, stored);
    return { value: next, etag };
  }

  /** Moves the rotation's fleet alert on: raised, escalated or resolved as its outlook says. */
  async reviewAlert(rotation: Rotation): Promise<void> {
    const { alertRelay, alertStore } = this.deps;
    if (!alertRelay || !alertStore) return;
    const now = this.now();
    const subject = `rotation ${rotation.id}`;
    const previous: AlertState[] = [];
    for await (const state of alertStore.listOpen({ rule: FLEET_RULE, scope: 'fleet' }))
      if (state.subject === subject) previous.push(state);
    const { transitions } = nextAlertStates(previous, rotationConditions(rotation, now), now);
    await alertRelay.acceptFleet(transitions, now);
  }

  now(): string {
    return isoUtc(this.deps.clock.now());
  }

  spent(budget: { until: number; records: number }): boolean {
    const limit = this.deps.settings.maxRecordsPerRun;
    return (
      this.deps.clock.now().getTime() >= budget.until ||
      (limit !== undefined && budget.records >= limit)
    );
  }
}

/**
 * One run's share of a pass over the ledger for one rotation: batches of records from where the
 * last run stopped, each batch decided (and written, for `assign`, `clear` and places found
 * missing in `track`), its audit entries flushed, and the pass's progress saved under the
 * rotation's ETag before the next batch.
 */
class Pass {
  private schedule?: RotationSchedule;
  private firsts?: number[];

  constructor(
    private readonly useCase: PlanRotation,
    public stored: Versioned<Rotation>,
    private readonly budget: { until: number; records: number },
    private readonly step: RotationWorkStep,
  ) {}

  /** Runs batches until the ledger ends (true) or the run must stop (false). */
  async run(): Promise<boolean> {
    const { ledger, settings } = this.useCase.passDeps;
    const batchSize = settings.batchSize ?? 200;
    const work = this.stored.value.work;
    const listing = listedFrom(ledger.list(work.last ? { after: work.last } : {}), work.position)[
      Symbol.asyncIterator
    ]();
    try {
      for (;;) {
        if (this.useCase.spent(this.budget)) {
          this.step.stopped =
            this.useCase.passDeps.clock.now().getTime() >= this.budget.until
              ? 'time-budget'
              : 'record-limit';
          return false;
        }
        const batch: Listed[] = [];
        const room =
          settings.maxRecordsPerRun !== undefined
            ? Math.min(batchSize, settings.maxRecordsPerRun - this.budget.records)
            : batchSize;
        while (batch.length < room) {
          const next = await listing.next();
          if (next.done) break;
          batch.push(next.value);
        }
        if (batch.length === 0) return true;
        const saved = await this.apply(batch);
        if (!saved) {
          this.step.stopped = 'changed-elsewhere';
          return false;
        }
        if (batch.length < room) return true;
      }
    } finally {
      await listing.return?.();
    }
  }

  /** Decides (and writes) one batch, then saves the pass's progress. False: someone else wrote. */
  private async apply(batch: readonly Listed[]): Promise<boolean> {
    const rotation = structuredClone(this.stored.value);
    const work = rotation.work;
    const touched: TouchedRecord[] = [];
    switch (work.phase) {
      case 'count':
        work.counted ??= emptyCount();
        for (const { record } of batch) countDevice(work.counted, record, rotation);
        break;
      case 'assign':
        touched.push(
          ...(await this.place(batch, rotation, (r) => holdsCertificateFrom(r, rotation.issuer))),
        );
        break;
      case 'track': {
        work.tally ??= emptyTally();
        const unplaced = batch.filter(
          ({ record }) => rotationStanding(record, rotation).kind === 'unplaced',
        );
        const placedNow = new Map<string, DeviceRecord>();
        for (const t of await this.place(unplaced, rotation, () => true)) {
          touched.push(t);
          if (t.record) placedNow.set(`${t.key.hub}/${t.key.deviceId}`, t.record);
        }
        for (const { record } of batch) {
          const seen = placedNow.get(`${record.hub}/${record.deviceId}`) ?? record;
          tallyDevice(work.tally, seen, rotation);
        }
        break;
      }
      case 'clear':
        touched.push(...(await this.clear(batch, rotation)));
        break;
      case 'idle':
        return true;
    }
    if (touched.length > 0) await this.useCase.passDeps.outbox.flush(touched);
    this.step.written += touched.length;
    const last = batch[batch.length - 1]!;
    work.position = last.index + 1;
    work.last = { hub: last.record.hub, deviceId: last.record.deviceId };
    rotation.updatedAt = this.useCase.now();
    this.step.records += batch.length;
    this.budget.records += batch.length;
    try {
      const etag = await this.useCase.passDeps.store.write(rotation, this.stored);
      this.stored = { value: rotation, etag };
      return true;
    } catch (error) {
      if (error instanceof WriteConflict) return false;
      throw error;
    }
  }

  /**
   * Gives each record that `affected` picks its place. Ranks are taken in the batch's order (the
   * ledger's: ties within an hour of expiry go by hub, then device id) before any write, so the
   * order does not depend on which write finishes first, and a write retried after a conflict
   * keeps the rank it took. A record that turns out not to need its slot leaves a gap: a slot
   * unused, never two devices in one.
   */
  private async place(
    batch: readonly Listed[],
    rotation: Rotation,
    affected: (record: DeviceRecord) => boolean,
  ): Promise<TouchedRecord[]> {
    const { ledger, settings, clock } = this.useCase.passDeps;
    const now = isoUtc(clock.now());
    const scope = scopeOf(rotation);
    const chosen = batch
      .filter(({ record }) => affected(record))
      .map(({ record }) => {
        const placed =
          record.rotation?.id === rotation.id &&
          record.rotation.certificateValidUntil === record.current?.validUntil;
        const slot =
          !placed && needsSlot(record, rotation.slotsEndAt)
            ? this.takeSlot(rotation, record)
            : undefined;
        return { record, slot };
      });
    const results = await mapWithConcurrency(chosen, settings.concurrency ?? 16, async (item) => {
      const { record } = item;
      const slotFor = () => (item.slot ??= this.takeSlot(rotation, record));
      const updated = await updateRecord(
        ledger,
        record,
        (current) => {
          if (!current) return { verdict: 'gone' as const };
          const { next, placement } = placeInRotation(current, scope, slotFor, now);
          return next ? { next, verdict: placement.kind } : { verdict: placement.kind };
        },
        alertsOnWrite(settings.alerts, now),
      );
      return updated.changed ? updated.touched : undefined;
    });
    return results.filter((t): t is TouchedRecord => t !== undefined);
  }

  /** The next free slot for a device of this expiry: its bucket's next rank, or after all. */
  private takeSlot(rotation: Rotation, record: DeviceRecord): string {
    const plan = rotation.plan;
    const work = rotation.work;
    if (!plan) throw new Error(`rotation ${rotation.id} has no plan to place devices by`);
    this.schedule ??= new RotationSchedule(plan);
    this.firsts ??= firstRanks(plan.needSlot);
    const assigned = (work.assigned ??= { perBucket: plan.needSlot.map(() => 0), overflow: 0 });
    const bucket = expiryBucket(record.current!.validUntil, rotation.declaredAt);
    const i = bucketIndex(plan.needSlot, bucket);
    let rank: number;
    if (i >= 0 && assigned.perBucket[i]! < plan.needSlot[i]![1]) {
      rank = this.firsts[i]! + assigned.perBucket[i]!;
      assigned.perBucket[i]! += 1;
    } else {
      // Not counted by the count pass (new to the fleet since, or its renewal moved): after all.
      rank = plan.slotted + assigned.overflow;
      assigned.overflow += 1;
    }
    return this.schedule.slotAt(rank);
  }

  private async clear(batch: readonly Listed[], rotation: Rotation): Promise<TouchedRecord[]> {
    const { ledger, settings, clock } = this.useCase.passDeps;
    const now = isoUtc(clock.now());
    const chosen = batch.filter(({ record }) => record.rotation?.id === rotation.id);
    const results = await mapWithConcurrency(
      chosen,
      settings.concurrency ?? 16,
      async ({ record }) => {
        const updated = await updateRecord(
          ledger,
          record,
          (current) => {
            const next = current && leaveRotation(current, rotation.id, now);
            return next ? { next, verdict: 'cleared' } : { verdict: 'unchanged' };
          },
          alertsOnWrite(settings.alerts, now),
        );
        return updated.changed ? updated.touched : undefined;
      },
    );
    return results.filter((t): t is TouchedRecord => t !== undefined);
  }
}

function scopeOf(rotation: Rotation): RotationScope {
  return {
    id: rotation.id,
    issuer: rotation.issuer,
    declaredAt: rotation.declaredAt,
    slotsEndAt: rotation.slotsEndAt,
    completeBy: rotation.completeBy,
  };
}

function emptyCount(): RotationCount {
  return { affected: 0, needSlot: [], unknownIssuer: 0 };
}

function emptyTally(): RotationTally {
  return {
    done: 0,
    renewedByCertfleet: 0,
    renewedByDevice: 0,
    renewedUnknown: 0,
    scheduled: 0,
    ownRenewal: 0,
    inCampaign: 0,
    failed: 0,
    renewedSameIssuer: 0,
    unknownIssuer: 0,
    atRiskCount: 0,
    atRisk: [],
  };
}

/** The count pass, one record: affected or not, and by when it must be renewed. */
function countDevice(counted: RotationCount, record: DeviceRecord, rotation: Rotation): void {
  if (issuerUnknown(record)) {
    counted.unknownIssuer += 1;
    return;
  }
  if (!holdsCertificateFrom(record, rotation.issuer)) return;
  counted.affected += 1;
  if (needsSlot(record, rotation.slotsEndAt)) {
    addDevice(counted.needSlot, expiryBucket(record.current!.validUntil, rotation.declaredAt));
    return;
  }
  const status = renewalOf(record).status;
  if (status === 'failed' || status === 'expired') return;
  const own =
    status === 'healthy'
      ? (record.renewalDueAt ?? record.current!.validUntil)
      : nextRenewalActionAt(record);
  if (
    own !== undefined &&
    (counted.lastOwnRenewalAt === undefined || own > counted.lastOwnRenewalAt)
  )
    counted.lastOwnRenewalAt = own;
}

/** The status pass, one record. */
function tallyDevice(tally: RotationTally, record: DeviceRecord, rotation: Rotation): void {
  const standing = rotationStanding(record, scopeOf(rotation));
  switch (standing.kind) {
    case 'not-affected':
      return;
    case 'unknown-issuer':
      tally.unknownIssuer += 1;
      return;
    case 'done':
      tally.done += 1;
      if (standing.renewedBy === 'certfleet') tally.renewedByCertfleet += 1;
      else if (standing.renewedBy === 'device') tally.renewedByDevice += 1;
      else tally.renewedUnknown += 1;
      return;
    case 'unplaced':
      // Placing it failed to stick (it changed under us): counted as waiting for its slot.
      tally.scheduled += 1;
      return;
    case 'failed':
      tally.failed += 1;
      break;
    case 'renewed-same-issuer':
      tally.renewedSameIssuer += 1;
      break;
    case 'scheduled':
      tally.scheduled += 1;
      break;
    case 'own-renewal':
      tally.ownRenewal += 1;
      break;
    case 'in-campaign':
      tally.inCampaign += 1;
      break;
  }
  const plannedAt = 'plannedAt' in standing ? standing.plannedAt : undefined;
  if (
    plannedAt !== undefined &&
    (tally.lastPlannedAt === undefined || plannedAt > tally.lastPlannedAt)
  )
    tally.lastPlannedAt = plannedAt;
  if (standing.atRisk) {
    tally.atRiskCount += 1;
    if (tally.atRisk.length < AT_RISK_LISTED)
      tally.atRisk.push({
        hub: record.hub,
        deviceId: record.deviceId,
        validUntil: record.current!.validUntil,
        ...(plannedAt !== undefined ? { plannedAt } : {}),
        reason: standing.atRisk,
      });
  }
}

/** A record of the ledger's listing, with its place in the pass (from 0). */
interface Listed {
  record: DeviceRecord;
  index: number;
}

/**
 * Goes on with a pass over the ledger where an earlier run stopped: the listing starts after the
 * last record gone through (`list({ after })`), and places count on from `position`.
 */
async function* listedFrom(
  records: AsyncIterable<DeviceRecord>,
  position: number,
): AsyncIterable<Listed> {
  let index = position;
  for await (const record of records) {
    yield { record, index };
    index += 1;
  }
}
