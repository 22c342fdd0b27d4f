import { AlertSinkName } from '../../app/ports';
import { AlertSeverity } from '../../domain/alerts/AlertRule';
import { AlertTransitionKind } from '../../domain/alerts/AlertState';
import { AuditEventType } from '../../domain/AuditEntry';
import { FindingCode } from '../../domain/Finding';
import { RenewalStatus } from '../../domain/renewal/RenewalState';
import { DeviceKind } from './DeviceProfile';
import { DpsFailureReason } from './StandInDps';
import { CallAnswer, RenewalFailureCause } from './SimulatedDevice';

/** How a certificate came to be replaced. */
export type RenewalPath =
  /** The device renewed by itself (at 80%), no campaign of certfleet's running. */
  | 'device'
  /** certfleet's sweep asked (due, started early for capacity, or a retry). */
  | 'certfleet-sweep'
  /** certfleet asked the moment the device connected (it had been offline when due). */
  | 'certfleet-after-connect'
  /** A person asked (`POST /api/devices/{id}/renew`). */
  | 'manual'
  /** certfleet's campaign was running, but the device renewed on its own schedule. */
  | 'device-during-campaign'
  /** The certificate had expired; the device re-provisioned through DPS. */
  | 're-provisioned-after-expiry';

/**
 * Why a direct-method call brought no renewal (every call but the one whose request the new
 * certificate answers): what the device answered, and for an acceptance, what became of it.
 */
export type CallWithoutRenewal =
  | 'offline'
  | 'not-found'
  | 'timeout'
  /** Refused: busy (a refusing device). */
  | 'refused-busy'
  /** Refused: already renewing on its own schedule (409). */
  | 'refused-already-renewing'
  /** Accepted; its re-registration failed at DPS (down, throttled, not enrolled). */
  | 'accepted-dps-failed'
  /** Accepted; the device failed mid-renewal (a reset, a CSR signed with the wrong key). */
  | 'accepted-device-failed'
  /** Accepted while still on an earlier request's renewal: that request's certificate counts. */
  | 'accepted-while-renewing'
  /** Accepted; no certificate and no failure by the end (still renewing, or lost offline). */
  | 'accepted-no-result';

/** Why a device's certificate expired. */
export type ExpiryExplanation =
  /** Not reachable at any moment from the time renewal fell due (or its last answer) to expiry. */
  | 'offline-through-expiry'
  /** certfleet gave up on it (too many failures) before it expired. */
  | 'gave-up'
  /** It refused certfleet's requests. */
  | 'refusing'
  /** It accepted, and its re-registration failed (a device fault, DPS refusing or down). */
  | 'failed-mid-renewal'
  /** It did not answer in time. */
  | 'not-answering'
  /** None of the above: certfleet could have saved it and did not. Must be zero. */
  | 'unexplained';

