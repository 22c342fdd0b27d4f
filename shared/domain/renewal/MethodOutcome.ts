/**
 * What happened when certfleet asked a device to renew by direct method, classified the way
 * the renewal state machine needs it (AZURE-FACTS.md, "IoT Hub direct methods"):
 *
 * - `accepted`: the device answered 200 or 202; it will re-register with DPS.
 * - `refused`: the device answered with any other status.
 * - `offline`: 404103, the device is not connected.
 * - `not-found`: 404001, no such device (deleted), or it is disabled.
 * - `timeout`: 504101, the device is connected but did not answer in time.
 * - `throttled`: 429xxx, IoT Hub's quota; slow down for everyone on that hub.
 * - `error`: configuration, authorization or service errors: not the device's fault.
 */
export type MethodOutcome =
  | { kind: 'accepted'; status: number; payload?: unknown }
  | { kind: 'refused'; status: number; payload?: unknown }
  | { kind: 'offline'; errorCode?: number }
  | { kind: 'not-found'; errorCode?: number }
  | { kind: 'timeout'; errorCode?: number }
  | { kind: 'throttled'; errorCode?: number; retryAfterMs?: number }
  | { kind: 'error'; reason: string; status?: number; errorCode?: number; transient: boolean };

export type MethodOutcomeKind = MethodOutcome['kind'];

/**
 * The direct method's request payload: the device contract (docs/device-contract.md,
 * "Renewal requests").
 */
export interface RenewalRequest {
  /** Unique per attempt; the device echoes it in its response and may log it. */
  requestId: string;
  /** Why certfleet asks: `due`, `retry`, `manual`, `device-connected`. */
  reason: string;
  /** The validUntil of the certificate certfleet knows, UTC ISO 8601. */
  currentValidUntil: string;
  /** When certfleet will consider the request failed if no new certificate was reported. */
  deadline: string;
}
