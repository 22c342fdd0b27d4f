import { RawIotHubMessage } from '../../app/ingest/RawIotHubMessage';
import { ActionEntry, CertificateLedger } from '../../app/ports';
import { WebhookSink } from '../../adapters/alerts/WebhookSink';
import { Settings } from '../../config/settings';
import { DAY_MS, MINUTE_MS, ManualClock, isoUtc } from '../../domain/Clock';
import { DeviceKey, deviceKeyString } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { NEEDS_REQUEST } from '../../domain/renewal/CapacityPlanner';
import { RenewalStatus } from '../../domain/renewal/RenewalState';
import { renewalIndexEntry } from '../../domain/renewal/renewalIndexEntry';
import { LoopbackAlertReceiver } from '../../local/LoopbackAlertReceiver';
import { Services, buildServices } from '../../services';
import { TrailVerificationReport } from '../../app/audit/VerifyAuditTrail';
import { CollectedAlertLog } from './CollectedAlertLog';
import { FleetSummary, RunStatistics } from './FleetSummary';
import { buildFleetSummary } from './buildFleetSummary';
import { OutboxCopy, watchAlertStore } from './OutboxCopy';
import { SeededRandom } from './SeededRandom';
import { SimulatedFleet } from './SimulatedFleet';
import { VirtualTime } from './VirtualTime';

export interface FleetRunOptions {
  /**
   * certfleet's settings: the run's storage, with the fleet's `environment` in them (trust
   * bundle, renewal rate). The run builds its services from them (runSimulatedFleet).
   */
  settings: Settings;
  /** The run's clock, the one given to the fleet. */
  clock: ManualClock;
  fleet: SimulatedFleet;
  start: string;
  days: number;
  /** Called as virtual time goes by: the share of the run done, and the virtual time. */
  onProgress?: (fraction: number, at: string) => void;
}

export interface FleetRunResult {
  summary: FleetSummary;
  /** The services the run drove (its storage, clock and fleet), for what comes after it. */
  services: Services;
  /** The alert log's lines, kept rather than printed. */
  alertLog: CollectedAlertLog;
  /**
   * The audit trail of the run's dates verified against the checkpoints taken after each
   * midnight and at the end; absent when the settings name no checkpoint key.
   */
  trail?: TrailVerificationReport;
}

/**
 * How long routed events take to reach the trigger: events within this window of the first
 * are delivered as one batch, at its end (Event Hubs delivers in batches, seconds behind).
 */
const DELIVERY_WINDOW_MS = 15_000;
/** The Event Hubs trigger's batch size (host.json maxEventBatchSize). */
const MAX_BATCH = 100;
/** After the run, alert delivery runs this long past the longest roll-up hold. */
const SETTLE_MARGIN_MS = 5 * MINUTE_MS;
/** The checkpoint timer fires at :05 (functions/auditTrail.ts). */
const CHECKPOINT_MINUTE_MS = 5 * MINUTE_MS;

/**
 * Runs certfleet against a simulated fleet for `days` of virtual time: months in seconds, the
 * same history for the same seed.
 *
 * certfleet's services are built here, from `settings`, on the run's clock: direct methods go
 * to the fleet, paced waits move virtual time, and alerts go to a real webhook sink posting to
 * a loopback receiver that verifies and deduplicates what it gets (LoopbackAlertReceiver),
 * with a secret made for the run. The alert log is kept for the summary, not printed.
 *
 * Time moves by events, not by ticks: to the next device action, the next routed event to
 * deliver, an operator's request, the next minute in which the renewal sweep has work, or the
 * next minute in which an alert notification falls due. The sweep runs as the timer runs it
 * (at minute boundaries), but only in the minutes where it can act: the run keeps a copy of the
 * renewal index (each record's renewal and alert-check times, from every ledger write) and
 * knows when the earliest action falls due, in which minute the capacity planner would start
 * each pending renewal, and when a pause ends. (129,600 sweeps for 90 days would cost an hour
 * on Azurite; a sweep reads 16 index shards.) The alert-delivery timer runs in every minute the
 * sweep runs and in each minute a queued notification falls due (the run's copy of the outbox
 * knows when); at the end virtual time moves past the longest roll-up hold and delivery runs
 * once more, so everything queued is delivered or rolled up.
 * Device events are applied by the ingest use case the Event Hubs trigger calls, in batches of
 * the trigger's size; direct methods reach the devices through the DeviceMethods port.
 *
 * At the end the summary is built from the ledger, the audit trail, the alert store and what
 * the receiver got, and checked against what the devices really did (FleetSummary.ts).
 */
