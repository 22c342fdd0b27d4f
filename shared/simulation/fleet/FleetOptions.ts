import { DAY_MS, HOUR_MS, MINUTE_MS, isoUtc } from '../../domain/Clock';
import { DeviceKind, DeviceProfile, OnlinePattern } from './DeviceProfile';
import { SeededRandom } from './SeededRandom';
import { IssuancePolicy } from './StandInDps';

/** The mix of a simulated fleet: shares of the devices outside the cohort, by kind. */
export type FleetMix = Record<Exclude<DeviceKind, 'cohort'>, number>;

export interface FleetOptions {
  /** Same seed, same fleet, same history. */
  seed: number;
  hub: string;
  /** When the run starts (UTC ISO 8601); devices are provisioned from then on. */
  start: string;
  days: number;
  /** Devices outside the cohort. */
  devices: number;
  mix: FleetMix;
  /** A production batch provisioned within one hour from `hourStart`. */
  cohort?: { size: number; hourStart: string; tag: string; policy?: string };
  /** DPS issuance policies (leaf validity 7 to 90 days) and the share of devices in each. */
  policies: (IssuancePolicy & { share: number })[];
  /** Devices outside the cohort are provisioned at random over the run's first days. */
  provisioningDays: number;
  /** Share of devices that report only validFrom/validUntil. */
  reportsOnlyDatesShare: number;
  /** Share of devices whose clock is off, by 5 minutes up to `maxMs` either way. */
  clockSkew: { share: number; maxMs: number };
  /** Share of devices whose CSR reuses their key pair. */
  reusesKeyPairShare: number;
  /** `refusing` devices refuse each request with a probability drawn from this range. */
  refusalProbability: [number, number];
  /** `flaky` devices: chance an accepted renewal fails; chance of no answer in time. */
  flaky: { failMidRenewal: number; timeout: number };
  /** `part-time` devices are online a window of one of these many hours a day… */
  partTimeHours: number[];
  /** …starting at one of these UTC hours (devices wake on a schedule). */
  partTimeStartHours: number[];
  /** `goes-dark` devices are offline once for this many days. */
  darkDays: [number, number];
  /** Issuer outages: DPS fails every registration in these windows. */
  dpsOutages: { from: string; until: string }[];
  /** DPS's quota (1,000 a minute per service). */
  dpsRegistrationsPerMinute: number;
  /**
   * certfleet's CERTFLEET_RENEWALS_PER_MINUTE for this fleet. Azure's certificate management
   * renews 500 a minute; a fleet of hundreds needs a rate scaled down as far to feel the pacing
   * that a cohort of tens of thousands needs at Azure's rate.
   */
  renewalsPerMinute: number;
  /** An operator asks for renewals (`POST /api/devices/{id}/renew`) of a few devices. */
  manualRenewals: { at: string; devices: number; who: string; why: string }[];
  /** Use these devices instead of planning them from the mix (tests). */
  profiles?: DeviceProfile[];
}

/**
 * The default fleet: 230 devices plus a cohort of 40 provisioned in the same hour, over 90
 * days, on 7-, 14- and 30-day leaves, with a 4-hour issuer outage where the cohort's renewals
 * fall due (a failure spike) and an operator renewing three devices by hand.
 */
