import { AuditEntry, AuditEventType } from '../../domain/AuditEntry';
import { DAY_MS, MINUTE_MS, isoUtc } from '../../domain/Clock';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { FindingCode } from '../../domain/Finding';
import { policyFor, renewalDueAt } from '../../domain/RenewalPolicy';
import { RenewalStatus } from '../../domain/renewal/RenewalState';
import { Services } from '../../services';
import { DeviceKind, reachableDuring } from './DeviceProfile';
import { DpsFailureReason } from './StandInDps';
import { CallAnswer, Expiry, RenewalFailureCause, SimulatedDevice } from './SimulatedDevice';
import { SimulatedFleet } from './SimulatedFleet';

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
    busiestMinute?: { minute: string; requests: number };
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
  ledger: { devices: number; byRenewalStatus: Partial<Record<RenewalStatus, number>> };
  dps: { registrations: number; byOutcome: Partial<Record<'assigned' | DpsFailureReason, number>> };
  run: RunStatistics;
  consistency: { ok: boolean; checks: number; problems: string[] };
}

export interface RunStatistics {
  sweeps: number;
  sweepRequests: number;
  batches: number;
  events: number;
  manualRequests: number;
}

const NO_SHOW = 'no new certificate reported by the deadline';
/** Problems listed one by one up to this many; the rest are counted. */
const MAX_LISTED = 20;

