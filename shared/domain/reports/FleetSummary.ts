/**
 * The fleet as it stands at one instant: what `certfleet report summary`, `GET
 * /api/reports/summary`, the daily point-in-time report and the dashboard all show. Counts are
 * of active devices (deleted devices and those moved to another hub are not in the fleet).
 */
export interface FleetSummary {
  /** When the summary was taken (the clock's time, UTC ISO 8601). */
  at: string;
  /** Active devices. */
  devices: number;
  /** Devices by renewal status (`healthy`, `due`, `requested`, …; `unknown`: no certificate yet). */
  byState: Record<string, number>;
  /** Devices by their current certificate's issuer DN (`unknown` when not reported). */
  byIssuer: Record<string, number>;
  /** Devices by key algorithm, as the ledger names it (`ECDSA P-384`, `RSA 2048`, `unknown`). */
  byKeyAlgorithm: Record<string, number>;
  byHub: Record<string, number>;
  /** Devices by renewal cohort (`default` when none). */
  byCohort: Record<string, number>;
  /** Certificates already expired at `at` (`validUntil <= at`, as the renewal state machine says). */
  expired: number;
  /** Certificates expiring on each of the next 90 UTC days, the day of `at` first; all 90 listed. */
  expiryHistogram: { date: string; devices: number }[];
  /**
   * Renewal outcomes per UTC day over the last 30 days, oldest first; all 30 listed. Read from
   * the ledger records, not the audit trail (renewalOutcomes.ts): `renewed` a new certificate
   * seen before the old one expired, `expired` a certificate that ran out unrenewed, `failed` a
   * campaign given up (on the day of its last attempt) and not renewed since.
   */
  renewalOutcomes: { date: string; renewed: number; failed: number; expired: number }[];
  /** Open alerts: all of them, by severity and by rule. */
  openAlerts: { total: number; bySeverity: Record<string, number>; byRule: Record<string, number> };
  /** The fleet audit checks' findings, by check (every check listed, 0 when none). */
  findings: Record<string, number>;
}
