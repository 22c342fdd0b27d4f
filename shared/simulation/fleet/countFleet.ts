import { AuditEntry } from '../../domain/AuditEntry';
import { MINUTE_MS, isoUtc } from '../../domain/Clock';
import { FindingCode } from '../../domain/Finding';
import { RenewalStatus } from '../../domain/renewal/RenewalState';
import { Services } from '../../services';
import { DeviceKind } from './DeviceProfile';
import { FleetRecords } from './FleetRecords';
import { CallWithoutRenewal, ExpiryExplanation, FleetSummary, RenewalPath } from './FleetSummary';
import { explainExpiry } from './explainExpiry';
import { CallAnswer, CallRecord, HeldCertificate, SimulatedDevice } from './SimulatedDevice';
import { SimulatedFleet } from './SimulatedFleet';

/** The parts of a summary that count what happened in the run. */
export type FleetCounts = Pick<
  FleetSummary,
  | 'devices'
  | 'renewals'
  | 'requests'
  | 'failures'
  | 'expired'
  | 'findings'
  | 'audit'
  | 'incidents'
  | 'ledger'
  | 'dps'
>;

/** certfleet's renewal.failed reason when no new certificate came by the deadline. */
const NO_SHOW = 'no new certificate reported by the deadline';

/**
 * Counts the run: the fleet, its renewals (by path, matched to the devices' own certificates),
 * requests, failures and expiries (each explained), findings, audit records, incidents, the
 * ledger and DPS. Expiries count up to `end`.
 */
export function countFleet(
  records: FleetRecords,
  settings: Services['settings'],
  end: number,
): FleetCounts {
  const renewals = countRenewals(records);
  return {
    devices: countDevices(records.fleet),
    renewals,
    requests: countRequests(records, renewals),
    failures: countFailures(records),
    expired: countExpiries(records, settings, end),
    findings: countFindings(records),
    audit: countAudit(records),
    incidents: countIncidents(records),
    ledger: countLedger(records),
    dps: countDpsRegistrations(records.fleet),
  };
}

function countDevices(fleet: SimulatedFleet): FleetSummary['devices'] {
  const byKind: Partial<Record<DeviceKind, number>> = {};
  for (const d of fleet.devices) byKind[d.profile.kind] = (byKind[d.profile.kind] ?? 0) + 1;
  return {
    total: fleet.devices.length,
    provisioned: fleet.devices.filter((d) => d.provisioned).length,
    byKind,
    reportsOnlyDates: fleet.devices.filter((d) => d.profile.reportsOnlyDates).length,
    clockOff: fleet.devices.filter((d) => d.profile.clockOffsetMs !== 0).length,
    reusesKeyPair: fleet.devices.filter((d) => d.profile.reusesKeyPair).length,
    cohort: fleet.devices.filter((d) => d.profile.cohort !== undefined).length,
  };
}

/** Renewals by path: the audit's renewed certificates, matched to the devices' own. */
function countRenewals(records: FleetRecords): FleetSummary['renewals'] {
  const byPath: Record<RenewalPath, number> = {
    device: 0,
    'certfleet-sweep': 0,
    'certfleet-after-connect': 0,
    manual: 0,
    'device-during-campaign': 0,
    're-provisioned-after-expiry': 0,
  };
  let newKeyPair = 0;
  let sameKeyPair = 0;
  for (const entry of records.audit) {
    if (entry.type !== 'certificate.renewed') continue;
    const held = records.reportedCertificate(entry);
    if (!held) continue;
    byPath[renewalPathOf(entry, held)] += 1;
    const device = records.fleet.device(entry.deviceId)!;
    const before = device.certificates[device.certificates.indexOf(held) - 1];
    if (before && before.publicKeySha256 === held.publicKeySha256) sameKeyPair += 1;
    else newKeyPair += 1;
  }
  return { total: records.byType['certificate.renewed'] ?? 0, byPath, newKeyPair, sameKeyPair };
}

/** Who replaced a certificate: the ledger's word (the audit record) and the device's. */
function renewalPathOf(entry: AuditEntry, held: HeldCertificate): RenewalPath {
  if (held.afterExpiry) return 're-provisioned-after-expiry';
  if (entry.renewal?.renewedBy !== 'certfleet') return 'device';
  if (held.initiator.by !== 'certfleet') return 'device-during-campaign';
  if (entry.renewal?.trigger === 'manual' || held.initiator.reason === 'manual') return 'manual';
  if (held.initiator.reason === 'device-connected') return 'certfleet-after-connect';
  return 'certfleet-sweep';
}

