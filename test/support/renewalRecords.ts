import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { MethodOutcome } from '../../shared/domain/renewal/MethodOutcome';
import { DEFAULT_RENEWAL_TIMING, RenewalTiming } from '../../shared/domain/renewal/RenewalTiming';
import {
  attemptAnswered,
  nextRequest,
  startCampaign,
} from '../../shared/domain/renewal/renewalTransitions';
import { FIRST, aCertificate, given, patch } from './ledgerEvents';

/**
 * Fixture builders for the renewal state machine, on the ledger's fixed dates: a device whose
 * first certificate (FIRST, 1 to 31 November 2026 UTC) falls due on 26 November at noon.
 *
 *   const record = asked(inCampaign(), accepted(), AT_DUE);
 */

export const TIMING: RenewalTiming = DEFAULT_RENEWAL_TIMING;

/** When FIRST falls due under the default policy (85% of 30 days). */
export const AT_DUE = '2026-11-26T12:00:00.000Z';

/** FIRST's expiry. */
export const EXPIRY = FIRST.validUntil;

/** `iso` moved by `ms`, as UTC ISO 8601. */
export function plus(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

/** A device known from its first certificate, with nothing to renew yet. */
export function aDevice(): DeviceRecord {
  return given(patch(1, aCertificate()));
}

/** The record with its audit outbox flushed: what the next step finds in the ledger. */
export function flushed(record: DeviceRecord): DeviceRecord {
  return { ...record, pendingAudit: [] };
}

/** A device whose campaign started at `at`, audit flushed. */
export function inCampaign(
  at: string = AT_DUE,
  trigger: 'due' | 'capacity' | 'manual' = 'due',
  record: DeviceRecord = aDevice(),
): DeviceRecord {
  return flushed(startCampaign(record, at, trigger));
}

/** Asks the device at `at` and records `outcome` (audit not flushed). */
export function asked(
  record: DeviceRecord,
  outcome: MethodOutcome,
  at: string,
  timing: RenewalTiming = TIMING,
): DeviceRecord {
  return attemptAnswered(record, nextRequest(record, at, timing), outcome, at, timing);
}

export const accepted = (status = 202): MethodOutcome => ({ kind: 'accepted', status });
export const refused = (status = 500): MethodOutcome => ({ kind: 'refused', status });
export const offline = (): MethodOutcome => ({ kind: 'offline', errorCode: 404103 });
export const notFound = (): MethodOutcome => ({ kind: 'not-found', errorCode: 404001 });
export const timedOut = (): MethodOutcome => ({ kind: 'timeout', errorCode: 504101 });
export const throttled = (retryAfterMs?: number): MethodOutcome =>
  retryAfterMs === undefined
    ? { kind: 'throttled', errorCode: 429001 }
    : { kind: 'throttled', errorCode: 429001, retryAfterMs };
export const serviceError = (): MethodOutcome => ({
  kind: 'error',
  reason: 'IoT Hub answered 401: unauthorized',
  status: 401,
  transient: false,
});

/** Freezes a value and everything in it, so a function that mutates its input throws. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value as object)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
