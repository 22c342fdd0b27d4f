import { auditEntryId } from '../AuditEntry';
import { MINUTE_MS } from '../Clock';
import { MethodOutcomeKind } from './MethodOutcome';

/**
 * Fleet-wide pacing: how many renewal requests this minute has used, which hubs are throttled,
 * and whether renewals are paused because something bigger than one device is wrong (IoT Hub
 * throttling, an issuer outage, a configuration error). One incident is raised for such a
 * problem, never a failure per device, and renewals resume by themselves when it passes.
 */
export interface PacingState {
  /** `YYYY-MM-DDTHH:MM`, the minute `usedThisMinute` counts. */
  minute: string;
  usedThisMinute: number;
  /** Every renewal waits until then. */
  pausedUntil?: string;
  /** Consecutive global pauses, to double the next one. */
  pauses: number;
  hubs: Record<string, { pausedUntil: string; pauses: number }>;
  /**
   * Attempts and failures per minute over the spike window; `noShows`: of the failures, accepted
   * requests that brought no certificate by their deadline.
   */
  recent: { minute: string; attempts: number; failures: number; noShows?: number }[];
  incidents: Incident[];
  /**
   * Renewals recover from a failure spike made of no-shows (an issuer outage: devices accept,
   * then get no certificate): a few probe requests at a time, until one brings a certificate.
   */
  recovery?: Recovery;
  /** When a probe brought a certificate: the failure-spike incident can be resolved. */
  recoveredAt?: string;
}

/**
 * After an issuer outage's pause, an accepted request proves nothing (the devices accepted
 * during the outage too); only a new certificate does. Until one comes, at most
 * `probeRequests` requests are outstanding at a time (`probes`: those accepted), instead of the
 * full rate whose every acceptance, were the issuer still down, would be a device failing its
 * re-registration and a wasted call.
 */
export interface Recovery {
  since: string;
  probes: Probe[];
}

/** An accepted request made while recovering, watched for its certificate. */
export interface Probe {
  hub: string;
  deviceId: string;
  at: string;
  /** No new certificate by then: the probe failed (a no-show), and another may be sent. */
  deadline: string;
  /** The certificate it asked to replace: a record holding a later one has renewed. */
  validUntil: string;
}

export type IncidentKind = 'hub-throttled' | 'failure-spike' | 'service-error';

export interface Incident {
  id: string;
  kind: IncidentKind;
  hub?: string;
  openedAt: string;
  detail: string;
}

export interface PacingPolicy {
  renewalsPerMinute: number;
  spikeWindowMs: number;
  /** Fewer attempts than this in the window say nothing about the fleet. */
  spikeMinAttempts: number;
  spikeFailureRatio: number;
  pauseMs: number;
  maxPauseMs: number;
  throttlePauseMs: number;
  /** Requests outstanding at a time while renewals recover from an issuer outage. */
  probeRequests: number;
}

export const DEFAULT_PACING_POLICY: PacingPolicy = {
  renewalsPerMinute: 400,
  spikeWindowMs: 30 * MINUTE_MS,
  spikeMinAttempts: 20,
  spikeFailureRatio: 0.5,
  pauseMs: 15 * MINUTE_MS,
  maxPauseMs: 4 * 60 * MINUTE_MS,
  throttlePauseMs: MINUTE_MS,
  // Three devices: one may be flaky or slow; any of them renewing shows the issuer works again.
  probeRequests: 3,
};

export function initialPacing(now: string): PacingState {
  return {
    minute: minuteOf(now),
    usedThisMinute: 0,
    pauses: 0,
    hubs: {},
    recent: [],
    incidents: [],
  };
}

export function minuteOf(iso: string): string {
  return iso.slice(0, 16);
}

export function usedThisMinute(state: PacingState, now: string): number {
  return state.minute === minuteOf(now) ? state.usedThisMinute : 0;
}

/**
 * Takes up to `wanted` requests from the current minute's budget. While recovering from an
 * issuer outage, the budget is what the probes leave: `probeRequests` less the probes
 * outstanding and less what this minute already used, so at most that many a minute and none
 * while that many wait for their certificates.
 */