/**
 * certfleet's direct-method calls, by the devices' answers, the busiest minute, and the calls
 * per renewal certfleet asked for.
 */
function countRequests(
  records: FleetRecords,
  renewals: FleetSummary['renewals'],
): FleetSummary['requests'] {
  let busiestMinute: FleetSummary['requests']['busiestMinute'];
  for (const [minute, n] of [...records.callsPerMinute.entries()].sort((a, b) => a[0] - b[0])) {
    if (!busiestMinute || n > busiestMinute.requests)
      busiestMinute = { minute: isoUtc(minute * MINUTE_MS).slice(0, 16), requests: n };
  }
  const byAnswer: Partial<Record<CallAnswer, number>> = {};
  for (const { call } of records.calls) byAnswer[call.answer] = (byAnswer[call.answer] ?? 0) + 1;
  const asked =
    renewals.byPath['certfleet-sweep'] +
    renewals.byPath['certfleet-after-connect'] +
    renewals.byPath.manual;
  return {
    total: records.calls.length,
    byAnswer,
    perCertfleetRenewal: asked > 0 ? records.calls.length / asked : 0,
    ...(busiestMinute ? { busiestMinute } : {}),
    withoutRenewal: countCallsWithoutRenewal(records),
  };
}

/**
 * The calls that brought no renewal: every call whose request id no issued certificate answers,
 * each with why (callWithoutRenewal), the reason it was asked with, the device's kind, and
 * whether DPS was down when it was made.
 */
function countCallsWithoutRenewal(
  records: FleetRecords,
): FleetSummary['requests']['withoutRenewal'] {
  const result: FleetSummary['requests']['withoutRenewal'] = {
    total: 0,
    byCause: {},
    byReason: {},
    byKind: {},
    duringDpsOutage: 0,
  };
  const outages = records.fleet.options.dpsOutages.map((o) => ({
    from: Date.parse(o.from),
    until: Date.parse(o.until),
  }));
  for (const { device, call } of records.calls) {
    const cause = callWithoutRenewal(device, call);
    if (!cause) continue;
    result.total += 1;
    result.byCause[cause] = (result.byCause[cause] ?? 0) + 1;
    result.byReason[call.reason] = (result.byReason[call.reason] ?? 0) + 1;
    const kind = device.profile.kind;
    result.byKind[kind] = (result.byKind[kind] ?? 0) + 1;
    if (outages.some((o) => call.at >= o.from && call.at < o.until)) result.duringDpsOutage += 1;
  }
  return result;
}

/** Why a call brought no renewal; undefined when a certificate answers its request. */
function callWithoutRenewal(
  device: SimulatedDevice,
  call: CallRecord,
): CallWithoutRenewal | undefined {
  switch (call.answer) {
    case 'offline':
    case 'not-found':
    case 'timeout':
      return call.answer;
    case 'refused':
      return call.note === 'already-renewing' ? 'refused-already-renewing' : 'refused-busy';
    case 'accepted': {
      const answered = device.certificates.some(
        (c) => c.initiator.by === 'certfleet' && c.initiator.requestId === call.requestId,
      );
      if (answered) return undefined;
      if (call.note === 'renewing-earlier') return 'accepted-while-renewing';
      const failure = device.failures.find((f) => f.requestId === call.requestId);
      if (!failure) return 'accepted-no-result';
      return failure.cause === 'device-reset' || failure.cause === 'csr-rejected'
        ? 'accepted-device-failed'
        : 'accepted-dps-failed';
    }
  }
}