/**
 * Builds the run's summary from the ledger and the audit trail, and checks both against what
 * the devices really did (the fleet keeps every certificate, call and failure):
 * - every certificate a device reported is in the audit trail (first-seen or renewed), with
 *   the path that produced it;
 * - every renewal.succeeded has its campaign's renewal.due and renewal.requested records;
 * - every renewal.requested is a call a device answered, with the same answer, and back;
 * - no minute had more renewal requests than the configured rate;
 * - every expiry is recorded and explained, the ledger holds each device's last certificate,
 *   and every audit blob's hash chain verifies.
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
  const problems: string[] = [];
  let checks = 0;
  const check = (ok: boolean, problem: () => string) => {
    checks += 1;
    if (!ok) problems.push(problem());
  };

  const audit: AuditEntry[] = [];
  let chainsVerified = true;
  for (let day = Math.floor(start / DAY_MS) * DAY_MS; day <= end; day += DAY_MS) {
    const date = isoUtc(day).slice(0, 10);
    for await (const entry of services.audit.readDate(date)) audit.push(entry);
    const verification = await services.audit.verifyDate(date);
    for (const blob of verification.blobs) {
      check(blob.result.ok, () => `audit blob ${blob.name}: hash chain does not verify`);
      if (!blob.result.ok) chainsVerified = false;
    }
  }
  const records: DeviceRecord[] = [];
  for await (const record of services.ledger.list({ hub: fleet.hub })) records.push(record);
  const recordOf = new Map(records.map((r) => [r.deviceId.toLowerCase(), r]));

  const byType: Partial<Record<AuditEventType, number>> = {};
  const ofDevice = new Map<string, AuditEntry[]>();
  const byCampaign = new Map<string, AuditEntry[]>();
  for (const entry of audit) {
    byType[entry.type] = (byType[entry.type] ?? 0) + 1;
    const device = entry.deviceId.toLowerCase();
    push(ofDevice, device, entry);
    const campaign = entry.renewal?.campaignId;
    if (campaign) push(byCampaign, campaign, entry);
  }

  // Renewals by path: the audit's renewed certificates, matched to the devices' own.
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
  const reportedBy = (deviceId: string, version: number | undefined) =>
    fleet.device(deviceId)?.certificates.find((c) => c.reportedVersion === version);
  for (const entry of audit) {
    if (entry.type === 'certificate.changed-unexpectedly') {
      check(false, () => `${entry.deviceId}: a certificate replaced by an older one`);
    }
    if (entry.type !== 'certificate.renewed') continue;
    const held = reportedBy(entry.deviceId, entry.reportedVersion);
    check(
      held !== undefined,
      () => `${entry.deviceId}: audit renewed $version ${entry.reportedVersion}, no such report`,
    );
    if (!held) continue;
    const byCertfleet = entry.renewal?.renewedBy === 'certfleet';
    let path: RenewalPath;
    if (held.afterExpiry) path = 're-provisioned-after-expiry';
    else if (!byCertfleet) path = 'device';
    else if (held.initiator.by !== 'certfleet') path = 'device-during-campaign';
    else if (entry.renewal?.trigger === 'manual' || held.initiator.reason === 'manual')
      path = 'manual';
    else if (held.initiator.reason === 'device-connected') path = 'certfleet-after-connect';
    else path = 'certfleet-sweep';
    byPath[path] += 1;
    const device = fleet.device(entry.deviceId)!;
    const before = device.certificates[device.certificates.indexOf(held) - 1];
    if (before && before.publicKeySha256 === held.publicKeySha256) sameKeyPair += 1;
    else newKeyPair += 1;
    if (byCertfleet) {
      const succeeded = (byCampaign.get(entry.renewal?.campaignId ?? '') ?? []).find(
        (e) => e.type === 'renewal.succeeded',
      );
      check(!!succeeded, () => `${entry.deviceId}: renewed by certfleet, no renewal.succeeded`);
    }
  }

  // Every renewal.succeeded has its campaign's records before it.
  for (const entry of audit) {
    if (entry.type !== 'renewal.succeeded') continue;
    const campaign = byCampaign.get(entry.renewal?.campaignId ?? '') ?? [];
    check(
      campaign.some((e) => e.type === 'renewal.due'),
      () => `${entry.deviceId}: renewal.succeeded without renewal.due`,
    );
    check(
      campaign.some((e) => e.type === 'renewal.requested'),
      () => `${entry.deviceId}: renewal.succeeded without renewal.requested`,
    );
    check(
      (ofDevice.get(entry.deviceId.toLowerCase()) ?? []).some(
        (e) =>
          e.type === 'certificate.renewed' && e.renewal?.campaignId === entry.renewal?.campaignId,
      ),
      () => `${entry.deviceId}: renewal.succeeded without its certificate.renewed`,
    );
  }

  // Every certificate a device reported (and certfleet received) is in the audit trail.
  for (const device of fleet.devices) {
    const entries = ofDevice.get(device.deviceId.toLowerCase()) ?? [];
    for (const held of device.certificates) {
      if (held.reportedAt === undefined || held.reportedAt >= end) continue;
      const type =
        held.initiator.by === 'provisioning' ? 'certificate.first-seen' : 'certificate.renewed';
      check(
        entries.some((e) => e.type === type && e.reportedVersion === held.reportedVersion),
        () => `${device.deviceId}: certificate ${held.serialNumber} reported, no ${type} record`,
      );
    }
  }

  // Every request certfleet recorded reached a device and got that answer; every call is recorded.
  const calls = fleet.devices.flatMap((d) => d.calls.map((c) => ({ device: d, call: c })));
  const callById = new Map(calls.map((c) => [c.call.requestId, c]));
  const requestedIds = new Set<string>();
  for (const entry of audit) {
    if (entry.type !== 'renewal.requested') continue;
    const requestId = entry.renewal?.requestId ?? '';
    requestedIds.add(requestId);
    const call = callById.get(requestId);
    check(!!call, () => `${entry.deviceId}: renewal.requested ${requestId} reached no device`);
    if (call) {
      check(
        call.call.answer === entry.renewal?.outcome,
        () =>
          `${entry.deviceId}: request ${requestId} recorded ${entry.renewal?.outcome}, device answered ${call.call.answer}`,
      );
    }
  }
  for (const { device, call } of calls) {
    check(
      requestedIds.has(call.requestId),
      () =>
        `${device.deviceId}: call ${call.requestId} at ${isoUtc(call.at)} not in the audit trail`,
    );
  }

  // No minute over the rate, by the devices' own count of calls.
  const perMinute = new Map<number, number>();
  for (const { call } of calls) {
    const minute = Math.floor(call.at / MINUTE_MS);
    perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
  }
  let busiestMinute: FleetSummary['requests']['busiestMinute'];
  for (const [minute, n] of [...perMinute.entries()].sort((a, b) => a[0] - b[0])) {
    if (!busiestMinute || n > busiestMinute.requests)
      busiestMinute = { minute: isoUtc(minute * MINUTE_MS).slice(0, 16), requests: n };
  }
  const rate = settings.renewal.renewalsPerMinute;
  for (const [minute, n] of perMinute) {
    check(n <= rate, () => `${isoUtc(minute * MINUTE_MS)}: ${n} renewal requests, rate ${rate}`);
  }
  const byAnswer: Partial<Record<CallAnswer, number>> = {};
  for (const { call } of calls) byAnswer[call.answer] = (byAnswer[call.answer] ?? 0) + 1;

  // Failures as certfleet recorded them, and as the devices met them.
  const failures: FleetSummary['failures'] = {
    offline: 0,
    refused: 0,
    timeout: 0,
    noShow: 0,
    badCertificate: 0,
    dps: 0,
    duringRenewal: {},
  };
  for (const entry of audit) {
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
  for (const device of fleet.devices) {
    for (const f of device.failures) {
      failures.duringRenewal[f.cause] = (failures.duringRenewal[f.cause] ?? 0) + 1;
      if (f.cause !== 'device-reset') failures.dps += 1;
    }
  }

  // Expiries: recorded by certfleet, and explained.
  const byExplanation: Partial<Record<ExpiryExplanation, number>> = {};
  const unexplained: string[] = [];
  let expiries = 0;
  let recovered = 0;
  const expiredDevices = new Set<string>();
  for (const device of fleet.devices) {
    const entries = ofDevice.get(device.deviceId.toLowerCase()) ?? [];
    for (const expiry of device.expiries) {
      if (expiry.validUntil >= end) continue;
      expiries += 1;
      expiredDevices.add(device.deviceId);
      const explanation = explainExpiry(device, expiry, entries, services);
      byExplanation[explanation] = (byExplanation[explanation] ?? 0) + 1;
      if (explanation === 'unexplained') unexplained.push(device.deviceId);
      if (device.certificates.some((c) => c.afterExpiry && c.issuedAt >= expiry.validUntil))
        recovered += 1;
      // certfleet records it by its own view of validUntil: the reported one, off by as much
      // as the device's clock when it reports only dates.
      const skew = device.profile.reportsOnlyDates ? Math.abs(device.profile.clockOffsetMs) : 0;
      if (expiry.validUntil + skew + 2 * MINUTE_MS < end) {
        check(
          entries.some(
            (e) =>
              e.type === 'certificate.expired' &&
              Math.abs(Date.parse(e.old?.validUntil ?? '') - expiry.validUntil) <=
                Math.abs(device.profile.clockOffsetMs),
          ),
          () =>
            `${device.deviceId}: expired at ${isoUtc(expiry.validUntil)}, no certificate.expired`,
        );
      }
    }
  }
  check(unexplained.length === 0, () => `expiries unexplained: ${unexplained.join(', ')}`);

  // The ledger holds each device's last certificate as reported.
  let expiredAtEnd = 0;
  for (const device of fleet.devices) {
    const reported = [...device.certificates]
      .reverse()
      .find((c) => c.reportedAt !== undefined && c.reportedAt < end);
    const held = device.certificate;
    if (held && held.validUntil <= end) expiredAtEnd += 1;
    if (!reported) continue;
    const record = recordOf.get(device.deviceId.toLowerCase());
    check(!!record?.current, () => `${device.deviceId}: not in the ledger`);
    if (!record?.current) continue;
    if (device.profile.reportsOnlyDates) {
      check(
        Date.parse(record.current.validUntil) ===
          reported.validUntil + device.profile.clockOffsetMs,
        () => `${device.deviceId}: the ledger's validUntil is not the one reported last`,
      );
    } else {
      check(
        record.current.thumbprintSha256 === reported.thumbprintSha256,
        () => `${device.deviceId}: the ledger's certificate is not the one reported last`,
      );
    }
  }

  const raised: Partial<Record<FindingCode, number>> = {};
  for (const entry of audit)
    for (const code of entry.findings ?? []) raised[code] = (raised[code] ?? 0) + 1;
  const open: Partial<Record<FindingCode, number>> = {};
  const byRenewalStatus: Partial<Record<RenewalStatus, number>> = {};
  for (const record of records) {
    for (const f of record.findings) open[f.code] = (open[f.code] ?? 0) + 1;
    const status = record.renewal?.status ?? 'healthy';
    byRenewalStatus[status] = (byRenewalStatus[status] ?? 0) + 1;
  }
  for (const entry of audit) {
    if (entry.type !== 'incident.resolved') continue;
    check(
      audit.some(
        (e) =>
          e.type === 'incident.opened' &&
          e.detail === entry.detail &&
          e.occurredAt <= entry.occurredAt,
      ),
      () =>
        `incident resolved at ${entry.occurredAt} was never recorded as opened: ${entry.detail}`,
    );
  }
  const openedIncidents: Record<string, number> = {};
  for (const entry of audit) {
    if (entry.type !== 'incident.opened') continue;
    const kind = (entry.detail ?? '').split(':')[0] ?? 'incident';
    openedIncidents[kind] = (openedIncidents[kind] ?? 0) + 1;
  }

  const byKind: Partial<Record<DeviceKind, number>> = {};
  for (const d of fleet.devices) byKind[d.profile.kind] = (byKind[d.profile.kind] ?? 0) + 1;
  const policy = settings.renewalPolicy;
  const listed = problems.slice(0, MAX_LISTED);
  if (problems.length > MAX_LISTED) listed.push(`… and ${problems.length - MAX_LISTED} more`);
  return {
    seed: fleet.options.seed,
    hub: fleet.hub,
    start: isoUtc(start),
    end: isoUtc(end),
    days: (end - start) / DAY_MS,
    devices: {
      total: fleet.devices.length,
      provisioned: fleet.devices.filter((d) => d.provisioned).length,
      byKind,
      reportsOnlyDates: fleet.devices.filter((d) => d.profile.reportsOnlyDates).length,
      clockOff: fleet.devices.filter((d) => d.profile.clockOffsetMs !== 0).length,
      reusesKeyPair: fleet.devices.filter((d) => d.profile.reusesKeyPair).length,
      cohort: fleet.devices.filter((d) => d.profile.cohort !== undefined).length,
    },
    settings: {
      renewalsPerMinute: rate,
      renewalPolicy:
        policy.kind === 'fraction'
          ? `at ${Math.round(policy.fraction * 100)}% of the lifetime`
          : `${policy.renewBeforeMs / 3_600_000} h before expiry`,
      leafValidityDays: fleet.dps.policies.map((p) => p.leafValidityDays),
    },
    renewals: {
      total: byType['certificate.renewed'] ?? 0,
      byPath,
      newKeyPair,
      sameKeyPair,
    },
    requests: {
      total: calls.length,
      byAnswer,
      ...(busiestMinute ? { busiestMinute } : {}),
    },
    failures,
    expired: {
      total: expiries,
      devices: expiredDevices.size,
      byExplanation,
      recovered,
      unexplained,
      expiredAtEnd,
    },
    findings: { raised, open },
    audit: { total: audit.length, byType, chainsVerified },
    incidents: { opened: openedIncidents, resolved: byType['incident.resolved'] ?? 0 },
    ledger: { devices: records.length, byRenewalStatus },
    dps: {
      registrations: Object.values(fleet.dps.counts).reduce((n, c) => n + c, 0),
      byOutcome: Object.fromEntries(
        Object.entries(fleet.dps.counts).filter(([, n]) => n > 0),
      ) as FleetSummary['dps']['byOutcome'],
    },
    run: input.stats,
    consistency: { ok: problems.length === 0, checks, problems: listed },
  };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Why a certificate expired, from what the device did and what certfleet recorded, in order:
 * out of reach from the moment it could have been saved; abandoned by certfleet; refusing;
 * failing its re-registration; not answering. Anything else is certfleet's failure.
 */
