import { HOUR_MS, MINUTE_MS } from '../Clock';

/**
 * How patient the renewal state machine is, by error class. The defaults follow cert-manager
 * (after a failed issuance: 1 h, doubling to 32 h) for refusals and no-shows; an offline
 * device burns no attempt and is asked again when it connects.
 */
export interface RenewalTiming {
  /** After the device accepts, how long a new certificate may take to show up in the twin. */
  requestTimeoutMs: number;
  /** Failures (refusals, timeouts, no-shows) before certfleet gives up. */
  maxFailures: number;
  refusalBackoff: Backoff;
  timeoutBackoff: Backoff;
  /** Offline devices are asked when they connect; also after this, in case that event is missed. */
  offlineRecheckMs: number;
  /**
   * A device known to be disconnected (awaitConnection.ts) is not called while its certificate
   * has more than this left: it is asked when it connects. Within it, a call is tried anyway
   * (a blind try), in case the connection event that would have said so was lost.
   */
  offlineBlindTryMs: number;
  /** After throttling or a service error: try again this much later (no attempt counted). */
  serviceRetryMs: number;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RENEWAL_TIMING: RenewalTiming = {
  requestTimeoutMs: HOUR_MS,
  maxFailures: 8,
  refusalBackoff: { baseMs: HOUR_MS, maxMs: 32 * HOUR_MS },
  timeoutBackoff: { baseMs: 5 * MINUTE_MS, maxMs: HOUR_MS },
  offlineRecheckMs: 6 * HOUR_MS,
  offlineBlindTryMs: 6 * HOUR_MS,
  serviceRetryMs: MINUTE_MS,
};

/** base x 2^(n-1), at most max: the n-th consecutive failure's wait. */
export function backoffMs(backoff: Backoff, failures: number): number {
  const exponent = Math.max(0, Math.min(failures - 1, 30));
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
}
