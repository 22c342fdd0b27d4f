import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { MINUTE_MS, isoUtc } from '../../domain/Clock';
import { ConsistencyChecks } from './ConsistencyChecks';
import { checkAlertConsistency } from './checkAlertConsistency';
import { FleetRecords } from './FleetRecords';
import { FleetSummary } from './FleetSummary';

/**
 * Checks the ledger and the audit trail against what the devices really did (the fleet keeps
 * every certificate, call and failure), in this order (the problems are listed in it):
 * - every audit blob's hash chain verifies;
 * - no certificate was replaced by an older one, every certificate.renewed is a certificate a
 *   device reported, and one renewed by certfleet has its campaign's renewal.succeeded;
 * - every renewal.succeeded has its campaign's renewal.due, renewal.requested and
 *   certificate.renewed records;
 * - every certificate a device reported is in the audit trail (first-seen or renewed);
 * - every renewal.requested is a call a device answered, with the same answer, and back;
 * - no minute had more renewal requests than the configured rate;
 * - every expiry is recorded, and explained (`unexplained`, from countFleet, is empty);
 * - the ledger holds each device's last certificate;
 * - every incident resolved was opened before;
 * - the alerts: each expiry alerted critical in time, each alert resolved or still held, one
 *   episode at a time, each notification delivered to the receiver once (checkAlertConsistency).
 * Certificates and expiries count up to `end`.
 */
export function checkFleetConsistency(
  records: FleetRecords,
  input: {
    end: number;
    renewalsPerMinute: number;
    unexplained: readonly string[];
    alertSettings: AlertSettings;
  },
): FleetSummary['consistency'] {
  const checks = new ConsistencyChecks();
  checkAuditChains(records, checks);
  checkRenewedCertificates(records, checks);
  checkSucceededRenewals(records, checks);
  checkReportedCertificates(records, input.end, checks);
  checkRequestsAnswered(records, checks);
  checkRate(records, input.renewalsPerMinute, checks);
  checkExpiriesRecorded(records, input.end, checks);
  checkExpiriesExplained(input.unexplained, checks);
  checkLedgerHoldsLastCertificates(records, input.end, checks);
  checkIncidentsOpenedBeforeResolved(records, checks);
  checkAlertConsistency(records, input.alertSettings, checks);
  return checks.result();
}

function checkAuditChains(records: FleetRecords, checks: ConsistencyChecks): void {
  for (const blob of records.chains) {
    checks.check(blob.result.ok, () => `audit blob ${blob.name}: hash chain does not verify`);
  }
}

/**
 * Each certificate.renewed is a certificate the device reported, and one certfleet renewed has
 * its renewal.succeeded; no certificate.changed-unexpectedly (replaced by an older one).
 */
function checkRenewedCertificates(records: FleetRecords, checks: ConsistencyChecks): void {
  for (const entry of records.audit) {
    if (entry.type === 'certificate.changed-unexpectedly') {
      checks.check(false, () => `${entry.deviceId}: a certificate replaced by an older one`);
    }
    if (entry.type !== 'certificate.renewed') continue;
    const held = records.reportedCertificate(entry);
    checks.check(
      held !== undefined,
      () => `${entry.deviceId}: audit renewed $version ${entry.reportedVersion}, no such report`,
    );
    if (!held) continue;
    if (entry.renewal?.renewedBy === 'certfleet') {
      const succeeded = records
        .campaign(entry.renewal?.campaignId)
        .find((e) => e.type === 'renewal.succeeded');
      checks.check(
        !!succeeded,
        () => `${entry.deviceId}: renewed by certfleet, no renewal.succeeded`,
      );
    }
  }
}

/** Every renewal.succeeded has its campaign's records before it. */
function checkSucceededRenewals(records: FleetRecords, checks: ConsistencyChecks): void {
  for (const entry of records.audit) {
    if (entry.type !== 'renewal.succeeded') continue;
    const campaign = records.campaign(entry.renewal?.campaignId);
    checks.check(
      campaign.some((e) => e.type === 'renewal.due'),
      () => `${entry.deviceId}: renewal.succeeded without renewal.due`,
    );
    checks.check(
      campaign.some((e) => e.type === 'renewal.requested'),
      () => `${entry.deviceId}: renewal.succeeded without renewal.requested`,
    );
    checks.check(
      records
        .entriesOf(entry.deviceId)
        .some(
          (e) =>
            e.type === 'certificate.renewed' && e.renewal?.campaignId === entry.renewal?.campaignId,
        ),
      () => `${entry.deviceId}: renewal.succeeded without its certificate.renewed`,
    );
  }
}

