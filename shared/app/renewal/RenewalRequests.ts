import { Clock, MINUTE_MS, isoUtc } from '../../domain/Clock';
import { DeviceKey, deviceKeyString } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { NEEDS_REQUEST } from '../../domain/renewal/CapacityPlanner';
import { MethodOutcome, RenewalRequest } from '../../domain/renewal/MethodOutcome';
import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { alertsOnWrite } from '../alerts/alertsOnWrite';
import { PacingState, Probe, isPaused } from '../../domain/renewal/Pacing';
import { RenewalTiming } from '../../domain/renewal/RenewalTiming';
import { awaitConnection, shouldAwaitConnection } from '../../domain/renewal/awaitConnection';
import { nextActionAt } from '../../domain/renewal/nextActionAt';
import {
  attemptAnswered,
  certificateExpired,
  nextRequest,
  renewalOf,
  startCampaign,
} from '../../domain/renewal/renewalTransitions';
import { TouchedRecord } from '../AuditOutbox';
import { mapWithConcurrency } from '../concurrency';
import { ActionEntry, CertificateLedger, DeviceMethods } from '../ports';
import { RecordDecision, updateRecord } from '../updateRecord';
import { AskResult, wasAsked } from './AskResult';
import { PacingBudget } from './PacingBudget';

/**
 * Why certfleet asks a device to renew now: it is `due`; the plan starts it early for
 * `capacity`; a campaign's `retry`; a person asked (`manual`); or the device just connected with
 * a renewal pending (`device-connected`). The direct method's request carries it to the device.
 */
export type AskReason = 'due' | 'capacity' | 'retry' | 'manual' | 'device-connected';

/**
 * A device to ask, no earlier than `startAt`, within the budget of that minute. A sweep's ask
 * carries the index entry it was planned from, so an entry its record no longer accounts for is
 * recognised (and forgotten) instead of starting a campaign on a device that already renewed.
 */
export type PlannedAsk = DeviceKey & { startAt: string; reason: AskReason; entry?: ActionEntry };

export interface RenewalRequestsDependencies {
  ledger: CertificateLedger;
  /** Undefined when no IoT Hub is configured: every ask is answered with an error. */
  methods?: DeviceMethods;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  /** Counts each answer into the sweep's own view of the pacing. */
  budget: PacingBudget;
  timing: RenewalTiming;
  /** Direct-method calls per second to one hub. */
  methodCallsPerSecond: number;
  maxConcurrentCalls: number;
  /** Alerts are evaluated with each record written (alertsOnWrite). */
  alerts?: AlertSettings;
}

/**
 * The request path: asks devices to renew by direct method, each hub's calls spaced to its rate
 * and no call made past the minute its budget was granted for. For each device it starts (or
 * continues) the campaign, asks, and records the answer in the device's record. A device the
 * ledger knows to be disconnected is not called but left to be asked when it connects
 * (shared/domain/renewal/awaitConnection.ts), unless a person asked.
 */
export class RenewalRequests {
  constructor(private readonly deps: RenewalRequestsDependencies) {}

  /**
   * Asks the planned devices, with bounded concurrency, each hub's calls spaced, each at its
   * start. Results come in order of start; `touched` collects the records changed, for the
   * audit outbox.
   */
  async requestAll(
    planned: readonly PlannedAsk[],
    pacing: PacingState,
    touched: TouchedRecord[],
  ): Promise<AskResult[]> {
    // The sweep's own view of the fleet, updated with every answer: a hub that throttles, or
    // a fleet-wide pause, stops the rest of this sweep's calls too, not just the next sweep's.
    let live = await this.settleProbes(pacing);
    const probes: Probe[] = [];
    const results = await mapWithConcurrency(
      this.schedule(planned),
      this.deps.maxConcurrentCalls,
      async ({ ask, at }): Promise<AskResult> => {
        // The budget was granted for the minute of the start: a call spaced (or delayed) past
        // its end is not made now but stays due, first in line at the next sweep, so no
        // calendar minute takes more calls than the rate.
        const minuteEnd = (Math.floor(Date.parse(ask.startAt) / MINUTE_MS) + 1) * MINUTE_MS;
        if (at >= minuteEnd) return { kind: 'skipped', hub: ask.hub, at: ask.startAt };
        const wait = at - this.deps.clock.now().getTime();
        if (wait > 0) await this.deps.sleep(wait);
        const callAt = isoUtc(this.deps.clock.now());
        if (Date.parse(callAt) >= minuteEnd || isPaused(live, callAt, ask.hub))
          return { kind: 'skipped', hub: ask.hub, at: callAt };
        const { result, probe } = await this.requestOne(ask, touched);
        // Recovering from an issuer outage: an accepted request is a probe, watched for its
        // certificate (Pacing.ts, Recovery).
        if (probe && live.recovery) probes.push(probe);
        if (wasAsked(result)) {
          live = this.deps.budget.countOutcome(
            live,
            result.at,
            result.kind,
            result.hub,
            result.detail,
          ).state;
        }
        return result;
      },
    );
    if (probes.length > 0) await this.deps.budget.recordProbes(probes);
    return results;
  }

