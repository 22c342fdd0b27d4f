import { createHash } from 'node:crypto';
import { AlertTransition } from './alerts/AlertState';
import { CertificateIdentity } from './Certificate';
import { FindingCode } from './Finding';

export type AuditEventType =
  | 'certificate.first-seen'
  | 'certificate.renewed'
  | 'certificate.changed-unexpectedly'
  | 'certificate.removed'
  | 'certificate.expired'
  | 'device.deleted'
  | 'device.private-key-reported'
  /** A renewal campaign starts: renewal fell due, was started early for capacity, or asked for. */
  | 'renewal.due'
  /** One direct-method request, with the method's result. */
  | 'renewal.requested'
  /** An attempt failed: refused, timed out, no new certificate by the deadline, or a bad one. */
  | 'renewal.failed'
  /** certfleet's request led to a verified new certificate. */
  | 'renewal.succeeded'
  /** certfleet stopped trying: the device is gone, or failed too often. */
  | 'renewal.abandoned'
  /** The device re-registered in another hub (DPS) during the campaign: it ended there. */
  | 'renewal.moved'
  /** A fleet-wide problem (throttling, an issuer outage) paused renewals; and its end. */
  | 'incident.opened'
  | 'incident.resolved'
  /** An alert was raised, escalated or resolved (the transition is in `alert`). */
  | 'alert.raised'
  | 'alert.escalated'
  | 'alert.resolved'
  /** A sink accepted an alert's notification, or a fleet alert said it for this device. */
  | 'alert.delivered'
  /**
   * The daily point-in-time report was written to Blob Storage: each file with its length and
   * SHA-256, so the checkpoints that seal this record vouch for the files too. Names no device.
   */
  | 'report.written'
  /**
   * The trail itself: an audit blob ended in a line that nothing could be chained after, so the
   * shard-day went on in a new segment, whose first record this is. Names no device.
   */
  | 'audit.chain-broken'
  /**
   * A planned CA rotation (shared/domain/rotation): declared (who, why), planned (its forecast),
   * completed or cancelled, naming no device; and each device's place in it (`scheduled`).
   */
  | 'rotation.declared'
  | 'rotation.planned'
  | 'rotation.scheduled'
  | 'rotation.completed'
  | 'rotation.cancelled';

/** What a renewal audit record says about the campaign. */
export interface RenewalAuditFields {
  campaignId: string;
  trigger?: string;
  requestId?: string;
  attempts: number;
  failures: number;
  outcome?: string;
  status?: number;
  reason?: string;
  /** renewal.succeeded: from the campaign's start to the new certificate. */
  durationMs?: number;
  /** Manual renewals: who asked, and why. */
  requestedBy?: string;
  renewedBy?: 'certfleet' | 'device';
  /** A campaign started by the device's slot in a planned CA rotation (trigger `rotation`). */
  rotationId?: string;
}

/**
 * One certificate event in the audit trail. Its id is a pure function of what happened, so a
 * redelivered IoT Hub event yields the same id and never a second record.
 */
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
  renewal?: RenewalAuditFields;
  /** alert.*: the transition, as sinks are told it (and, when delivered, by which sink). */
  alert?: AlertTransition;
  /** alert.delivered: which notification reached which sink, or was said by a fleet alert. */
  delivery?: {
    notificationId: string;
    alertId: string;
    rule: string;
    status: string;
    sink: string;
    deliveredAs: 'sent' | 'rolled-up';
    attempts: number;
  };
  /** audit.chain-broken: the blob and line where the chain broke, and what is wrong there. */
  chainBreak?: { blob: string; line: number; problem: string };
  /** report.written: the day the report shows the fleet at the end of, and its files. */
  report?: { date: string; files: ReportFileDigest[] };
  /**
   * rotation.*: the rotation; who declared or cancelled it and why; for a device, its slot
   * (absent: its own renewal falls inside the rotation's window).
   */
  rotation?: {
    id: string;
    issuer?: string;
    completeBy?: string;
    by?: string;
    why?: string;
    slotAt?: string;
  };
}

/** One file of a point-in-time report as written: its name in the day's folder, length, hash. */
export interface ReportFileDigest {
  name: string;
  bytes: number;
  sha256: string;
}

/**
 * A report.written record's `report`, when it has the shape certfleet writes (a record read back
 * from storage is data: a forged one may hold anything); undefined otherwise.
 */
export function reportOf(entry: AuditEntry): AuditEntry['report'] | undefined {
  const report = entry.report as unknown;
  if (report === null || typeof report !== 'object') return undefined;
  const { date, files } = report as { date?: unknown; files?: unknown };
  if (typeof date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return undefined;
  if (!Array.isArray(files) || files.length > 16) return undefined;
  const valid = files.every((f: unknown) => {
    const { name, bytes, sha256 } = (f ?? {}) as {
      name?: unknown;
      bytes?: unknown;
      sha256?: unknown;
    };
    return (
      typeof name === 'string' &&
      /^[a-z][a-z0-9-]*\.[a-z]+$/.test(name) &&
      Number.isSafeInteger(bytes) &&
      (bytes as number) >= 0 &&
      typeof sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(sha256)
    );
  });
  return valid ? (report as AuditEntry['report']) : undefined;
}

export function auditEntryId(parts: readonly (string | number | undefined)[]): string {
  return createHash('sha256')
    .update(JSON.stringify(parts.map((p) => (p === undefined ? null : p))))
    .digest('hex')
    .slice(0, 32);
}