export function defaultFleetOptions(seed = 1): FleetOptions {
  const start = '2026-11-01T00:00:00.000Z';
  const cohortHour = at(start, 10 * DAY_MS + 9 * HOUR_MS);
  const cohortDays = 14;
  // The cohort's renewals fall due at 85% of its first certificates' lifetime (certfleet's
  // default policy): an outage starting an hour earlier hits the whole campaign.
  const cohortDue = Date.parse(cohortHour) + 0.85 * cohortDays * DAY_MS;
  return {
    seed,
    hub: 'sim-hub',
    start,
    days: 90,
    devices: 230,
    mix: {
      'self-renewing': 0.4,
      passive: 0.2,
      'part-time': 0.15,
      refusing: 0.06,
      flaky: 0.1,
      'goes-dark': 0.09,
    },
    cohort: { size: 40, hourStart: cohortHour, tag: 'batch-2026-11', policy: 'standard' },
    policies: [
      { name: 'short', leafValidityDays: 7, share: 0.1 },
      { name: 'standard', leafValidityDays: 14, share: 0.3 },
      { name: 'long', leafValidityDays: 30, share: 0.6 },
    ],
    provisioningDays: 14,
    reportsOnlyDatesShare: 0.15,
    clockSkew: { share: 0.1, maxMs: 6 * HOUR_MS },
    reusesKeyPairShare: 0.02,
    refusalProbability: [0.5, 1],
    flaky: { failMidRenewal: 0.35, timeout: 0.1 },
    partTimeHours: [2, 4, 8],
    partTimeStartHours: [0, 6, 12, 18],
    darkDays: [10, 35],
    dpsOutages: [{ from: isoUtc(cohortDue - HOUR_MS), until: isoUtc(cohortDue + 3 * HOUR_MS) }],
    dpsRegistrationsPerMinute: 1000,
    renewalsPerMinute: 2,
    manualRenewals: [
      {
        at: at(start, 45 * DAY_MS + 14 * HOUR_MS),
        devices: 3,
        who: 'ops@contoso.example',
        why: 'suspected key exposure on a service laptop',
      },
    ],
  };
}

/** Checks the options, naming every problem. */
export function validateFleetOptions(options: FleetOptions): string[] {
  const problems: string[] = [];
  if (!Number.isFinite(Date.parse(options.start))) problems.push('start: not a date');
  if (!(options.days > 0)) problems.push('days: must be positive');
  if (!Number.isInteger(options.devices) || options.devices < 0)
    problems.push('devices: must be a whole number');
  if (Object.values(options.mix).some((s) => !(s >= 0)))
    problems.push('mix: shares must be at least 0');
  if (options.devices > 0 && Object.values(options.mix).every((s) => s === 0))
    problems.push('mix: every share is 0');
  if (options.policies.length === 0) problems.push('policies: at least one');
  if (options.partTimeHours.some((h) => !(h > 0 && h < 24)))
    problems.push('partTimeHours: each between 0 and 24 hours');
  if (options.partTimeStartHours.some((h) => !Number.isInteger(h) || h < 0 || h > 23))
    problems.push('partTimeStartHours: each a whole hour from 0 to 23');
  const names = new Set(options.policies.map((p) => p.name));
  if (!options.profiles && options.cohort?.policy && !names.has(options.cohort.policy))
    problems.push(`cohort.policy: no policy ${options.cohort.policy}`);
  for (const p of options.profiles ?? []) {
    if (!names.has(p.policy)) problems.push(`${p.deviceId}: no policy ${p.policy}`);
  }
  if (!Number.isInteger(options.renewalsPerMinute) || options.renewalsPerMinute < 1)
    problems.push('renewalsPerMinute: a whole number of at least 1');
  return problems;
}

/**
 * The devices of a fleet, planned from the options: the same seed gives the same devices.
 * Shares become whole numbers by largest remainder; kinds, policies and provisioning times are
 * drawn from the seed.
 */