  /**
   * While renewals recover from an issuer outage, reads the probes' records (a few point reads):
   * one that holds a later certificate shows the issuer works again, and ends the recovery.
   */
  private async settleProbes(pacing: PacingState): Promise<PacingState> {
    const probes = pacing.recovery?.probes ?? [];
    if (probes.length === 0) return pacing;
    const renewed = new Set<string>();
    for (const probe of probes) {
      const stored = await this.deps.ledger.read({ hub: probe.hub, deviceId: probe.deviceId });
      const current = stored?.value.current;
      if (current && current.validUntil > probe.validUntil) renewed.add(probeKey(probe));
    }
    const now = isoUtc(this.deps.clock.now());
    // The stored probes are judged, not this sweep's copy: another instance may have settled.
    return this.deps.budget.settleProbes((probe) => renewed.has(probeKey(probe)), now);
  }

  /**
   * Gives each ask its time slot: one hub's calls `1 / methodCallsPerSecond` apart, none before
   * its start. Slots are handed out in order of start, before any call starts, so pacing does
   * not depend on how long each call takes. (Handed out in plan order, earliest expiry first, a
   * device starting late in the minute would push every later-planned call of its hub behind
   * it.)
   */
  private schedule(planned: readonly PlannedAsk[]): { ask: PlannedAsk; at: number }[] {
    const spacing = 1000 / Math.max(0.001, this.deps.methodCallsPerSecond);
    const nextSlot = new Map<string, number>();
    return [...planned]
      .sort((a, b) => Date.parse(a.startAt) - Date.parse(b.startAt))
      .map((ask) => {
        const at = Math.max(Date.parse(ask.startAt), nextSlot.get(ask.hub) ?? 0);
        nextSlot.set(ask.hub, at + spacing);
        return { ask, at };
      });
  }

  /**
   * One device: start or continue its campaign, ask it, record the answer. An accepted request
   * comes with the probe it would be while renewals recover.
   */
  private async requestOne(
    ask: PlannedAsk,
    touched: TouchedRecord[],
  ): Promise<{ result: AskResult; probe?: Probe }> {
    const { timing } = this.deps;
    const { reason } = ask;
    const key: DeviceKey = { hub: ask.hub, deviceId: ask.deviceId };
    const now = isoUtc(this.deps.clock.now());
    const started = await updateRecord(
      this.deps.ledger,
      key,
      (record) => campaignToAsk(record, now, reason, ask.entry, timing),
      alertsOnWrite(this.deps.alerts, now),
    );
    if (started.changed || started.touched.record?.pendingAudit.length)
      touched.push(started.touched);
    if (started.verdict === 'stale-entry' && ask.entry) {
      await this.deps.ledger.forgetAction(ask.entry);
      return { result: { kind: 'skipped', hub: key.hub, at: now } };
    }
    if (started.verdict === 'skip') return { result: { kind: 'skipped', hub: key.hub, at: now } };
    if (started.verdict === 'await-connection')
      return { result: { kind: 'skipped', hub: key.hub, at: now, awaitingConnection: true } };
    if (started.verdict === 'expired')
      return { result: { kind: 'expired', hub: key.hub, at: now } };
    const record = started.touched.record;
    if (!record?.current) return { result: { kind: 'skipped', hub: key.hub, at: now } };

    const request = nextRequest(record, now, timing);
    const outcome: MethodOutcome = this.deps.methods
      ? await this.deps.methods.requestRenewal(key, {
          ...request,
          // Say why now: a person asked, or the device just connected; else a retry, a planned
          // CA rotation's slot, or due (capacity).
          reason:
            reason === 'manual' || reason === 'device-connected'
              ? reason
              : request.reason === 'retry' || request.reason === 'rotation'
                ? request.reason
                : reason,
        })
      : { kind: 'error', reason: 'no IoT Hub configured', transient: false };
    const answeredAt = isoUtc(this.deps.clock.now());
    const answered = await updateRecord(
      this.deps.ledger,
      key,
      (current) => answerToRecord(current, record, request, outcome, answeredAt, timing),
      alertsOnWrite(this.deps.alerts, answeredAt),
    );
    touched.push(answered.touched);
    const result: AskResult = {
      kind: outcome.kind,
      hub: key.hub,
      at: answeredAt,
      ...(outcome.kind === 'error' ? { detail: outcome.reason } : {}),
    };
    if (outcome.kind !== 'accepted') return { result };
    const probe: Probe = {
      ...key,
      at: answeredAt,
      deadline: request.deadline,
      validUntil: record.current.validUntil,
    };
    return { result, probe };
  }
}