/** Every certificate a device reported (and certfleet received) is in the audit trail. */
function checkReportedCertificates(
  records: FleetRecords,
  end: number,
  checks: ConsistencyChecks,
): void {
  for (const device of records.fleet.devices) {
    const entries = records.entriesOf(device.deviceId);
    for (const held of device.certificates) {
      if (held.reportedAt === undefined || held.reportedAt >= end) continue;
      const type =
        held.initiator.by === 'provisioning' ? 'certificate.first-seen' : 'certificate.renewed';
      checks.check(
        entries.some((e) => e.type === type && e.reportedVersion === held.reportedVersion),
        () => `${device.deviceId}: certificate ${held.serialNumber} reported, no ${type} record`,
      );
    }
  }
}

/** Every request certfleet recorded reached a device and got that answer; every call is recorded. */
function checkRequestsAnswered(records: FleetRecords, checks: ConsistencyChecks): void {
  const callById = new Map(records.calls.map((c) => [c.call.requestId, c]));
  const requestedIds = new Set<string>();
  for (const entry of records.audit) {
    if (entry.type !== 'renewal.requested') continue;
    const requestId = entry.renewal?.requestId ?? '';
    requestedIds.add(requestId);
    const call = callById.get(requestId);
    checks.check(
      !!call,
      () => `${entry.deviceId}: renewal.requested ${requestId} reached no device`,
    );
    if (call) {
      checks.check(
        call.call.answer === entry.renewal?.outcome,
        () =>
          `${entry.deviceId}: request ${requestId} recorded ${entry.renewal?.outcome}, device answered ${call.call.answer}`,
      );
    }
  }
  for (const { device, call } of records.calls) {
    checks.check(
      requestedIds.has(call.requestId),
      () =>
        `${device.deviceId}: call ${call.requestId} at ${isoUtc(call.at)} not in the audit trail`,
    );
  }
}

/** No minute over the rate, by the devices' own count of calls. */
function checkRate(records: FleetRecords, rate: number, checks: ConsistencyChecks): void {
  for (const [minute, n] of records.callsPerMinute) {
    checks.check(
      n <= rate,
      () => `${isoUtc(minute * MINUTE_MS)}: ${n} renewal requests, rate ${rate}`,
    );
  }
}

/** certfleet recorded each expiry before `end` (give or take the device's clock). */
function checkExpiriesRecorded(records: FleetRecords, end: number, checks: ConsistencyChecks) {
  for (const device of records.fleet.devices) {
    const entries = records.entriesOf(device.deviceId);
    for (const expiry of device.expiries) {
      if (expiry.validUntil >= end) continue;
      // certfleet records it by its own view of validUntil: the reported one, off by as much
      // as the device's clock when it reports only dates.
      const skew = device.profile.reportsOnlyDates ? Math.abs(device.profile.clockOffsetMs) : 0;
      if (expiry.validUntil + skew + 2 * MINUTE_MS < end) {
        checks.check(
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
}

/** No expiry certfleet could have prevented (explainExpiry found no reason for it). */
function checkExpiriesExplained(unexplained: readonly string[], checks: ConsistencyChecks): void {
  checks.check(unexplained.length === 0, () => `expiries unexplained: ${unexplained.join(', ')}`);
}

/** The ledger holds each device's last certificate as reported. */
function checkLedgerHoldsLastCertificates(
  records: FleetRecords,
  end: number,
  checks: ConsistencyChecks,
): void {
  for (const device of records.fleet.devices) {
    const reported = [...device.certificates]
      .reverse()
      .find((c) => c.reportedAt !== undefined && c.reportedAt < end);
    if (!reported) continue;
    const record = records.record(device.deviceId);
    checks.check(!!record?.current, () => `${device.deviceId}: not in the ledger`);
    if (!record?.current) continue;
    if (device.profile.reportsOnlyDates) {
      checks.check(
        Date.parse(record.current.validUntil) ===
          reported.validUntil + device.profile.clockOffsetMs,
        () => `${device.deviceId}: the ledger's validUntil is not the one reported last`,
      );
    } else {
      checks.check(
        record.current.thumbprintSha256 === reported.thumbprintSha256,
        () => `${device.deviceId}: the ledger's certificate is not the one reported last`,
      );
    }
  }
}

function checkIncidentsOpenedBeforeResolved(
  records: FleetRecords,
  checks: ConsistencyChecks,
): void {
  for (const entry of records.audit) {
    if (entry.type !== 'incident.resolved') continue;
    checks.check(
      records.audit.some(
        (e) =>
          e.type === 'incident.opened' &&
          e.detail === entry.detail &&
          e.occurredAt <= entry.occurredAt,
      ),
      () =>
        `incident resolved at ${entry.occurredAt} was never recorded as opened: ${entry.detail}`,
    );
  }
}
