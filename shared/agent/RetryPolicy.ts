/**
 * How long to wait before trying again after a failure: exponential from `initialMs`, capped at
 * `maxMs`, with "equal jitter" (half the delay fixed, half random), so that a fleet that failed
 * together (an issuer outage, a DPS throttle) does not retry together. A server's Retry-After
 * is a floor (DPS answers a throttled device with one, 429), up to `maxMs`: a server that asks
 * for a day or a year does not keep a device from its certificate that long.
 */
export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/** One minute, doubling, at most an hour: a 7-day certificate renewed at 80% has 33 hours left. */
export const DEFAULT_RETRY: RetryPolicy = { initialMs: 60_000, maxMs: 60 * 60_000 };

/**
 * The wait before attempt `failures + 1`, given `failures` failures in a row (1 or more).
 * `random` returns a number in [0, 1).
 */
export function retryDelayMs(
  failures: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs = 0,
): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.round(Math.max(jittered, boundedRetryAfterMs(retryAfterMs, policy)));
}

/** A server's Retry-After as the agent honours it: at most the policy's longest wait. */
export function boundedRetryAfterMs(retryAfterMs: number, policy: RetryPolicy): number {
  return Math.min(Math.max(0, retryAfterMs), policy.maxMs);
}
