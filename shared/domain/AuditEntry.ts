import { createHash } from 'node:crypto';
import { CertificateIdentity } from './Certificate';
import { FindingCode } from './Finding';

/**
 * One certificate event in the audit trail. Its id is a pure function of what happened, so a
 * redelivered IoT Hub event yields the same id and never a second record.
 */
export type AuditEventType =
  | 'certificate.first-seen'
  | 'certificate.renewed'
  | 'certificate.changed-unexpectedly'
  | 'certificate.removed'
  | 'device.deleted'
  | 'device.private-key-reported';

export interface AuditEntry {
  id: string;
  type: AuditEventType;
  hub: string;
  deviceId: string;
  /** When it happened at IoT Hub (operationTimestamp, else enqueued time). */
  occurredAt: string;
  /** When certfleet recorded it (the clock). */
  recordedAt: string;
  opType?: string;
  reportedVersion?: number;
  old?: CertificateIdentity;
  new?: CertificateIdentity;
  findings?: FindingCode[];
  detail?: string;
}

export function auditEntryId(parts: readonly (string | number | undefined)[]): string {
  return createHash('sha256')
    .update(JSON.stringify(parts.map((p) => (p === undefined ? null : p))))
    .digest('hex')
    .slice(0, 32);
}
