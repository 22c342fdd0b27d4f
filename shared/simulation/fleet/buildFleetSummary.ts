import { DAY_MS, isoUtc } from '../../domain/Clock';
import { Services } from '../../services';
import { FleetRecords } from './FleetRecords';
import { FleetSummary, RunStatistics } from './FleetSummary';
import { SimulatedFleet } from './SimulatedFleet';
import { ReceivedAlerts } from '../../local/LoopbackAlertReceiver';
import { checkFleetConsistency } from './checkFleetConsistency';
import { countAlerts } from './countAlerts';
import { countFleet } from './countFleet';

/**
 * Builds the run's summary: reads the ledger, the audit trail and the alert store once
 * (FleetRecords), counts the run (countFleet, countAlerts), and checks them against what the
 * devices really did and what the loopback receiver got (checkFleetConsistency).
 *
 * The run covers `start` to `end`; `until` is its last instant, after the final alert
 * delivery (what was queued near the end waits its hold), whose audit records count too.
 */
export async function buildFleetSummary(input: {
  services: Services;
  fleet: SimulatedFleet;
  start: number;
  end: number;
  until: number;
  stats: RunStatistics;
  received: ReceivedAlerts;
  alertLog: { alerts: number; deliveryFailures: number };
}): Promise<FleetSummary> {
  const { services, fleet, start, end } = input;
  const settings = services.settings;
  const records = await FleetRecords.read({
    services,
    fleet,
    start,
    until: Math.max(end, input.until),
    received: input.received,
    alertLog: input.alertLog,
  });
  const counts = countFleet(records, settings, end);
  const rate = settings.renewal.renewalsPerMinute;
  const consistency = checkFleetConsistency(records, {
    end,
    renewalsPerMinute: rate,
    unexplained: counts.expired.unexplained,
    alertSettings: settings.alerts.rules,
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
    alerts: countAlerts(records.alerts),
    ledger: counts.ledger,
    dps: counts.dps,
    run: input.stats,
    consistency,
  };
}