export function planProfiles(options: FleetOptions): DeviceProfile[] {
  if (options.profiles) return options.profiles;
  const random = SeededRandom.stream(options.seed, 'plan');
  const start = Date.parse(options.start);
  const kinds = random.shuffled(
    apportion(options.devices, Object.entries(options.mix) as [DeviceKind, number][]),
  );
  const policies = random.shuffled(
    apportion(
      options.devices,
      options.policies.map((p) => [p.name, p.share] as [string, number]),
    ),
  );
  const width = String(options.devices + (options.cohort?.size ?? 0)).length;
  const profiles: DeviceProfile[] = [];

  kinds.forEach((kind, i) => {
    const deviceId = `dev-${String(i + 1).padStart(Math.max(4, width), '0')}`;
    const online = onlinePattern(kind, options, random);
    let provisionAt = start + Math.floor(random.between(0, options.provisioningDays * DAY_MS));
    if (online.kind === 'daily') {
      // Installed while it is online: a day of the spread, a moment inside its window.
      const day = Math.floor(provisionAt / DAY_MS) * DAY_MS;
      provisionAt =
        day + (online.fromSecond + Math.floor(random.between(60, online.seconds - 60))) * 1000;
      if (provisionAt < start) provisionAt += DAY_MS;
    }
    provisionAt = Math.floor(provisionAt / 1000) * 1000;
    const profile: DeviceProfile = {
      deviceId,
      kind,
      provisionAt: isoUtc(provisionAt),
      policy: policies[i] ?? options.policies[0]!.name,
      selfRenewal: kind === 'self-renewing' || kind === 'goes-dark' ? 'at80' : 'never',
      online,
      refusalProbability:
        kind === 'refusing'
          ? random.between(options.refusalProbability[0], options.refusalProbability[1])
          : 0,
      timeoutProbability: kind === 'flaky' ? options.flaky.timeout : 0,
      failMidRenewalProbability: kind === 'flaky' ? options.flaky.failMidRenewal : 0,
      reportsOnlyDates: random.chance(options.reportsOnlyDatesShare),
      clockOffsetMs: 0,
      reusesKeyPair: random.chance(options.reusesKeyPairShare),
    };
    if (random.chance(options.clockSkew.share)) {
      const size = random.between(5 * MINUTE_MS, Math.max(5 * MINUTE_MS, options.clockSkew.maxMs));
      profile.clockOffsetMs = Math.round(random.chance(0.5) ? size : -size);
    }
    if (kind === 'goes-dark') {
      const end = start + options.days * DAY_MS;
      const from =
        provisionAt + random.between(3 * DAY_MS, Math.max(4 * DAY_MS, (end - provisionAt) * 0.6));
      const length = random.between(options.darkDays[0], options.darkDays[1]) * DAY_MS;
      profile.dark = { from: isoUtc(Math.floor(from)), until: isoUtc(Math.floor(from + length)) };
    }
    profiles.push(profile);
  });

  const cohort = options.cohort;
  if (cohort) {
    const hour = Date.parse(cohort.hourStart);
    for (let i = 0; i < cohort.size; i += 1) {
      profiles.push({
        deviceId: `${cohort.tag}-${String(i + 1).padStart(4, '0')}`,
        kind: 'cohort',
        provisionAt: isoUtc(hour + Math.floor(random.between(0, HOUR_MS) / 1000) * 1000),
        policy: cohort.policy ?? options.policies[0]!.name,
        selfRenewal: 'never',
        online: { kind: 'always' },
        refusalProbability: 0,
        timeoutProbability: 0,
        failMidRenewalProbability: 0,
        reportsOnlyDates: false,
        clockOffsetMs: 0,
        reusesKeyPair: false,
        cohort: cohort.tag,
      });
    }
  }
  return profiles;
}

function onlinePattern(
  kind: DeviceKind,
  options: FleetOptions,
  random: SeededRandom,
): OnlinePattern {
  if (kind !== 'part-time') return { kind: 'always' };
  const hours = random.pick(options.partTimeHours);
  // Devices wake on a schedule, a few seconds apart.
  const fromSecond = random.pick(options.partTimeStartHours) * 3600 + random.integer(0, 20);
  return { kind: 'daily', fromSecond, seconds: Math.round(hours * 3600) };
}

/** `total` items split by shares, whole numbers by largest remainder, in the shares' order. */
function apportion<T>(total: number, shares: [T, number][]): T[] {
  const sum = shares.reduce((n, [, s]) => n + s, 0);
  if (total === 0 || sum <= 0) return [];
  const exact = shares.map(([item, share]) => ({ item, exact: (total * share) / sum }));
  const counts = exact.map((e) => Math.floor(e.exact));
  let left = total - counts.reduce((n, c) => n + c, 0);
  const byRemainder = exact
    .map((e, i) => ({ i, remainder: e.exact - Math.floor(e.exact) }))
    .sort((a, b) => b.remainder - a.remainder || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    counts[i]! += 1;
    left -= 1;
  }
  return exact.flatMap((e, i) => Array.from({ length: counts[i]! }, () => e.item));
}

function at(iso: string, offsetMs: number): string {
  return isoUtc(Date.parse(iso) + offsetMs);
}
