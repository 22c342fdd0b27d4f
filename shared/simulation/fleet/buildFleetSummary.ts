import { DAY_MS, isoUtc } from '../../domain/Clock';
import { Services } from '../../services';
import { FleetRecords } from './FleetRecords';
import { FleetSummary, RunStatistics } from './FleetSummary';
import { SimulatedFleet } from './SimulatedFleet';
import { checkFleetConsistency } from './checkFleetConsistency';
import { countFleet } from './countFleet';

/**
 * Builds the run's summary: reads the ledger and the audit trail once (FleetRecords), counts
 * the run (countFleet), and checks both against what the devices really did
 * (checkFleetConsistency).
 */
export async function buildFleetSummary(input: {
  services: Services;
  fleet: SimulatedFleet;
  start: number;
  end: number;
  stats: RunStatistics;
}): Promise<FleetSummary> {
  const { services, fleet, start, end } = input;
  const settings = services.settings;
  const records = await FleetRecords.read({ services, fleet, start, end });
  const counts = countFleet(records, settings, end);
  const rate = settings.renewal.renewalsPerMinute;
  const consistency = checkFleetConsistency(records, {
    end,
    renewalsPerMinute: rate,
    unexplained: counts.expired.unexplained,
  });
  const policy = settings.renewalPolicy;
  return {
    seed: fleet.options.seed,
    hub: fleet.hub,
    start: isoUtc(start),
    end: isoUtc(end),
    days: (end - start) / DAY_MS,
    devices: counts.devices,
    settings: {
      renewalsPerMinute: rate,
      renewalPolicy:
        policy.kind === 'fraction'
          ? `at ${Math.round(policy.fraction * 100)}% of the lifetime`
          : `${policy.renewBeforeMs / 3_600_000} h before expiry`,
      leafValidityDays: fleet.dps.policies.map((p) => p.leafValidityDays),
    },
    renewals: counts.renewals,
    requests: counts.requests,
    failures: counts.failures,
    expired: counts.expired,
    findings: counts.findings,
    audit: counts.audit,
    incidents: counts.incidents,
    ledger: counts.ledger,
    dps: counts.dps,
    run: input.stats,
    consistency,
  };
}
