import { DeviceRecord } from '../../domain/DeviceRecord';
import { FleetState, fleetStateOf, inFleet } from '../../domain/reports/fleetState';

/**
 * Whether a device needs a person's attention on the dashboard, and how urgently. Pure: the
 * record and the instant it is judged at go in, a verdict comes out.
 *
 * A device needs attention when its renewal is under way or stuck (`due`, `requested`,
 * `retrying`, `unreachable`, `failed`), its certificate has expired, or it carries a critical
 * finding or a critical open alert. Only devices of the fleet are listed, as the fleet summary
 * counts them (`inFleet`: deleted devices and records whose device moved to another hub are not).
 *
 * Urgency, most urgent first:
 *   0. expired: the device cannot connect now and must re-provision through DPS;
 *   1. failed, or a critical finding or alert: certfleet will not fix it alone;
 *   2. retrying or unreachable: certfleet keeps trying, but attempts have not worked yet;
 *   3. due or requested: a renewal going its ordinary way.
 * Within a tier, the certificate that expires (or expired) first comes first, so the list reads
 * as a queue of what is lost soonest; then hub and device id, so the order is stable.
 */
export interface AttentionDevice {
  hub: string;
  deviceId: string;
  /** Its state as the fleet summary counts it (`unknown`: no certificate reported yet). */
  status: FleetState;
  /** The current certificate's expiry. */
  validUntil?: string;
  /** The current certificate's issuer DN, as reported (device-sent text: escape it to show it). */
  issuer?: string;
  /** Why it is listed, most urgent first: `expired`, `failed`, `critical finding: …`, … */
  reasons: string[];
  /** 0 (most urgent) to 3; see above. */
  tier: AttentionTier;
  /** The last renewal attempt's outcome and when, when a campaign made one. */
  lastAttempt?: { at: string; outcome: string };
  /** When certfleet will try again (`retrying`, `unreachable`, `due`). */
  nextAttemptAt?: string;
  /** Why the campaign is retrying, unreachable, failed or expired (certfleet's own words). */
  renewalReason?: string;
}

export type AttentionTier = 0 | 1 | 2 | 3;

const TIER_OF_STATUS: Partial<Record<FleetState, AttentionTier>> = {
  expired: 0,
  failed: 1,
  retrying: 2,
  unreachable: 2,
  due: 3,
  requested: 3,
};

/** The record's place on the dashboard's attention list at `now`, or undefined when it has none. */
export function needsAttention(record: DeviceRecord, now: string): AttentionDevice | undefined {
  if (!inFleet(record)) return undefined;
  const renewal = record.renewal;
  const status = fleetStateOf(record);
  const validUntil = record.current?.validUntil;
  const expired =
    status === 'expired' || (validUntil !== undefined && Date.parse(validUntil) <= Date.parse(now));
  const reasons: string[] = [];
  const tiers: AttentionTier[] = [];
  if (expired) {
    reasons.push('expired');
    tiers.push(0);
  }
  const statusTier = TIER_OF_STATUS[status];
  if (status !== 'expired' && statusTier !== undefined) {
    reasons.push(status);
    tiers.push(statusTier);
  }
  // Codes and rules only: a finding's message is certfleet's, but it can quote what the device
  // reported, and the dashboard has no need of it.
  for (const code of unique(
    record.findings.filter((f) => f.severity === 'critical').map((f) => f.code),
  )) {
    reasons.push(`critical finding: ${code}`);
    tiers.push(1);
  }
  for (const rule of unique(
    (record.alerts ?? []).filter((a) => a.severity === 'critical').map((a) => a.rule),
  )) {
    reasons.push(`critical alert: ${rule}`);
    tiers.push(1);
  }
  if (reasons.length === 0) return undefined;
  const device: AttentionDevice = {
    hub: record.hub,
    deviceId: record.deviceId,
    status,
    reasons,
    tier: Math.min(...tiers) as AttentionTier,
  };
  if (validUntil !== undefined) device.validUntil = validUntil;
  if (record.current?.issuer !== undefined) device.issuer = record.current.issuer;
  if (renewal?.lastAttempt)
    device.lastAttempt = { at: renewal.lastAttempt.at, outcome: renewal.lastAttempt.outcome };
  if (renewal?.nextAttemptAt !== undefined) device.nextAttemptAt = renewal.nextAttemptAt;
  if (renewal?.reason !== undefined) device.renewalReason = renewal.reason;
  return device;
}

/** The attention list's order: tier, then the earliest expiry (none last), then hub and id. */
export function moreUrgentFirst(a: AttentionDevice, b: AttentionDevice): number {
  return (
    a.tier - b.tier ||
    compareExpiry(a.validUntil, b.validUntil) ||
    compare(a.hub, b.hub) ||
    compare(a.deviceId, b.deviceId)
  );
}

function compareExpiry(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  return Date.parse(a) - Date.parse(b);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/**
 * The `limit` most urgent of a stream of candidates, without holding the stream: candidates
 * gather until twice the limit, then the least urgent are dropped (amortised n log limit).
 */
export class MostUrgent {
  private kept: AttentionDevice[] = [];
  private seen = 0;

  constructor(private readonly limit: number) {}

  add(device: AttentionDevice): void {
    this.seen += 1;
    this.kept.push(device);
    if (this.kept.length >= 2 * Math.max(this.limit, 1)) this.trim();
  }

  /** How many candidates were added. */
  get total(): number {
    return this.seen;
  }

  /** The most urgent, most urgent first, at most `limit`. */
  devices(): AttentionDevice[] {
    this.trim();
    return [...this.kept];
  }

  private trim(): void {
    this.kept.sort(moreUrgentFirst);
    this.kept.length = Math.min(this.kept.length, this.limit);
  }
}
