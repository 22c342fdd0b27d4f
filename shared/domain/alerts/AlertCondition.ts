import { AlertRule, AlertScope, AlertSeverity } from './AlertRule';

/**
 * A rule that holds now, for one device or (rolled up) for many: the input of the alert
 * lifecycle (nextAlertStates). Carries no secrets: summaries are written by certfleet, never
 * copied from what a device sent.
 */
export interface AlertCondition {
  rule: AlertRule;
  severity: AlertSeverity;
  scope: AlertScope;
  /** What the alert is about: the device key for a device, the cause for a fleet alert. */
  subject: string;
  /** One human sentence. */
  summary: string;
  /** The device's, for a device alert. */
  hub?: string;
  deviceId?: string;
  /** The certificate's expiry (the earliest of the group's, for a fleet alert). */
  validUntil?: string;
  /**
   * What devices firing this rule together have in common: issuer, cohort and expiry day. Equal
   * causes roll up (rollUp).
   */
  cause: string;
  /** Fleet alerts: how many devices, and some of their ids (`hub/deviceId`). */
  count?: number;
  sample?: string[];
  /** A device condition kept but not sent: the subject of the fleet alert that covers it. */
  rolledUpInto?: string;
}
