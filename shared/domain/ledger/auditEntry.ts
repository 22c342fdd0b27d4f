// The audit entry a ledger event produces; its id is a pure function of what happened, so a
// redelivered event yields the same entry, and so does the same change told by events that
// arrived in another order.
import { AuditEntry, AuditEventType, auditEntryId } from '../AuditEntry';
import { CertificateIdentity } from '../Certificate';
import { DeviceRecord } from '../DeviceRecord';
import { LedgerEvent } from '../LedgerEvent';
import { LedgerContext } from './LedgerContext';

export function auditEntry(
  record: DeviceRecord,
  event: LedgerEvent,
  type: AuditEventType,
  ctx: LedgerContext,
  fields: Pick<AuditEntry, 'old' | 'new' | 'findings' | 'detail'>,
): AuditEntry {
  const reportedVersion = event.kind === 'twin-report' ? event.reportedVersion : undefined;
  const entry: AuditEntry = {
    id: CERTIFICATE_CHANGES.includes(type)
      ? certificateChangeId(record, type, fields)
      : auditEntryId([type, record.hub, record.deviceId, event.occurredAt, reportedVersion]),
    type,
    hub: record.hub,
    deviceId: record.deviceId,
    occurredAt: event.occurredAt,
    recordedAt: ctx.now,
    opType: event.opType,
  };
  if (reportedVersion !== undefined) entry.reportedVersion = reportedVersion;
  if (fields.old) entry.old = fields.old;
  if (fields.new) entry.new = fields.new;
  if (fields.findings && fields.findings.length > 0) entry.findings = fields.findings;
  if (fields.detail) entry.detail = fields.detail;
  return entry;
}

const CERTIFICATE_CHANGES: readonly AuditEventType[] = [
  'certificate.first-seen',
  'certificate.renewed',
  'certificate.changed-unexpectedly',
  'certificate.removed',
];

/**
 * A certificate change is named by what changed, not by the report that told it: the life of the
 * device id, the certificate before and after, and which repeat of that change in this life it
 * is. A report that arrives late may show the change happened at an earlier version (the same
 * certificate reported before), or a create event may arrive after the reports of its life;
 * neither makes it another change. Counts the change on the record.
 */
function certificateChangeId(
  record: DeviceRecord,
  type: AuditEventType,
  fields: Pick<AuditEntry, 'old' | 'new'>,
): string {
  const change = auditEntryId([type, certificateKey(fields.old), certificateKey(fields.new)]);
  const seen = (record.changesSeen?.[change] ?? 0) + 1;
  record.changesSeen = { ...record.changesSeen, [change]: seen };
  return auditEntryId([
    type,
    record.hub,
    record.deviceId,
    record.incarnation ?? 0,
    certificateKey(fields.old),
    certificateKey(fields.new),
    seen,
  ]);
}

/**
 * Whether the device's current certificate replaced the previous one as an unexpected change
 * (`certificate.changed-unexpectedly`: it is valid no later than the one it replaced, so it is
 * no renewal), as the record's count of changes says.
 */
export function currentCameUnexpectedly(record: DeviceRecord): boolean {
  if (!record.current || !record.previous) return false;
  const change = auditEntryId([
    'certificate.changed-unexpectedly',
    certificateKey(record.previous),
    certificateKey(record.current),
  ]);
  return (record.changesSeen?.[change] ?? 0) > 0;
}

/**
 * A certificate as audit ids name it: its validity to the second, which every report gives
 * (a thumbprint may be learned only later, from a PEM, and must not make it another).
 */
function certificateKey(identity: CertificateIdentity | undefined): string | undefined {
  if (!identity) return undefined;
  const second = (iso: string) => {
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? iso : new Date(Math.floor(ms / 1000) * 1000).toISOString();
  };
  return `${second(identity.validFrom)}/${second(identity.validUntil)}`;
}
