import {
  AUDIT_CHECKS,
  AuditCheck,
  AuditCheckSettings,
  AuditFinding,
  FleetAuditChecks,
  TrustedCa,
} from '../../domain/audit/FleetAuditChecks';
import {
  ALERTED_AUDIT_CHECKS,
  auditFindingConditions,
} from '../../domain/alerts/auditFindingConditions';
import { AlertState, AlertTransition } from '../../domain/alerts/AlertState';
import { nextAlertStates } from '../../domain/alerts/nextAlertStates';
import { Clock, isoUtc } from '../../domain/Clock';
import { AlertStore, CertificateLedger } from '../ports';
import { AlertRelay } from '../alerts/AlertRelay';

export interface FleetAuditReport {
  at: string;
  devicesChecked: number;
  /** Findings per check, every check named (0 when it found nothing). */
  counts: Record<AuditCheck, number>;
  findings: AuditFinding[];
}

/**
 * Use case: the fleet audit checks, on demand (`certfleet audit checks`) and daily (the
 * `fleetAuditChecks` timer): reads the whole ledger a page at a time and runs every check
 * (shared/domain/audit/FleetAuditChecks.ts). The daily run also moves the alerts on the
 * findings that have no rule of their own (shared/domain/alerts/auditFindingConditions.ts):
 * raised when found, resolved when a run finds them no more.
 */
export class RunFleetAudit {
  constructor(
    private readonly deps: {
      ledger: CertificateLedger;
      clock: Clock;
      settings: AuditCheckSettings;
      cas: readonly TrustedCa[];
      alerts?: { store: AlertStore; relay: AlertRelay };
    },
  ) {}

  /** The daily run: the report, and the alerts on its findings moved on. */
  async runAndAlert(): Promise<FleetAuditReport & { transitions: AlertTransition[] }> {
    const report = await this.run();
    const alerts = this.deps.alerts;
    if (!alerts) return { ...report, transitions: [] };
    const open: AlertState[] = [];
    for await (const state of alerts.store.listOpen()) open.push(state);
    const rules: readonly string[] = ALERTED_AUDIT_CHECKS;
    const previous = open.filter((s) => s.scope === 'fleet' && rules.includes(s.rule));
    const { transitions } = nextAlertStates(
      previous,
      auditFindingConditions(report.findings),
      report.at,
    );
    await alerts.relay.acceptFleet(transitions, report.at);
    return { ...report, transitions };
  }

  async run(): Promise<FleetAuditReport> {
    const at = isoUtc(this.deps.clock.now());
    const checks = new FleetAuditChecks(at, this.deps.settings, this.deps.cas);
    for await (const record of this.deps.ledger.list()) checks.add(record);
    const findings = checks.findings();
    const counts = Object.fromEntries(AUDIT_CHECKS.map((c) => [c, 0])) as Record<
      AuditCheck,
      number
    >;
    for (const f of findings) counts[f.check] += 1;
    return { at, devicesChecked: checks.devicesChecked, counts, findings };
  }
}
