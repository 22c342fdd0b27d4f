import { AuditEntry } from './AuditEntry';
import { CertificateFacts } from './Certificate';
import { Finding } from './Finding';
import { ReportedCertificateView } from './ReportedCertificate';
import { RenewalState } from './renewal/RenewalState';

export type Lifecycle = 'active' | 'deleted';
export type ConnectionState = 'connected' | 'disconnected' | 'unknown';

/**
 * The ledger's one durable record per device (hub + device id).
 */
export interface DeviceRecord {
  schemaVersion: 1;
  hub: string;
  deviceId: string;
  lifecycle: Lifecycle;
  /** operationTimestamp of the createDeviceIdentity that began this incarnation, if seen. */
  createdAt?: string;
  deletedAt?: string;
  /**
   * The reported-properties `$version` of the last certificate report applied. A redelivered or
   * older report (lower or equal `$version`) never overwrites a newer one.
   */
  reportedVersion?: number;
  /** The last certificate report as fields (never the PEM). */
  reported?: ReportedCertificateView;
  current?: CertificateFacts;
  previous?: CertificateFacts;
  findings: Finding[];
  /** When certfleet should step in if the device has not renewed by itself. */
  renewalDueAt?: string;
  /** certfleet's renewal of this device, when it has begun one (absent: healthy). */
  renewal?: RenewalState;
  /** The device's cohort (a twin tag), which can choose its renewal policy. */
  cohort?: string;
  /** The twin `version` the cohort was read at: tags are ordered by it. */
  cohortTwinVersion?: number;
  connection: {
    state: ConnectionState;
    /** IoT Hub's per-device connection sequence number (hex), to order connection events. */
    sequenceNumber?: string;
    changedAt?: string;
  };
  lastSeenAt?: string;
  /**
   * Audit entries decided with this version of the record and not yet confirmed written to the
   * audit trail (a transactional outbox: the record and its audit entries change together).
   */
  pendingAudit: AuditEntry[];
  updatedAt: string;
}

export function newDeviceRecord(hub: string, deviceId: string, now: string): DeviceRecord {
  return {
    schemaVersion: 1,
    hub,
    deviceId,
    lifecycle: 'active',
    findings: [],
    connection: { state: 'unknown' },
    pendingAudit: [],
    updatedAt: now,
  };
}
