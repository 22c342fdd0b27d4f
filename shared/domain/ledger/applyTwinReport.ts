// A twin report: whether it is news (ordered by the reported `$version`, judged against the
// device's current incarnation), valid, or a leak of private key material, and what it changes.
import { DeviceRecord, newDeviceRecord } from '../DeviceRecord';
import { finding } from '../Finding';
import { TwinReportEvent } from '../LedgerEvent';
import {
  mergeCertificatePatch,
  pemProblem,
  validateReportedCertificate,
} from '../ReportedCertificate';
import { renewalDueAt } from '../RenewalPolicy';
import { acceptCertificate, removeCertificate } from './acceptCertificate';
import { applyCohort, cohortIsNews, policyOf, setCohort } from './applyCohort';
import { reincarnate } from './applyLifecycle';
import { auditEntry } from './auditEntry';
import { clone } from './clone';
import { later } from './later';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';
import { PemNotInspected } from './PemNotInspected';

export function applyTwinReport(
  existing: DeviceRecord | undefined,
  event: TwinReportEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  const withCohort = applyCohort(existing, event, ctx);
  if (withCohort) return withCohort;
  if (!event.certificate.present && !event.privateKeyReported) {
    return { outcome: 'irrelevant', reason: 'the report does not touch the certificate' };
  }
  let record = existing ? clone(existing) : newDeviceRecord(event.hub, event.deviceId, ctx.now);
  if (record.lifecycle === 'deleted') {
    if (record.deletedAt && event.occurredAt <= record.deletedAt) {
      return { outcome: 'stale', reason: 'reported before the device was deleted' };
    }
    // A report after a deletion means the device exists again, even if its create event is late.
    record = reincarnate(record, event.occurredAt, ctx.now);
  } else if (record.createdAt && event.occurredAt < record.createdAt) {
    // From an earlier life of this device id (a replay of history): its $version counts from
    // another start, so comparing it with this life's would roll the record back.
    return {
      outcome: 'stale',
      reason: 'reported before this incarnation of the device was created',
    };
  }
  const version = event.reportedVersion;
  if (version === undefined) {
    if (event.privateKeyReported) recordPrivateKeyLeak(record, event, ctx);
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, ['reported $version is missing'], ctx),
      problems: ['reported $version is missing'],
    };
  }
  if (record.reportedVersion !== undefined && version <= record.reportedVersion) {
    if (event.privateKeyReported && leakIsNews(record, version)) {
      // An older report is still evidence that the current key leaked.
      recordPrivateKeyLeak(record, event, ctx);
      record.updatedAt = ctx.now;
      return { outcome: 'applied', record };
    }
    // The certificate part is old news, but the twin's tags may be newer (a reconcile reads the
    // whole twin): the cohort still counts.
    if (cohortIsNews(record, event)) {
      setCohort(record, event.cohort!.value ?? undefined, event.twinVersion!);
      if (record.current) record.renewalDueAt = renewalDueAt(record.current, policyOf(record, ctx));
      record.updatedAt = ctx.now;
      return { outcome: 'applied', record };
    }
    return version === record.reportedVersion
      ? { outcome: 'duplicate', reason: `reported $version ${version} already applied` }
      : {
          outcome: 'stale',
          reason: `reported $version ${version} is older than ${record.reportedVersion}`,
        };
  }

  record.reportedVersion = version;
  if (event.cohort !== undefined && event.twinVersion !== undefined) {
    if (record.cohortTwinVersion === undefined || event.twinVersion > record.cohortTwinVersion) {
      setCohort(record, event.cohort.value ?? undefined, event.twinVersion);
    }
  }
  record.lastSeenAt = later(record.lastSeenAt, event.occurredAt);
  record.updatedAt = ctx.now;
  if (event.privateKeyReported) recordPrivateKeyLeak(record, event, ctx);
  if (!event.certificate.present) return { outcome: 'applied', record };

  const value = event.certificate.value;
  if (value === null) return { outcome: 'applied', record: removeCertificate(record, event, ctx) };
  if (typeof value !== 'object' || Array.isArray(value)) {
    const problems = [
      `certificate must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
    ];
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, problems, ctx),
      problems,
    };
  }
  const merged = event.complete
    ? (value as Record<string, unknown>)
    : mergeCertificatePatch(record.reported, value as Record<string, unknown>);
  const validation = validateReportedCertificate(merged, { maxPemBytes: ctx.maxPemBytes });
  if (!validation.ok) {
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, validation.problems, ctx),
      problems: validation.problems,
    };
  }
  const reported = validation.certificate;
  // Without its inspection a PEM proves nothing, and the typed-in fields must not pass for it.
  if (reported.pem !== undefined && event.pem === undefined)
    throw new PemNotInspected(event.hub, event.deviceId, version);
  const unusablePem = reported.pem !== undefined && event.pem && pemProblem(event.pem);
  if (unusablePem) {
    const problems = [unusablePem];
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, problems, ctx),
      problems,
    };
  }
  return { outcome: 'applied', record: acceptCertificate(record, event, reported, version, ctx) };
}

/**
 * Whether an older report's leaked key is still worth a finding: none is flagged yet, and the
 * leak is not older than the current certificate (whose key it may be).
 */
function leakIsNews(record: DeviceRecord, version: number): boolean {
  if (record.findings.some((f) => f.code === 'private-key-reported')) return false;
  return record.current === undefined || record.current.reportedVersion <= version;
}

function recordPrivateKeyLeak(record: DeviceRecord, event: TwinReportEvent, ctx: LedgerContext) {
  record.findings = [
    ...record.findings.filter((f) => f.code !== 'private-key-reported'),
    finding(
      'private-key-reported',
      'the device reported private key material in its twin; it was not stored, and the key must be treated as leaked',
      event.occurredAt,
      event.reportedVersion,
    ),
  ];
  record.pendingAudit.push(
    auditEntry(record, event, 'device.private-key-reported', ctx, {
      detail: 'private key material redacted before storage',
    }),
  );
}

function withInvalidReport(
  record: DeviceRecord,
  event: TwinReportEvent,
  problems: string[],
  ctx: LedgerContext,
): DeviceRecord {
  if (event.reportedVersion !== undefined) {
    record.reportedVersion = Math.max(record.reportedVersion ?? 0, event.reportedVersion);
  }
  record.findings = [
    ...record.findings.filter((f) => f.code !== 'invalid-certificate-report'),
    finding(
      'invalid-certificate-report',
      `certificate report rejected: ${problems.join('; ')}`,
      event.occurredAt,
      event.reportedVersion,
    ),
  ];
  record.updatedAt = ctx.now;
  return record;
}
