/**
 * The rules certfleet alerts ops on (docs/alerts.md). Each is evaluated from one ledger record
 * (deviceConditions); many devices firing one rule for one cause roll up into a fleet alert
 * (rollUp).
 */
export const ALERT_RULES = [
  /** Inside the warning window and no renewal making progress. */
  'certificate-expiring',
  /** validUntil has passed: the device can no longer connect. */
  'certificate-expired',
  /** The renewal time passed long ago and no new certificate arrived. */
  'renewal-overdue',
  /** The campaign was given up, or keeps failing in a way that will not heal by itself. */
  'renewal-failed',
  /** No report or connection for long while the certificate is inside its renewal window. */
  'device-silent',
  /** Security findings on the record (shared/domain/Finding.ts). */
  'common-name-mismatch',
  'chain-untrusted',
  'private-key-reported',
  'key-not-rotated',
  /** A new certificate that is no renewal (the ledger's certificate.changed-unexpectedly). */
  'certificate-changed-unexpectedly',
  /** Incidents that pause renewals (incidentTransitions). */
  'renewals-throttled',
  'issuer-outage',
  'service-error',
  /** Fleet risk, looked at daily (shared/domain/alerts/fleetRiskConditions.ts). */
  'ca-expiring',
  'renewal-capacity',
  /** A planned CA rotation's forecast misses its deadline (shared/domain/rotation). */
  'rotation-deadline-at-risk',
  /** The daily fleet audit checks' findings (shared/domain/alerts/auditFindingConditions.ts). */
  'certificate-shared',
  'public-key-shared',
  'weak-key-or-signature',
  'validity-too-long',
  'distrusted-issuer',
] as const;

export type AlertRule = (typeof ALERT_RULES)[number];

/** Alerts have two severities, like the Prometheus anchors: act soon, act now. */
export type AlertSeverity = 'warning' | 'critical';

/** Device alerts concern one device; fleet alerts roll many up into one (rollUp). */
export type AlertScope = 'device' | 'fleet';

const RANK: Record<AlertSeverity, number> = { warning: 1, critical: 2 };

/** The higher of two severities. */
export function higherSeverity(a: AlertSeverity, b: AlertSeverity): AlertSeverity {
  return RANK[a] >= RANK[b] ? a : b;
}

/** Whether `next` is more severe than `previous`. */
export function rises(previous: AlertSeverity, next: AlertSeverity): boolean {
  return RANK[next] > RANK[previous];
}
