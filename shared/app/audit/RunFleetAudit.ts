import {
  AUDIT_CHECKS,
  AuditCheck,
  AuditCheckSettings,
  AuditFinding,
  FleetAuditChecks,
  TrustedCa,
} from '../../domain/audit/FleetAuditChecks';
import { Clock, isoUtc } from '../../domain/Clock';
import { CertificateLedger } from '../ports';

export interface FleetAuditReport {
  at: string;
  devicesChecked: number;
  /** Findings per check, every check named (0 when it found nothing). */
  counts: Record<AuditCheck, number>;
  findings: AuditFinding[];
}

/**
 * Use case: the fleet audit checks, on demand (`certfleet audit checks`): reads the whole ledger
 * a page at a time and runs every check (shared/domain/audit/FleetAuditChecks.ts).
 */
export class RunFleetAudit {
  constructor(
    private readonly deps: {
      ledger: CertificateLedger;
      clock: Clock;
      settings: AuditCheckSettings;
      cas: readonly TrustedCa[];
    },
  ) {}

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
