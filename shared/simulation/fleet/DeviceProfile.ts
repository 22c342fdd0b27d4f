import { DAY_MS } from '../../domain/Clock';

/**
 * How one simulated device behaves: what a real fleet has — devices that renew
 * themselves at 80% of the lifetime as Microsoft advises and devices that never do, devices
 * online only some hours a day or gone for weeks, devices that refuse or fail mid-renewal,
 * devices reporting only validFrom/validUntil, devices whose clock is off, and a cohort
 * provisioned in the same hour.
 */
export type DeviceKind =
  /** Renews at 80% of the lifetime by itself; always online. */
  | 'self-renewing'
  /** Never renews by itself; always online: certfleet's sweep must ask. */
  | 'passive'
  /** Never renews by itself; online only a window of hours a day. */
  | 'part-time'
  /** Refuses most renewal requests (409, busy). */
  | 'refusing'
  /** Accepts, then now and then fails the re-registration; sometimes does not answer in time. */
  | 'flaky'
  /** Renews itself, but goes offline for weeks once (a shipment, a warehouse). */
  | 'goes-dark'
  /** A production batch provisioned in the same hour: same firmware, never renews by itself. */
  | 'cohort';

export type OnlinePattern =
  | { kind: 'always' }
  /** Online from `fromSecond` (UTC second of the day) for `seconds`, every day; may wrap midnight. */
  | { kind: 'daily'; fromSecond: number; seconds: number };

export interface DeviceProfile {
  /** IoT Hub device id, which is also the DPS registration id. */
  deviceId: string;
  kind: DeviceKind;
  /** When it first registers with DPS (its onboarding), UTC ISO 8601. */
  provisionAt: string;
  /** The DPS issuance policy it is enrolled in (its leaf validity). */
  policy: string;
  /** `at80`: renews itself once 80% of the lifetime has passed (by its own clock). */
  selfRenewal: 'at80' | 'never';
  online: OnlinePattern;
  /** Offline from `from` to `until` (UTC ISO 8601). */
  dark?: { from: string; until: string };
  /** Chance that it answers a renewal request with 409. */
  refusalProbability: number;
  /** Chance that it is connected but does not answer in time (504101). */
  timeoutProbability: number;
  /** Chance that an accepted renewal fails before a certificate is issued. */
  failMidRenewalProbability: number;
  /** Reports only validFrom/validUntil (Microsoft's minimum), no PEM. */
  reportsOnlyDates: boolean;
  /**
   * Its clock is this far ahead (positive) or behind: it renews by its own clock, and reports
   * validFrom/validUntil computed from it (the time it received the certificate plus the
   * policy's validity), so they are off by as much.
   */
  clockOffsetMs: number;
  /** Builds its CSR with the key pair it already has (certfleet flags `key-not-rotated`). */
  reusesKeyPair: boolean;
  /** Twin tag `cohort`, set at provisioning (DPS initial twin). */
  cohort?: string;
}

const SECONDS_PER_DAY = 86_400;

/** Whether the pattern has the device online at `t` (ignoring provisioning, darkness, expiry). */
export function inOnlineWindow(pattern: OnlinePattern, t: number): boolean {
  if (pattern.kind === 'always') return true;
  const second = Math.floor((((t % DAY_MS) + DAY_MS) % DAY_MS) / 1000);
  const end = pattern.fromSecond + pattern.seconds;
  if (end <= SECONDS_PER_DAY) return second >= pattern.fromSecond && second < end;
  return second >= pattern.fromSecond || second < end - SECONDS_PER_DAY;
}

export function inDarkPeriod(profile: DeviceProfile, t: number): boolean {
  if (!profile.dark) return false;
  return t >= Date.parse(profile.dark.from) && t < Date.parse(profile.dark.until);
}

/** Reachable at `t`: provisioned, in its window and not dark (its certificate aside). */
export function reachable(profile: DeviceProfile, t: number): boolean {
  return (
    t >= Date.parse(profile.provisionAt) &&
    inOnlineWindow(profile.online, t) &&
    !inDarkPeriod(profile, t)
  );
}

/** The next instant after `t` at which reachability may change; undefined: never. */
export function nextReachabilityChange(profile: DeviceProfile, t: number): number | undefined {
  const candidates: number[] = [];
  if (profile.online.kind === 'daily') {
    const day = Math.floor(t / DAY_MS) * DAY_MS;
    for (const d of [day - DAY_MS, day, day + DAY_MS]) {
      const from = d + profile.online.fromSecond * 1000;
      candidates.push(from, from + profile.online.seconds * 1000);
    }
  }
  if (profile.dark) candidates.push(Date.parse(profile.dark.from), Date.parse(profile.dark.until));
  const later = candidates.filter((c) => c > t);
  return later.length > 0 ? Math.min(...later) : undefined;
}

/**
 * Whether the device was reachable at any moment of [from, to): stepping through the changes
 * of its pattern, so it is exact for windows and dark periods.
 */
export function reachableDuring(profile: DeviceProfile, from: number, to: number): boolean {
  let t = Math.max(from, Date.parse(profile.provisionAt));
  while (t < to) {
    if (reachable(profile, t)) return true;
    const next = nextReachabilityChange(profile, t);
    if (next === undefined) return false;
    t = next;
  }
  return false;
}