export function reserve(
  state: PacingState,
  now: string,
  wanted: number,
  policy: PacingPolicy,
): { state: PacingState; granted: number } {
  const used = usedThisMinute(state, now);
  const limit = state.recovery
    ? Math.min(policy.renewalsPerMinute, policy.probeRequests - state.recovery.probes.length)
    : policy.renewalsPerMinute;
  const granted = Math.max(0, Math.min(wanted, limit - used));
  return { state: { ...state, minute: minuteOf(now), usedThisMinute: used + granted }, granted };
}

/** Gives back what was reserved but not used (a request skipped after all). */
export function release(state: PacingState, now: string, count: number): PacingState {
  if (state.minute !== minuteOf(now)) return state;
  return { ...state, usedThisMinute: Math.max(0, state.usedThisMinute - count) };
}

export function isPaused(state: PacingState, now: string, hub?: string): boolean {
  if (state.pausedUntil && now < state.pausedUntil) return true;
  const h = hub ? state.hubs[hub] : undefined;
  return !!h && now < h.pausedUntil;
}

export interface PacingChange {
  state: PacingState;
  opened: Incident[];
  resolved: Incident[];
}

/**
 * Counts one renewal outcome and reacts to what it says about the fleet: throttling pauses the
 * hub, a service error pauses everyone, and a window with too many device failures (an issuer
 * outage looks like that: devices accept, then fail to get a certificate) pauses everyone.
 */
export function recordOutcome(
  state: PacingState,
  now: string,
  outcome: MethodOutcomeKind | 'no-show',
  hub: string,
  policy: PacingPolicy,
  detail = '',
): PacingChange {
  let next: PacingState = {
    ...state,
    hubs: { ...state.hubs },
    recent: trimmed(state.recent, now, policy),
  };
  const opened: Incident[] = [];
  const open = (kind: IncidentKind, text: string, incidentHub?: string) => {
    if (next.incidents.some((i) => i.kind === kind && i.hub === incidentHub)) return;
    const incident: Incident = {
      id: auditEntryId(['incident', kind, incidentHub, now]),
      kind,
      openedAt: now,
      detail: text,
      ...(incidentHub ? { hub: incidentHub } : {}),
    };
    next = { ...next, incidents: [...next.incidents, incident] };
    opened.push(incident);
  };

  if (outcome === 'throttled') {
    // The answers of calls already in flight when the hub was paused are covered by that pause:
    // one pause per episode, doubling on the next episode, not on every throttled call.
    const current = state.hubs[hub];
    if (current && now < current.pausedUntil) return { state: next, opened, resolved: [] };
    const pauses = (current?.pauses ?? 0) + 1;
    const wait = Math.min(policy.maxPauseMs, policy.throttlePauseMs * 2 ** (pauses - 1));
    next.hubs[hub] = { pausedUntil: later(now, wait), pauses };
    open(
      'hub-throttled',
      `IoT Hub ${hub} is throttling direct methods (429); paused ${wait / 1000} s`,
      hub,
    );
    return { state: next, opened, resolved: [] };
  }
  if (outcome === 'error') {
    // Likewise, errors of calls in flight when everyone was paused do not lengthen the pause.
    if (!isPaused({ ...next, hubs: {} }, now)) next = pauseAll(next, now, policy);
    open('service-error', `renewal requests fail for a reason that is not the device's: ${detail}`);
    return { state: next, opened, resolved: [] };
  }

  const failed = outcome === 'refused' || outcome === 'timeout' || outcome === 'no-show';
  const minute = minuteOf(now);
  const last = next.recent[next.recent.length - 1];
  const bucket =
    last && last.minute === minute ? { ...last } : { minute, attempts: 0, failures: 0 };
  bucket.attempts += 1;
  if (failed) bucket.failures += 1;
  if (outcome === 'no-show') bucket.noShows = (bucket.noShows ?? 0) + 1;
  next.recent = [...next.recent.filter((b) => b.minute !== minute), bucket];
  if (outcome === 'accepted' && next.hubs[hub]) next.hubs[hub] = { ...next.hubs[hub]!, pauses: 0 };

  const attempts = next.recent.reduce((n, b) => n + b.attempts, 0);
  const failures = next.recent.reduce((n, b) => n + b.failures, 0);
  const noShows = next.recent.reduce((n, b) => n + (b.noShows ?? 0), 0);
  if (
    attempts >= policy.spikeMinAttempts &&
    failures / attempts >= policy.spikeFailureRatio &&
    !isPaused(next, now)
  ) {
    next = pauseAll(next, now, policy);
    next.recent = []; // judge the next window afresh once renewals resume
    // Mostly no-shows: the devices answer but get no certificate (the issuer or DPS is down).
    // An acceptance after the pause would prove nothing, so renewals resume with probes
    // (Recovery). Refusals and timeouts are judged by the answers themselves, which the window
    // counts at once: those resume at the full rate, as before.
    if (noShows * 2 >= failures)
      next.recovery = { since: next.pausedUntil!, probes: next.recovery?.probes ?? [] };
    open(
      'failure-spike',
      `${failures} of the last ${attempts} renewal attempts failed (an issuer or DPS outage?); renewals paused`,
    );
  }
  return { state: next, opened, resolved: [] };
}