/** Failures as certfleet recorded them, and as the devices met them. */
function countFailures(records: FleetRecords): FleetSummary['failures'] {
  const failures: FleetSummary['failures'] = {
    offline: 0,
    refused: 0,
    timeout: 0,
    noShow: 0,
    badCertificate: 0,
    dps: 0,
    duringRenewal: {},
  };
  for (const entry of records.audit) {
    if (entry.type === 'renewal.requested') {
      const outcome = entry.renewal?.outcome;
      if (outcome === 'offline') failures.offline += 1;
      if (outcome === 'refused') failures.refused += 1;
      if (outcome === 'timeout') failures.timeout += 1;
    }
    if (entry.type === 'renewal.failed') {
      const reason = entry.renewal?.reason ?? '';
      if (reason === NO_SHOW) failures.noShow += 1;
      else if (!reason.startsWith('device refused') && !reason.startsWith('device did not answer'))
        failures.badCertificate += 1;
    }
  }
  for (const device of records.fleet.devices) {
    for (const f of device.failures) {
      failures.duringRenewal[f.cause] = (failures.duringRenewal[f.cause] ?? 0) + 1;
      if (f.cause !== 'device-reset') failures.dps += 1;
    }
  }
  return failures;
}

/** Certificates that expired before `end`, each explained (explainExpiry), and at the end. */
function countExpiries(
  records: FleetRecords,
  settings: Services['settings'],
  end: number,
): FleetSummary['expired'] {
  const byExplanation: Partial<Record<ExpiryExplanation, number>> = {};
  const unexplained: string[] = [];
  let expiries = 0;
  let recovered = 0;
  const expiredDevices = new Set<string>();
  for (const device of records.fleet.devices) {
    const entries = records.entriesOf(device.deviceId);
    for (const expiry of device.expiries) {
      if (expiry.validUntil >= end) continue;
      expiries += 1;
      expiredDevices.add(device.deviceId);
      const explanation = explainExpiry(device, expiry, entries, settings);
      byExplanation[explanation] = (byExplanation[explanation] ?? 0) + 1;
      if (explanation === 'unexplained') unexplained.push(device.deviceId);
      if (device.certificates.some((c) => c.afterExpiry && c.issuedAt >= expiry.validUntil))
        recovered += 1;
    }
  }
  let expiredAtEnd = 0;
  for (const device of records.fleet.devices) {
    const held = device.certificate;
    if (held && held.validUntil <= end) expiredAtEnd += 1;
  }
  return {
    total: expiries,
    devices: expiredDevices.size,
    byExplanation,
    recovered,
    unexplained,
    expiredAtEnd,
  };
}

/** Findings raised with reports over the run, and those the ledger's devices carry at the end. */
function countFindings(records: FleetRecords): FleetSummary['findings'] {
  const raised: Partial<Record<FindingCode, number>> = {};
  for (const entry of records.audit)
    for (const code of entry.findings ?? []) raised[code] = (raised[code] ?? 0) + 1;
  const open: Partial<Record<FindingCode, number>> = {};
  for (const record of records.ledger)
    for (const f of record.findings) open[f.code] = (open[f.code] ?? 0) + 1;
  return { raised, open };
}

function countAudit(records: FleetRecords): FleetSummary['audit'] {
  return {
    total: records.audit.length,
    byType: records.byType,
    chainsVerified: records.chains.every((blob) => blob.result.ok),
  };
}

/** Incidents opened, by kind (the detail up to its first colon), and resolved. */
function countIncidents(records: FleetRecords): FleetSummary['incidents'] {
  const opened: Record<string, number> = {};
  for (const entry of records.audit) {
    if (entry.type !== 'incident.opened') continue;
    const kind = (entry.detail ?? '').split(':')[0] ?? 'incident';
    opened[kind] = (opened[kind] ?? 0) + 1;
  }
  return { opened, resolved: records.byType['incident.resolved'] ?? 0 };
}

function countLedger(records: FleetRecords): FleetSummary['ledger'] {
  const byRenewalStatus: Partial<Record<RenewalStatus, number>> = {};
  for (const record of records.ledger) {
    const status = record.renewal?.status ?? 'healthy';
    byRenewalStatus[status] = (byRenewalStatus[status] ?? 0) + 1;
  }
  return { devices: records.ledger.length, byRenewalStatus };
}

function countDpsRegistrations(fleet: SimulatedFleet): FleetSummary['dps'] {
  return {
    registrations: Object.values(fleet.dps.counts).reduce((n, c) => n + c, 0),
    byOutcome: Object.fromEntries(
      Object.entries(fleet.dps.counts).filter(([, n]) => n > 0),
    ) as FleetSummary['dps']['byOutcome'],
  };
}