function explainExpiry(
  device: SimulatedDevice,
  expiry: Expiry,
  entries: AuditEntry[],
  services: Services,
): ExpiryExplanation {
  const profile = device.profile;
  const settings = services.settings;
  const policy = policyFor(settings.renewalPolicy, settings.renewal.cohortPolicies ?? [], {
    cohort: profile.cohort,
  });
  // certfleet's view of the certificate: the dates reported (off with the device's clock).
  const offset = profile.reportsOnlyDates ? profile.clockOffsetMs : 0;
  const due =
    Date.parse(
      renewalDueAt(
        {
          validFrom: isoUtc(expiry.validFrom + offset),
          validUntil: isoUtc(expiry.validUntil + offset),
        },
        policy,
      ),
    ) - Math.max(0, offset);
  const calls = device.calls.filter((c) => c.at >= expiry.validFrom && c.at < expiry.validUntil);
  const answered = calls.filter((c) => c.answer !== 'offline');
  const lastAnswer = answered[answered.length - 1];
  const from = Math.max(due, lastAnswer ? lastAnswer.at + 2 * MINUTE_MS : due);
  if (!reachableDuring(profile, from, expiry.validUntil)) return 'offline-through-expiry';
  const abandoned = entries.some(
    (e) =>
      e.type === 'renewal.abandoned' &&
      Date.parse(e.occurredAt) >= expiry.validFrom &&
      Date.parse(e.occurredAt) < expiry.validUntil,
  );
  if (abandoned) return 'gave-up';
  if (calls.some((c) => c.answer === 'refused')) return 'refusing';
  const failed = device.failures.some((f) => f.at >= expiry.validFrom && f.at < expiry.validUntil);
  if (failed && calls.some((c) => c.answer === 'accepted')) return 'failed-mid-renewal';
  if (calls.some((c) => c.answer === 'timeout')) return 'not-answering';
  return 'unexplained';
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
    `Failures: offline ${s.failures.offline}, refused ${s.failures.refused}, timeout ${s.failures.timeout}, no-show ${s.failures.noShow}, bad certificate ${s.failures.badCertificate}, DPS failure ${s.failures.dps}`,
    `  at the device (re-registration failed): ${counts(s.failures.duringRenewal)}`,
    `Expired: ${s.expired.total} certificates on ${s.expired.devices} devices (${counts(s.expired.byExplanation)}); ${s.expired.recovered} re-provisioned afterwards, ${s.expired.expiredAtEnd} expired at the end`,
    `Findings raised: ${counts(s.findings.raised)}; open at the end: ${counts(s.findings.open)}`,
    `Incidents: ${counts(s.incidents.opened)} opened, ${s.incidents.resolved} resolved`,
    `Audit trail: ${s.audit.total} records (${counts(s.audit.byType)}); hash chains ${s.audit.chainsVerified ? 'verified' : 'BROKEN'}`,
    `Ledger: ${s.ledger.devices} devices (${counts(s.ledger.byRenewalStatus)})`,
    `DPS: ${s.dps.registrations} registrations (${counts(s.dps.byOutcome)})`,
    `Run: ${s.run.events} events in ${s.run.batches} trigger batches, ${s.run.sweeps} sweeps, ${s.run.manualRequests} manual requests`,
    s.consistency.ok
      ? `Consistency: ledger, audit trail and devices agree (${s.consistency.checks} checks)`
      : `Consistency: ${s.consistency.problems.length} PROBLEMS in ${s.consistency.checks} checks:\n${s.consistency.problems.map((p) => `  - ${p}`).join('\n')}`,
  ];
  return lines.join('\n');
}