export interface FleetSummary {
  seed: number;
  hub: string;
  start: string;
  end: string;
  days: number;
  devices: {
    total: number;
    provisioned: number;
    byKind: Partial<Record<DeviceKind, number>>;
    reportsOnlyDates: number;
    clockOff: number;
    reusesKeyPair: number;
    cohort: number;
  };
  settings: { renewalsPerMinute: number; renewalPolicy: string; leafValidityDays: number[] };
  renewals: {
    /** Certificates replaced by newer ones, as the audit trail records them. */
    total: number;
    byPath: Record<RenewalPath, number>;
    /** Renewals whose new certificate has a new key pair (known from the devices). */
    newKeyPair: number;
    sameKeyPair: number;
  };
  /** certfleet's direct-method calls, by what the devices answered. */
  requests: {
    total: number;
    byAnswer: Partial<Record<CallAnswer, number>>;
    /**
     * Calls per renewal certfleet asked for (paths certfleet-sweep, certfleet-after-connect and
     * manual): every call, whatever its answer, over the renewals they brought.
     */
    perCertfleetRenewal: number;
    busiestMinute?: { minute: string; requests: number };
    /** The calls that brought no renewal, by why, by why certfleet asked and by device kind. */
    withoutRenewal: {
      total: number;
      byCause: Partial<Record<CallWithoutRenewal, number>>;
      /** The request's `reason`: due, capacity, retry, device-connected, manual, rotation. */
      byReason: Partial<Record<string, number>>;
      byKind: Partial<Record<DeviceKind, number>>;
      /** Of them, made while the stand-in DPS was down (an issuer outage). */
      duringDpsOutage: number;
    };
  };
  failures: {
    /** As certfleet recorded them (renewal.requested outcomes, renewal.failed reasons). */
    offline: number;
    refused: number;
    timeout: number;
    noShow: number;
    badCertificate: number;
    /** Re-registrations that DPS failed (CSR rejected, throttled, down). */
    dps: number;
    /** As the devices met them: their re-registration failed, by cause. */
    duringRenewal: Partial<Record<RenewalFailureCause, number>>;
  };
  expired: {
    /** Certificate expiries (a device can expire, re-provision and expire again). */
    total: number;
    devices: number;
    byExplanation: Partial<Record<ExpiryExplanation, number>>;
    /** Devices that re-provisioned after their certificate expired. */
    recovered: number;
    unexplained: string[];
    /** Devices whose certificate is expired at the end. */
    expiredAtEnd: number;
  };
  findings: {
    /** Findings raised with certificate reports over the run, by code. */
    raised: Partial<Record<FindingCode, number>>;
    /** Findings the ledger's devices carry at the end. */
    open: Partial<Record<FindingCode, number>>;
  };
  audit: {
    total: number;
    byType: Partial<Record<AuditEventType, number>>;
    chainsVerified: boolean;
  };
  incidents: { opened: Record<string, number>; resolved: number };
  alerts: {
    /** Alert transitions in the audit trail (device and fleet alerts), by kind… */
    transitions: Record<AlertTransitionKind, number>;
    /** …and by rule and kind, rules in their documented order. */
    byRule: Partial<Record<string, Partial<Record<AlertTransitionKind, number>>>>;
    /** Fleet alerts (a cohort rolled up into one) raised. */
    fleetRaised: number;
    /** Open at the end (the alert store), by rule and severity. */
    open: Partial<Record<string, Partial<Record<AlertSeverity, number>>>>;
    /** The notification outbox at the end, by sink. */
    deliveries: Partial<
      Record<AlertSinkName, { delivered: number; rolledUp: number; pending: number }>
    >;
    /** What the loopback webhook receiver got. */
    receiver: {
      notifications: number;
      byStatus: Partial<Record<AlertTransitionKind, number>>;
      duplicates: number;
      badSignatures: number;
      malformed: number;
    };
    /** Lines of the alert log (kept, not printed). */
    log: { alerts: number; deliveryFailures: number };
  };
  ledger: { devices: number; byRenewalStatus: Partial<Record<RenewalStatus, number>> };
  dps: { registrations: number; byOutcome: Partial<Record<'assigned' | DpsFailureReason, number>> };
  run: RunStatistics;
  consistency: { ok: boolean; checks: number; problems: string[] };
}

export interface RunStatistics {
  sweeps: number;
  sweepRequests: number;
  /** Devices the sweeps planned and did not call: known to be disconnected (awaitConnection). */
  awaitingConnection: number;
  batches: number;
  events: number;
  manualRequests: number;
  /** Runs of the alert-delivery timer (every sweep's minute, and each minute a delivery fell due). */
  deliveryRuns: number;
  /** Signed checkpoints of the audit trail taken (after each midnight, and one at the end). */
  checkpoints: number;
  /** Point-in-time reports written (one after each midnight, of the day that ended). */
  dailyReports: number;
}