/** One probe: a device, asked at one time. */
function probeKey(probe: Probe): string {
  return `${deviceKeyString(probe)}@${probe.at}`;
}

/** The answer recorded in the device's record, unless it is already or the campaign is over. */
function answerToRecord(
  current: DeviceRecord | undefined,
  asked: DeviceRecord,
  request: RenewalRequest,
  outcome: MethodOutcome,
  answeredAt: string,
  timing: RenewalTiming,
): RecordDecision<'gone' | 'already-recorded' | 'campaign-over' | 'recorded'> {
  if (!current || current.lifecycle !== 'active') return { verdict: 'gone' };
  const renewal = renewalOf(current);
  // Recorded already (a retried invocation), or the campaign ended meanwhile (the new
  // certificate arrived while we were asking): nothing to add.
  if (renewal.lastAttempt?.requestId === request.requestId) return { verdict: 'already-recorded' };
  if (renewal.campaignId !== renewalOf(asked).campaignId) return { verdict: 'campaign-over' };
  return {
    next: attemptAnswered(current, request, outcome, answeredAt, timing),
    verdict: 'recorded',
  };
}

/**
 * Whether a device is still to be asked, and its record ready for it: `ask` (a healthy device's
 * campaign starts now; a running campaign's next attempt is now), `await-connection` (known to
 * be disconnected: its campaign starts or goes on, waiting for the device to connect, with no
 * call), `skip` (gone, no certificate, or no longer waiting for a request), `expired` (moved to
 * expired: no direct method reaches it), or `stale-entry` (the index entry it was planned from
 * is not its record's: a crash left it, for example the old certificate's due time after a
 * renewal).
 */
function campaignToAsk(
  record: DeviceRecord | undefined,
  now: string,
  reason: AskReason,
  entry: ActionEntry | undefined,
  timing: RenewalTiming,
): RecordDecision<'ask' | 'await-connection' | 'skip' | 'expired' | 'stale-entry'> {
  if (!record || record.lifecycle !== 'active' || !record.current) return { verdict: 'skip' };
  if (record.current.validUntil <= now) {
    const next = certificateExpired(record, now);
    return next === record ? { verdict: 'expired' } : { next, verdict: 'expired' };
  }
  if (entry && nextActionAt(record) !== entry.actionAt) return { verdict: 'stale-entry' };
  const renewal = renewalOf(record);
  // Already asked (a connection event got there first), or given up.
  if (!NEEDS_REQUEST.includes(renewal.status)) return { verdict: 'skip' };
  const trigger = reason === 'capacity' ? 'capacity' : reason === 'manual' ? 'manual' : 'due';
  const started = renewal.status === 'healthy' ? startCampaign(record, now, trigger) : record;
  // A call to a device known to be disconnected would only be answered 404103: its campaign
  // waits for the connection event instead. A person who asks is called all the same: they may
  // know the device is back before its event arrives.
  if (reason !== 'manual' && shouldAwaitConnection(started, now, timing)) {
    const waiting = awaitConnection(started, now, timing);
    if (waiting !== started) return { next: waiting, verdict: 'await-connection' };
  }
  // A healthy device's campaign starts now; a running campaign's next attempt is now.
  return started === record ? { verdict: 'ask' } : { next: started, verdict: 'ask' };
}
