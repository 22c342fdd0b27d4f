// What a valid reported certificate, or its removal, changes on the record: the current and
// previous certificate, the findings, the audit entries, the renewal due date, and whether a
// renewal certfleet asked for is done.
import { AuditEventType } from '../AuditEntry';
import { certificateIdentity, sameCertificate } from '../Certificate';
import { DeviceRecord } from '../DeviceRecord';
import { CERTIFICATE_FINDINGS, certificateFindings, finding } from '../Finding';
import { TwinReportEvent } from '../LedgerEvent';
import { ReportedCertificate, toView } from '../ReportedCertificate';
import { renewalDueAt } from '../RenewalPolicy';
import { newCertificateArrived } from '../renewal/renewalTransitions';
import { DEFAULT_RENEWAL_TIMING } from '../renewal/RenewalTiming';
import { policyOf } from './applyCohort';
import { auditEntry } from './auditEntry';
import { certificateFacts } from './certificateFacts';
import { LedgerContext } from './LedgerContext';

export function acceptCertificate(
  record: DeviceRecord,
  event: TwinReportEvent,
  reported: ReportedCertificate,
  version: number,
  ctx: LedgerContext,
): DeviceRecord {
  const { facts, fromPem, pemDatesConflict } = certificateFacts(
    record.current,
    reported,
    event,
    version,
  );
  const old = record.current;
  const isNew = !old || !sameCertificate(certificateIdentity(old), certificateIdentity(facts));
  const chain = fromPem && event.pem?.ok ? event.pem.chain : undefined;

  let sticky = record.findings.filter((f) => !CERTIFICATE_FINDINGS.includes(f.code));
  // A certificate that replaces an earlier one comes from a new CSR: the leaked key is retired.
  // (A first certificate after a leak may well carry the leaked key.)
  if (isNew && old && !event.privateKeyReported)
    sticky = sticky.filter((f) => f.code !== 'private-key-reported');
  const found = certificateFindings({
    deviceId: record.deviceId,
    reported,
    facts,
    chain,
    reportedAt: event.occurredAt,
    reportedVersion: version,
    ...(pemDatesConflict ? { pemDatesConflict } : {}),
    ...(ctx.findingSeverities ? { severities: ctx.findingSeverities } : {}),
  });
  if (!isNew) {
    // The same certificate again: what was found about its renewal still holds.
    found.push(...record.findings.filter((f) => f.code === 'key-not-rotated'));
  } else if (old?.publicKeySha256 && old.publicKeySha256 === facts.publicKeySha256) {
    found.push(
      finding(
        'key-not-rotated',
        'the new certificate has the same public key as the one it replaces: the CSR reused the key pair',
        event.occurredAt,
        version,
      ),
    );
  }
  record.findings = [...sticky, ...found];
  record.reported = toView(reported);

  if (isNew) {
    const type: AuditEventType = !old
      ? 'certificate.first-seen'
      : Date.parse(facts.validUntil) > Date.parse(old.validUntil)
        ? 'certificate.renewed'
        : 'certificate.changed-unexpectedly';
    if (old) record.previous = old;
    record.current = facts;
    const entry = auditEntry(record, event, type, ctx, {
      old: old && certificateIdentity(old),
      new: certificateIdentity(facts),
      findings: found.map((f) => f.code),
    });
    record.pendingAudit.push(entry);
    // When certfleet asked for this certificate, check it really is the renewal it asked for.
    // (A mismatch the operator made a warning does not block it.)
    const problems = found
      .filter((f) => RENEWAL_BLOCKERS.includes(f.code) && f.severity === 'critical')
      .map((f) => f.message);
    newCertificateArrived(
      record,
      entry,
      event.occurredAt,
      ctx.now,
      problems,
      ctx.timing ?? DEFAULT_RENEWAL_TIMING,
    );
  } else {
    // The same certificate again: keep when it was first seen, refresh what the PEM proves.
    record.current = {
      ...facts,
      firstSeenAt: old.firstSeenAt,
      reportedVersion: old.reportedVersion,
    };
  }
  record.renewalDueAt = renewalDueAt(record.current, policyOf(record, ctx));
  return record;
}

/** Findings that mean a new certificate is not the renewal certfleet asked for. */
export const RENEWAL_BLOCKERS: readonly string[] = [
  'common-name-mismatch',
  'chain-untrusted',
  'expired-when-reported',
];

export function removeCertificate(
  record: DeviceRecord,
  event: TwinReportEvent,
  ctx: LedgerContext,
): DeviceRecord {
  record.findings = record.findings.filter((f) => !CERTIFICATE_FINDINGS.includes(f.code));
  delete record.reported;
  delete record.renewalDueAt;
  delete record.renewal;
  const old = record.current;
  if (old) {
    record.previous = old;
    delete record.current;
    record.pendingAudit.push(
      auditEntry(record, event, 'certificate.removed', ctx, { old: certificateIdentity(old) }),
    );
  }
  return record;
}
