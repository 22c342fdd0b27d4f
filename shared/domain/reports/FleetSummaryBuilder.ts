import { ALERT_RULES } from '../alerts/AlertRule';
import { AlertState } from '../alerts/AlertState';
import {
  AUDIT_CHECKS,
  AuditCheckSettings,
  FleetAuditChecks,
  TrustedCa,
} from '../audit/FleetAuditChecks';
import { DAY_MS } from '../Clock';
import { DeviceRecord } from '../DeviceRecord';
import { FleetSummary } from './FleetSummary';
import {
  FLEET_STATES,
  cohortOf,
  fleetStateOf,
  inFleet,
  issuerOf,
  keyAlgorithmOf,
} from './fleetState';
import { renewalOutcomesOf } from './renewalOutcomes';

/** Days the expiry histogram covers, the summary's own day first. */
export const EXPIRY_HISTOGRAM_DAYS = 90;
/** Days of renewal outcomes, the summary's own day last. */
export const RENEWAL_OUTCOME_DAYS = 30;

/**
 * Builds the fleet summary from records fed one at a time (`add`) and the open alerts
 * (`addOpenAlert`), then `summary()`: one pass over the ledger, a page at a time, never the
 * whole fleet in memory. What it keeps grows with the number of distinct issuers, hubs, cohorts
 * and key algorithms, and with the fleet audit checks' own state (FleetAuditChecks: one entry
 * per distinct thumbprint and public key, for the sharing checks), which it runs in the same
 * pass so that `findings` counts exactly what `certfleet audit checks` finds.
 *
 * Expiry follows the renewal state machine and the audit checks: a certificate is expired once
 * `validUntil <= at` (certificateExpired, FleetAuditChecks), so `expired` and the histogram
 * split the fleet's certificates between them, except those expiring beyond 90 days.
 */
export class FleetSummaryBuilder {
  private devices = 0;
  private expired = 0;
  // Maps, not objects: an issuer or a cohort tag is the device's text, and may be `__proto__`.
  private readonly byState = zeros(FLEET_STATES);
  private readonly byIssuer = new Map<string, number>();
  private readonly byKeyAlgorithm = new Map<string, number>();
  private readonly byHub = new Map<string, number>();
  private readonly byCohort = new Map<string, number>();
  private readonly expiring: number[] = new Array<number>(EXPIRY_HISTOGRAM_DAYS).fill(0);
  private readonly outcomes = Array.from({ length: RENEWAL_OUTCOME_DAYS }, () => ({
    renewed: 0,
    failed: 0,
    expired: 0,
  }));
  private alertsTotal = 0;
  private readonly alertsBySeverity = zeros(['critical', 'warning']);
  private readonly alertsByRule = zeros(ALERT_RULES);
  private readonly checks: FleetAuditChecks;
  /** Midnight UTC of the summary's day, in epoch ms. */
  private readonly today: number;
  private readonly atMs: number;

  constructor(
    private readonly at: string,
    auditChecks: { settings: AuditCheckSettings; cas: readonly TrustedCa[] },
  ) {
    this.atMs = Date.parse(at);
    if (Number.isNaN(this.atMs)) throw new Error(`the summary's time is not a time: ${at}`);
    this.today = this.atMs - (this.atMs % DAY_MS);
    this.checks = new FleetAuditChecks(at, auditChecks.settings, auditChecks.cas);
  }

  add(record: DeviceRecord): void {
    this.checks.add(record);
    if (!inFleet(record)) return;
    this.devices += 1;
    bump(this.byState, fleetStateOf(record));
    bump(this.byIssuer, issuerOf(record));
    bump(this.byKeyAlgorithm, keyAlgorithmOf(record));
    bump(this.byHub, record.hub);
    bump(this.byCohort, cohortOf(record));
    const current = record.current;
    if (current) {
      const until = Date.parse(current.validUntil);
      if (until <= this.atMs) this.expired += 1;
      else {
        const day = this.dayIndex(until);
        if (day < EXPIRY_HISTOGRAM_DAYS) this.expiring[day]! += 1;
      }
    }
    for (const outcome of renewalOutcomesOf(record, this.at)) {
      const day = this.dayIndex(Date.parse(outcome.at)) + RENEWAL_OUTCOME_DAYS - 1;
      if (day >= 0 && day < RENEWAL_OUTCOME_DAYS) this.outcomes[day]![outcome.kind] += 1;
    }
  }

  /** One open alert, device or fleet (AlertStore.listOpen). */
  addOpenAlert(alert: AlertState): void {
    this.alertsTotal += 1;
    bump(this.alertsBySeverity, alert.severity);
    bump(this.alertsByRule, alert.rule);
  }

  summary(): FleetSummary {
    const findings = zeros(AUDIT_CHECKS);
    for (const f of this.checks.findings()) bump(findings, f.check);
    return {
      at: this.at,
      devices: this.devices,
      byState: record(this.byState),
      byIssuer: record(this.byIssuer, 'sorted'),
      byKeyAlgorithm: record(this.byKeyAlgorithm, 'sorted'),
      byHub: record(this.byHub, 'sorted'),
      byCohort: record(this.byCohort, 'sorted'),
      expired: this.expired,
      expiryHistogram: this.expiring.map((devices, i) => ({ date: this.dateOf(i), devices })),
      renewalOutcomes: this.outcomes.map((counts, i) => ({
        date: this.dateOf(i - RENEWAL_OUTCOME_DAYS + 1),
        ...counts,
      })),
      openAlerts: {
        total: this.alertsTotal,
        bySeverity: record(this.alertsBySeverity),
        byRule: record(this.alertsByRule),
      },
      findings: record(findings),
    };
  }

  /** Whole UTC days from the summary's day to the day of `ms` (negative: before it). */
  private dayIndex(ms: number): number {
    return Math.floor((ms - this.today) / DAY_MS);
  }

  private dateOf(dayIndex: number): string {
    return new Date(this.today + dayIndex * DAY_MS).toISOString().slice(0, 10);
  }
}

/** Counts for each of `keys`, all 0: listed even when nothing has them. */
function zeros(keys: readonly string[]): Map<string, number> {
  return new Map(keys.map((k) => [k, 0]));
}

function bump(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/**
 * The counts as a plain object (Object.fromEntries defines `__proto__` as a key like any other).
 * Breakdowns by the devices' own values are sorted, so two summaries of one fleet print alike.
 */
function record(counts: Map<string, number>, order?: 'sorted'): Record<string, number> {
  const entries = [...counts];
  if (order === 'sorted') entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}
