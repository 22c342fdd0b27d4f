import { RawIotHubMessage } from '../../app/ingest/RawIotHubMessage';
import { CertificateLedger } from '../../app/ports';
import { DAY_MS, MINUTE_MS, ManualClock, isoUtc } from '../../domain/Clock';
import { DeviceKey, deviceKeyString } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { NEEDS_REQUEST } from '../../domain/renewal/CapacityPlanner';
import { RenewalStatus } from '../../domain/renewal/RenewalState';
import { nextActionAt } from '../../domain/renewal/nextActionAt';
import { Services } from '../../services';
import { FleetSummary, RunStatistics } from './FleetSummary';
import { buildFleetSummary } from './buildFleetSummary';
import { SeededRandom } from './SeededRandom';
import { SimulatedFleet } from './SimulatedFleet';
import { VirtualTime } from './VirtualTime';

export interface FleetRunOptions {
  /**
   * certfleet, from buildServices(settings, { clock, sleep: fleet.sleep, methods: fleet }),
   * with the fleet's `environment` in its settings (trust bundle, renewal rate).
   */
  services: Services;
  /** The run's clock, the one given to the fleet and to the services. */
  clock: ManualClock;
  fleet: SimulatedFleet;
  start: string;
  days: number;
  /** Called as virtual time goes by: the share of the run done, and the virtual time. */
  onProgress?: (fraction: number, at: string) => void;
}

/**
 * How long routed events take to reach the trigger: events within this window of the first
 * are delivered as one batch, at its end (Event Hubs delivers in batches, seconds behind).
 */
const DELIVERY_WINDOW_MS = 15_000;
/** The Event Hubs trigger's batch size (host.json maxEventBatchSize). */
const MAX_BATCH = 100;

/**
 * Runs certfleet against a simulated fleet for `days` of virtual time: months in seconds, the
 * same history for the same seed.
 *
 * Time moves by events, not by ticks: to the next device action, the next routed event to
 * deliver, an operator's request, or the next minute in which the renewal sweep has work.
 * The sweep runs as the timer runs it (at minute boundaries), but only in the minutes where
 * it can act: the run keeps a copy of the renewal index (each record's `nextActionAt`, from
 * every ledger write) and knows when the earliest action falls due, in which minute the
 * capacity planner would start each pending renewal, and when a pause ends. (129,600 sweeps
 * for 90 days would cost an hour on Azurite; a sweep reads 16 index shards.)
 * Device events are applied by the ingest use case the Event Hubs trigger calls, in batches of
 * the trigger's size; direct methods reach the devices through the DeviceMethods port.
 *
 * At the end the summary is built from the ledger and the audit trail, and checked against
 * what the devices really did (FleetSummary.ts).
 */