export async function runSimulatedFleet(options: FleetRunOptions): Promise<FleetRunResult> {
  const { clock, fleet } = options;
  const start = Date.parse(options.start);
  const end = start + options.days * DAY_MS;
  if (!Number.isFinite(start) || !(options.days > 0)) throw new RangeError('start and days');
  if (clock.now().getTime() > start) throw new RangeError('the clock is already past the start');
  clock.set(new Date(start));

  const receiver = new LoopbackAlertReceiver();
  await receiver.start();
  try {
    const alertLog = new CollectedAlertLog();
    const services = buildServices(options.settings, {
      clock,
      sleep: fleet.sleep,
      methods: fleet,
      alertSinks: [new WebhookSink(receiver.webhook())],
      alertLog,
    });
    const stats = await drive(services, options, start, end);
    await receiver.stop();
    const trail = await services.verifyTrail?.run({
      from: isoUtc(start).slice(0, 10),
      to: isoUtc(clock.now()).slice(0, 10),
    });
    const summary = await buildFleetSummary({
      services,
      fleet,
      start,
      end,
      until: clock.now().getTime(),
      stats,
      received: receiver,
      alertLog: alertLog.counts(),
    });
    return { summary, services, alertLog, ...(trail ? { trail } : {}) };
  } finally {
    await receiver.stop();
  }
}

