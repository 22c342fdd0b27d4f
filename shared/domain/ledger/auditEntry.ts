// The audit entry a ledger event produces; its id is a pure function of what happened, so a
// redelivered event yields the same entry.
import { AuditEntry, AuditEventType, auditEntryId } from '../AuditEntry';
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
    id: auditEntryId([
      type,
      record.hub,
      record.deviceId,
      record.createdAt,
      reportedVersion ?? event.occurredAt,
      fields.new?.thumbprintSha256 ?? fields.new?.validUntil,
    ]),
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