/**
 * Closes what has passed: a hub's throttling once its pause is over, a fleet-wide pause once it
 * has run out and renewals work again (`healthy`: the last sweep's attempts were not mostly
 * failures).
 */
export function resolveIncidents(
  state: PacingState,
  now: string,
  policy: PacingPolicy,
): PacingChange {
  const resolved: Incident[] = [];
  const recent = trimmed(state.recent, now, policy);
  const attempts = recent.reduce((n, b) => n + b.attempts, 0);
  const failures = recent.reduce((n, b) => n + b.failures, 0);
  const healthy = attempts > 0 && failures / attempts < policy.spikeFailureRatio;
  // While probing, only a new certificate ends a fleet-wide incident (settleProbes).
  const working = !state.recovery && (healthy || state.recoveredAt !== undefined);
  const incidents = state.incidents.filter((incident) => {
    const over =
      incident.kind === 'hub-throttled'
        ? !isPaused({ ...state, pausedUntil: undefined }, now, incident.hub)
        : !isPaused({ ...state, hubs: {} }, now) && working;
    if (over) resolved.push(incident);
    return !over;
  });
  const hubs = Object.fromEntries(
    Object.entries(state.hubs).filter(([, h]) => now < h.pausedUntil || h.pauses > 0),
  );
  const pauses =
    state.incidents.some((i) => i.kind !== 'hub-throttled') &&
    incidents.every((i) => i.kind === 'hub-throttled')
      ? 0
      : state.pauses;
  const next: PacingState = { ...state, incidents, hubs, recent, pauses };
  if (incidents.every((i) => i.kind === 'hub-throttled')) delete next.recoveredAt;
  return { state: next, opened: [], resolved };
}

/** Counts accepted requests made while recovering as probes (none when not recovering). */
export function addProbes(state: PacingState, probes: readonly Probe[]): PacingState {
  if (!state.recovery || probes.length === 0) return state;
  return {
    ...state,
    recovery: { ...state.recovery, probes: [...state.recovery.probes, ...probes] },
  };
}

/**
 * What became of the probes (`renewed`: the device's record holds a later certificate): one
 * renewal ends the recovery, and renewals go back to the full rate; a probe whose deadline passed
 * without one is dropped, making room for the next; the others wait.
 */
export function settleProbes(
  state: PacingState,
  now: string,
  renewed: (probe: Probe) => boolean,
): PacingState {
  const recovery = state.recovery;
  if (!recovery) return state;
  if (recovery.probes.some(renewed)) {
    const next: PacingState = { ...state, recoveredAt: now };
    delete next.recovery;
    return next;
  }
  const waiting = recovery.probes.filter((p) => now < p.deadline);
  if (waiting.length === recovery.probes.length) return state;
  return { ...state, recovery: { ...recovery, probes: waiting } };
}

function pauseAll(state: PacingState, now: string, policy: PacingPolicy): PacingState {
  const pauses = state.pauses + 1;
  const wait = Math.min(policy.maxPauseMs, policy.pauseMs * 2 ** (pauses - 1));
  return { ...state, pausedUntil: later(now, wait), pauses };
}

function trimmed(
  recent: PacingState['recent'],
  now: string,
  policy: PacingPolicy,
): PacingState['recent'] {
  const since = minuteOf(new Date(Date.parse(now) - policy.spikeWindowMs).toISOString());
  return recent.filter((b) => b.minute > since);
}

function later(now: string, ms: number): string {
  return new Date(Date.parse(now) + ms).toISOString();
}