/** The run itself: virtual time from `start` to `end`, then the last alert delivery. */
async function drive(
  services: Services,
  options: FleetRunOptions,
  start: number,
  end: number,
): Promise<RunStatistics> {
  const { clock, fleet } = options;
  const index = new RenewalIndexCopy();
  const outbox = new OutboxCopy(new Set(services.alertSinks.map((sink) => sink.name)));
  const restoreLedger = watchLedger(services.ledger, fleet.time, index);
  const restoreStore = watchAlertStore(services.alertStore, fleet.time, outbox);
  const stats: RunStatistics = {
    sweeps: 0,
    batches: 0,
    events: 0,
    manualRequests: 0,
    sweepRequests: 0,
    awaitingConnection: 0,
    deliveryRuns: 0,
    checkpoints: 0,
    dailyReports: 0,
  };
  const rate = services.settings.renewal.renewalsPerMinute;
  const manual = fleet.options.manualRenewals
    .map((m, i) => ({ ...m, at: Date.parse(m.at), i }))
    .filter((m) => m.at >= start && m.at < end)
    .sort((a, b) => a.at - b.at || a.i - b.i);
  let lastSweep = Number.NEGATIVE_INFINITY;
  let lastDelivery = Number.NEGATIVE_INFINITY;
  let pausedUntil = Number.NEGATIVE_INFINITY;
  // After each midnight: the checkpoint timer's daily run (every date), then the daily report.
  let checkpointAt = Math.floor(start / DAY_MS) * DAY_MS + DAY_MS + CHECKPOINT_MINUTE_MS;
  let reported = -1;
  const progress = () => {
    const now = clock.now().getTime();
    const fraction = Math.min(1, Math.max(0, (now - start) / (end - start)));
    if (options.onProgress && fraction - reported >= 0.001) {
      reported = fraction;
      options.onProgress(fraction, isoUtc(now));
    }
  };
  /** The alert-delivery timer, in the minute the clock is in. */
  const deliverAlerts = async () => {
    await services.alerts.deliver();
    stats.deliveryRuns += 1;
    lastDelivery = Math.floor(clock.now().getTime() / MINUTE_MS) * MINUTE_MS;
  };

  try {
    // A ledger that is not empty (storage reused) is known from its index.
    for await (const entry of services.ledger.actionsDueBefore('9999')) index.put(entry);
    // …and its notification outbox from its deliveries.
    for await (const delivery of services.alertStore.listDeliveries()) outbox.queued(delivery);
    for (;;) {
      const now = clock.now().getTime();
      const sweepAt = index.nextSweepAt({ now, lastSweep, rate, pausedUntil });
      const worldAt = Math.min(fleet.nextActionAt() ?? Infinity, fleet.nextMessageAt() ?? Infinity);
      const manualAt = manual[0]?.at ?? Infinity;
      // The delivery timer's minute; one that passed while a batch was being delivered runs
      // as soon as the batch is in (a timer a few seconds late).
      const dueAt = outbox.nextDueAt();
      const deliveryAt = Number.isFinite(dueAt)
        ? Math.max(ceilMinute(dueAt), lastDelivery + MINUTE_MS)
        : Infinity;
      const next = Math.min(sweepAt, worldAt, manualAt, deliveryAt, checkpointAt);
      if (next >= end) break;

      if (worldAt === next) {
        // The devices act, and what they did reaches the trigger a few seconds later.
        const deliverAt = Math.min(next + DELIVERY_WINDOW_MS, sweepAt, manualAt, end);
        await fleet.advanceTo(deliverAt);
        const messages = fleet.takeMessages(deliverAt);
        if (messages.length > 0) {
          if (deliverAt > clock.now().getTime()) clock.set(new Date(deliverAt));
          for (let i = 0; i < messages.length; i += MAX_BATCH) {
            await deliver(services, messages.slice(i, i + MAX_BATCH), stats);
          }
        }
      } else if (manualAt === next) {
        const request = manual.shift()!;
        clock.set(new Date(Math.max(now, request.at)));
        await fleet.advanceTo(clock.now().getTime());
        for (const key of pickForManualRenewal(fleet, request.i, request.devices, request.at)) {
          await services.renewals.renewOnRequest(key, { who: request.who, why: request.why });
          stats.manualRequests += 1;
        }
      } else if (sweepAt === next) {
        // The timers fire at the minute: the sweep, then alert delivery.
        clock.set(new Date(Math.max(now, sweepAt)));
        await fleet.advanceTo(clock.now().getTime());
        const report = await services.renewals.sweep();
        stats.sweeps += 1;
        stats.sweepRequests += report.requested;
        stats.awaitingConnection += report.awaitingConnection;
        lastSweep = Math.floor(sweepAt / MINUTE_MS) * MINUTE_MS;
        pausedUntil = report.pausedUntil ? Date.parse(report.pausedUntil) : -Infinity;
        await deliverAlerts();
      } else if (checkpointAt === next) {
        // The checkpoint timer after midnight, then the daily report of the day that ended
        // (sealed by the next checkpoint).
        clock.set(new Date(Math.max(now, checkpointAt)));
        await fleet.advanceTo(clock.now().getTime());
        await services.checkpoints?.run('daily');
        stats.checkpoints += 1;
        await services.pointInTime.writeScheduled();
        stats.dailyReports += 1;
        checkpointAt += DAY_MS;
      } else {
        // Only alert delivery has work in this minute.
        clock.set(new Date(Math.max(now, deliveryAt)));
        await fleet.advanceTo(clock.now().getTime());
        await deliverAlerts();
      }
      progress();
    }
    if (clock.now().getTime() < end) clock.set(new Date(end));
    // What was queued near the end waits its hold: deliver once past the longest.
    const rules = services.settings.alerts.rules;
    const settleAt = end + Math.max(rules.rollUpHoldMs, rules.rollUpHoldCriticalMs);
    clock.set(new Date(ceilMinute(settleAt + SETTLE_MARGIN_MS)));
    await deliverAlerts();
    // The last checkpoint seals the run's whole trail, so it verifies with nothing pending.
    if (services.checkpoints) {
      await services.checkpoints.run('manual');
      stats.checkpoints += 1;
    }
    options.onProgress?.(1, isoUtc(end));
  } finally {
    restoreStore();
    restoreLedger();
  }
  return stats;
}

/** One batch as the Event Hubs trigger would apply it. */
async function deliver(
  services: Services,
  messages: RawIotHubMessage[],
  stats: RunStatistics,
): Promise<void> {
  stats.batches += 1;
  stats.events += messages.length;
  await services.ingest.apply(messages);
}

/** The devices an operator renews by hand: provisioned, certificate not expired. */
function pickForManualRenewal(
  fleet: SimulatedFleet,
  request: number,
  count: number,
  at: number,
): DeviceKey[] {
  const random = SeededRandom.stream(fleet.options.seed, 'manual', request);
  const eligible = fleet.devices.filter(
    (d) => d.certificate && d.certificate.validUntil > at && d.certificate.reportedAt !== undefined,
  );
  return random
    .shuffled(eligible)
    .slice(0, count)
    .map((d) => ({ hub: fleet.hub, deviceId: d.deviceId }));
}

/**
 * Every ledger read and write counts as work in flight for the virtual time (no paced sleeper
 * wakes while one is running), and every write updates the run's copy of the renewal index,
 * as the ledger updates its own. The services' ledger is the very object the use cases hold,
 * so it is watched in place and restored afterwards.
 */
