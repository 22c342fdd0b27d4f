import { MethodOutcomeKind } from './MethodOutcome';

/**
 * Where a device stands in renewal (the renewal state machine, shared/domain/renewal/
 * renewalTransitions.ts). A device without a campaign is `healthy`: nothing to do before its
 * certificate's renewal falls due.
 *
 *   healthy ──due──> due ──asked──> requested ──new certificate──> healthy (renewed)
 *                     │               │  └─deadline passed─> retrying ──> requested …
 *                     │               └─refused/timeout────> retrying  (backoff by class)
 *                     └─offline, or known disconnected──> unreachable ──connects──> requested …
 *   retrying/… ──too many failures, not found──> failed;   any ──validUntil passed──> expired
 *   due/requested/retrying/unreachable/failed ──newer certificate in another hub──> moved
 */
export type RenewalStatus =
  | 'healthy'
  /** Renewal has fallen due (or was started early for capacity) and waits for its slot. */
  | 'due'
  /** The device accepted the request; a new certificate is expected before `deadline`. */
  | 'requested'
  /** An attempt failed (refused, timed out, no certificate by the deadline): try again later. */
  | 'retrying'
  /**
   * The device is offline: it answered 404103, or the ledger knows it is disconnected and it was
   * not called (awaitConnection.ts). Asked as soon as it connects; else after the offline recheck,
   * or, when known disconnected, at the blind try shortly before expiry.
   */
  | 'unreachable'
  /** Given up (not found, disabled, too many failures): needs a person or a new certificate. */
  | 'failed'
  /** The certificate expired before it was renewed: the device must re-provision via DPS. */
  | 'expired'
  /**
   * The device re-registered through DPS and was assigned to another hub, whose record carries
   * on: the campaign here ended, and nothing more is done for this record (kept for auditors).
   */
  | 'moved';

export interface RenewalAttempt {
  at: string;
  requestId: string;
  outcome: MethodOutcomeKind;
  /** The device's status code, for accepted/refused. */
  status?: number;
}

export interface RenewalState {
  status: RenewalStatus;
  /** One renewal effort, from falling due to success or giving up. */
  campaignId?: string;
  startedAt?: string;
  /** Why the campaign started: `due`, `capacity` (started early), `manual`. */
  trigger?: string;
  /** Direct-method calls made in this campaign. */
  attempts: number;
  /** Attempts that count against giving up: refusals, timeouts, no-shows. Offline does not. */
  failures: number;
  lastAttempt?: RenewalAttempt;
  /** When the next attempt may be made. */
  nextAttemptAt?: string;
  /** `requested`: the new certificate must be reported by then. */
  deadline?: string;
  /** Why the device is retrying, unreachable, failed, expired or moved. */
  reason?: string;
}

export const HEALTHY: RenewalState = { status: 'healthy', attempts: 0, failures: 0 };