/** The summary as a readable block, for a terminal. */
export function describeSummary(s: FleetSummary): string {
  const counts = (record: Partial<Record<string, number>>, empty = 'none') => {
    const parts = Object.entries(record)
      .filter(([, n]) => (n ?? 0) > 0)
      .map(([k, n]) => `${k} ${n}`);
    return parts.length > 0 ? parts.join(', ') : empty;
  };
  const lines = [
    `Simulated fleet (seed ${s.seed}): ${s.devices.total} devices on ${s.hub}, ${s.start.slice(0, 10)} to ${s.end.slice(0, 10)} (${s.days} days)`,
    `  mix: ${counts(s.devices.byKind)}; ${s.devices.reportsOnlyDates} report only dates, ${s.devices.clockOff} with a clock off, ${s.devices.reusesKeyPair} reuse their key pair`,
    `  certfleet: renews ${s.settings.renewalPolicy}, at most ${s.settings.renewalsPerMinute} requests a minute; leaves of ${s.settings.leafValidityDays.join(', ')} days`,
    `Renewals: ${s.renewals.total} (${s.renewals.newKeyPair} with a new key pair, ${s.renewals.sameKeyPair} with the same)`,
    `  by path: device itself ${s.renewals.byPath.device}, certfleet sweep ${s.renewals.byPath['certfleet-sweep']}, certfleet after connect ${s.renewals.byPath['certfleet-after-connect']}, manual ${s.renewals.byPath.manual}, device during a campaign ${s.renewals.byPath['device-during-campaign']}, re-provisioned after expiry ${s.renewals.byPath['re-provisioned-after-expiry']}`,
    `Requests: ${s.requests.total} direct-method calls (${counts(s.requests.byAnswer)})${s.requests.busiestMinute ? `; busiest minute ${s.requests.busiestMinute.minute} with ${s.requests.busiestMinute.requests}` : ''}`,
    `  ${s.requests.perCertfleetRenewal.toFixed(2)} calls per certfleet renewal; ${s.run.awaitingConnection} planned devices known to be disconnected not called (asked when they connect)`,
    `  ${s.requests.withoutRenewal.total} calls brought no renewal (${counts(s.requests.withoutRenewal.byCause)}); ${s.requests.withoutRenewal.duringDpsOutage} of them during a DPS outage`,
    `    asked as: ${counts(s.requests.withoutRenewal.byReason)}; devices: ${counts(s.requests.withoutRenewal.byKind)}`,
    `Failures: offline ${s.failures.offline}, refused ${s.failures.refused}, timeout ${s.failures.timeout}, no-show ${s.failures.noShow}, bad certificate ${s.failures.badCertificate}, DPS failure ${s.failures.dps}`,
    `  at the device (re-registration failed): ${counts(s.failures.duringRenewal)}`,
    `Expired: ${s.expired.total} certificates on ${s.expired.devices} devices (${counts(s.expired.byExplanation)}); ${s.expired.recovered} re-provisioned afterwards, ${s.expired.expiredAtEnd} expired at the end`,
    `Findings raised: ${counts(s.findings.raised)}; open at the end: ${counts(s.findings.open)}`,
    `Incidents: ${counts(s.incidents.opened)} opened, ${s.incidents.resolved} resolved`,
    ...describeAlerts(s.alerts, counts),
    `Audit trail: ${s.audit.total} records (${counts(s.audit.byType)}); hash chains ${s.audit.chainsVerified ? 'verified' : 'BROKEN'}`,
    `Ledger: ${s.ledger.devices} devices (${counts(s.ledger.byRenewalStatus)})`,
    `DPS: ${s.dps.registrations} registrations (${counts(s.dps.byOutcome)})`,
    `Run: ${s.run.events} events in ${s.run.batches} trigger batches, ${s.run.sweeps} sweeps, ${s.run.deliveryRuns} alert deliveries, ${s.run.manualRequests} manual requests${s.run.checkpoints ? `, ${s.run.checkpoints} audit checkpoints` : ''}, ${s.run.dailyReports} daily reports`,
    s.consistency.ok
      ? `Consistency: ledger, audit trail and devices agree (${s.consistency.checks} checks)`
      : `Consistency: ${s.consistency.problems.length} PROBLEMS in ${s.consistency.checks} checks:\n${s.consistency.problems.map((p) => `  - ${p}`).join('\n')}`,
  ];
  return lines.join('\n');
}

/** The Alerts block: what was raised, what is open, what was delivered, what ops received. */
function describeAlerts(
  a: FleetSummary['alerts'],
  counts: (record: Partial<Record<string, number>>, empty?: string) => string,
): string[] {
  const nested = (record: Partial<Record<string, Partial<Record<string, number>>>>) => {
    const parts = Object.entries(record).map(([rule, n]) => `${rule} ${counts(n ?? {})}`);
    return parts.length > 0 ? parts.join('; ') : 'none';
  };
  const sinks = Object.entries(a.deliveries).map(
    ([sink, d]) =>
      `${sink} ${d?.delivered ?? 0} delivered, ${d?.rolledUp ?? 0} rolled up, ${d?.pending ?? 0} pending`,
  );
  const r = a.receiver;
  return [
    `Alerts: ${a.transitions.raised} raised, ${a.transitions.escalated} escalated, ${a.transitions.resolved} resolved; ${a.fleetRaised} fleet alerts raised`,
    `  by rule: ${nested(a.byRule)}`,
    `  open at the end: ${nested(a.open)}`,
    `  deliveries: ${sinks.length > 0 ? sinks.join('; ') : 'none'}`,
    `  loopback receiver: ${r.notifications} notifications (${counts(r.byStatus)}), ${r.duplicates} duplicates dropped, ${r.badSignatures} bad signatures, ${r.malformed} malformed`,
    `  alert log: ${a.log.alerts} CERTFLEET_ALERT lines for ${a.transitions.raised + a.transitions.escalated + a.transitions.resolved} transitions, ${a.log.deliveryFailures} failed deliveries (kept, not printed)`,
  ];
}