export async function runSimulatedFleet(options: FleetRunOptions): Promise<FleetSummary> {
  const { services, clock, fleet } = options;
  const start = Date.parse(options.start);
  const end = start + options.days * DAY_MS;
  if (!Number.isFinite(start) || !(options.days > 0)) throw new RangeError('start and days');
  if (clock.now().getTime() > start) throw new RangeError('the clock is already past the start');
  clock.set(new Date(start));

  const index = new RenewalIndexCopy();
  const restore = watchLedger(services.ledger, fleet.time, index);
  const stats: RunStatistics = {
    sweeps: 0,
    batches: 0,
    events: 0,
    manualRequests: 0,
    sweepRequests: 0,
  };
  const rate = services.settings.renewal.renewalsPerMinute;
  const manual = fleet.options.manualRenewals
    .map((m, i) => ({ ...m, at: Date.parse(m.at), i }))
    .filter((m) => m.at >= start && m.at < end)
    .sort((a, b) => a.at - b.at || a.i - b.i);
  let lastSweep = Number.NEGATIVE_INFINITY;
  let pausedUntil = Number.NEGATIVE_INFINITY;
  let reported = -1;
  const progress = () => {
    const now = clock.now().getTime();
    const fraction = Math.min(1, Math.max(0, (now - start) / (end - start)));
    if (options.onProgress && fraction - reported >= 0.001) {
      reported = fraction;
      options.onProgress(fraction, isoUtc(now));
    }
  };

  try {
    // A ledger that is not empty (storage reused) is known from its index.
    for await (const entry of services.ledger.actionsDueBefore('9999')) {
      index.put(entry, Date.parse(entry.actionAt), entry.status, Date.parse(entry.validUntil));
    }
    for (;;) {
      const now = clock.now().getTime();
      const sweepAt = index.nextSweepAt({ now, lastSweep, rate, pausedUntil });
      const worldAt = Math.min(fleet.nextActionAt() ?? Infinity, fleet.nextMessageAt() ?? Infinity);
      const manualAt = manual[0]?.at ?? Infinity;
      const next = Math.min(sweepAt, worldAt, manualAt);
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
      } else {
        // The timer fires at the minute.
        clock.set(new Date(Math.max(now, sweepAt)));
        await fleet.advanceTo(clock.now().getTime());
        const report = await services.renewals.sweep();
        stats.sweeps += 1;
        stats.sweepRequests += report.requested;
        lastSweep = Math.floor(sweepAt / MINUTE_MS) * MINUTE_MS;
        pausedUntil = report.pausedUntil ? Date.parse(report.pausedUntil) : -Infinity;
      }
      progress();
    }
    if (clock.now().getTime() < end) clock.set(new Date(end));
    options.onProgress?.(1, isoUtc(end));
  } finally {
    restore();
  }
  return buildFleetSummary({ services, fleet, start, end, stats });
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
  actionAt: number;
  status: RenewalStatus;
  validUntil: number;
}

/** The run's copy of the renewal index: when the sweep next has something to do. */
class RenewalIndexCopy {
  private readonly entries = new Map<string, IndexEntry>();

  record(record: DeviceRecord): void {
    const at = nextActionAt(record);
    if (at === undefined || !record.current) this.entries.delete(deviceKeyString(record));
    else
      this.put(
        record,
        Date.parse(at),
        record.renewal?.status ?? 'healthy',
        Date.parse(record.current.validUntil),
      );
  }

  put(key: DeviceKey, actionAt: number, status: RenewalStatus, validUntil: number): void {
    this.entries.set(deviceKeyString(key), { actionAt, status, validUntil });
  }

  /**
   * The first minute boundary after the last sweep at which a sweep can act:
   * - book-keeping (deadlines, expiries) and retries, at the first minute at or after their time;
   * - a renewal not yet begun, in the minute the capacity planner would start it: placed as
   *   late as possible at or before its due minute, in a minute with room at the rate, after
   *   the retries have taken theirs (CapacityPlanner.ts). Every pending renewal is placed, not
   *   only those within the planning horizon, so a minute is never later than the planner's;
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
      .sort((a, b) => a.actionAt - b.actionAt);
    for (const e of this.entries.values()) {
      if (!NEEDS_REQUEST.includes(e.status)) consider(ceilMinute(e.actionAt), false);
      else if (e.status === 'healthy') fresh.push(e);
      // A request cannot save an expired certificate: its expiry is book-keeping.
      if (NEEDS_REQUEST.includes(e.status)) consider(ceilMinute(e.validUntil), false);
    }
    for (const e of retries) {
      let minute = Math.floor(e.actionAt / MINUTE_MS);
      while ((used.get(minute) ?? 0) >= rate) minute += 1;
      used.set(minute, (used.get(minute) ?? 0) + 1);
      consider(ceilMinute(e.actionAt), true);
    }
    fresh.sort((a, b) => b.actionAt - a.actionAt || b.validUntil - a.validUntil);
    for (const e of fresh) {
      let minute = Math.floor(e.actionAt / MINUTE_MS);
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