function watchLedger(
  ledger: CertificateLedger,
  time: VirtualTime,
  index: RenewalIndexCopy,
): () => void {
  const read = ledger.read;
  const write = ledger.write;
  ledger.read = (key) => time.track(() => read.call(ledger, key));
  ledger.write = (record, previous) =>
    time.track(async () => {
      const etag = await write.call(ledger, record, previous);
      index.record(record);
      return etag;
    });
  return () => {
    ledger.read = read;
    ledger.write = write;
  };
}

interface IndexEntry {
  /** When the renewal itself next acts (the index's `renewalAt`, else its `actionAt`). */
  renewalAt: number;
  /** When book-keeping is due: the index's `actionAt` (renewal or alert check, the earlier). */
  actionAt: number;
  /** The record's next alert check, when it has one. */
  alertCheckAt: number | undefined;
  status: RenewalStatus;
  validUntil: number;
}

/** The run's copy of the renewal index: when the sweep next has something to do. */
class RenewalIndexCopy {
  private readonly entries = new Map<string, IndexEntry>();

  record(record: DeviceRecord): void {
    const entry = renewalIndexEntry(record);
    if (entry === undefined) this.entries.delete(deviceKeyString(record));
    else this.put(entry);
  }

  put(entry: ActionEntry): void {
    this.entries.set(deviceKeyString(entry), {
      renewalAt: Date.parse(entry.renewalAt ?? entry.actionAt),
      actionAt: Date.parse(entry.actionAt),
      alertCheckAt: entry.alertCheckAt !== undefined ? Date.parse(entry.alertCheckAt) : undefined,
      status: entry.status,
      validUntil: Date.parse(entry.validUntil),
    });
  }

  /**
   * The first minute boundary after the last sweep at which a sweep can act:
   * - book-keeping (deadlines, expiries, alert checks) and retries, at the first minute at or
   *   after their time; an alert check is book-keeping even for a device waiting for a request
   *   (the sweep looks at it during a pause too);
   * - a renewal not yet begun, in the minute the capacity planner would start it: placed as
   *   late as possible at or before its due minute, in a minute with room at the rate, after
   *   the retries have taken theirs (CapacityPlanner.ts). Every pending renewal is placed, not
   *   only those within the planning horizon, so a minute is never later than the planner's.
   *   The planner places renewals by their own time, not an earlier alert check, and so does
   *   this copy;
   * - requests not before a pause ends.
   */
  nextSweepAt(p: { now: number; lastSweep: number; rate: number; pausedUntil: number }): number {
    const firstAllowed = Math.max(ceilMinute(p.now), p.lastSweep + MINUTE_MS);
    const rate = Math.max(1, p.rate);
    const used = new Map<number, number>();
    const fresh: IndexEntry[] = [];
    let earliest = Infinity;
    const consider = (at: number, request: boolean) => {
      let when = at;
      if (request && p.pausedUntil > when) when = ceilMinute(p.pausedUntil);
      if (when < earliest) earliest = when;
    };
    const retries = [...this.entries.values()]
      .filter((e) => NEEDS_REQUEST.includes(e.status) && e.status !== 'healthy')
      .sort((a, b) => a.renewalAt - b.renewalAt);
    for (const e of this.entries.values()) {
      if (!NEEDS_REQUEST.includes(e.status)) {
        consider(ceilMinute(e.actionAt), false);
        continue;
      }
      if (e.status === 'healthy') fresh.push(e);
      // A request cannot save an expired certificate: its expiry is book-keeping.
      consider(ceilMinute(e.validUntil), false);
      if (e.alertCheckAt !== undefined) consider(ceilMinute(e.alertCheckAt), false);
    }
    for (const e of retries) {
      let minute = Math.floor(e.renewalAt / MINUTE_MS);
      while ((used.get(minute) ?? 0) >= rate) minute += 1;
      used.set(minute, (used.get(minute) ?? 0) + 1);
      consider(ceilMinute(e.renewalAt), true);
    }
    fresh.sort((a, b) => b.renewalAt - a.renewalAt || b.validUntil - a.validUntil);
    for (const e of fresh) {
      let minute = Math.floor(e.renewalAt / MINUTE_MS);
      while ((used.get(minute) ?? 0) >= rate) minute -= 1;
      used.set(minute, (used.get(minute) ?? 0) + 1);
      consider(minute * MINUTE_MS, true);
    }
    return Math.max(firstAllowed, earliest);
  }
}

function ceilMinute(t: number): number {
  return Math.ceil(t / MINUTE_MS) * MINUTE_MS;
}
