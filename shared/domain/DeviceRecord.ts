import { AlertState } from './alerts/AlertState';
import { AuditEntry } from './AuditEntry';
import { CertificateFacts, CertificateIdentity } from './Certificate';
import { Finding } from './Finding';
import { LedgerEvent } from './LedgerEvent';
import { ReportedCertificateView } from './ReportedCertificate';
import { RenewalState } from './renewal/RenewalState';
import { DeviceRotation } from './rotation/DeviceRotation';

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
  /**
   * operationTimestamp of the createDeviceIdentity that began this incarnation. Until that event
   * arrives, the time of the first event that showed the device exists again; the ledger places
   * the create event where it belongs when it comes (`applied`), so a late one still sets it.
   */
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
  /**
   * Its place in a planned CA rotation: the slot at which certfleet asks it to renew, unless its
   * own renewal comes first (shared/domain/rotation/DeviceRotation.ts).
   */
  rotation?: DeviceRotation;
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
   * Every certificate this device id held, oldest first (by life, then reported `$version`),
   * whatever order their reports arrived in: the ledger's history. At most HISTORY_LIMIT.
   */
  history?: HeldCertificate[];
  /** How many earlier lives of this device id the ledger knows of (0: none). */
  incarnation?: number;
  /**
   * How often each certificate change (audit type, old and new certificate) happened in this
   * life: the audit id of a change counts its repeats, so it never depends on arrival order.
   */
  changesSeen?: Record<string, number>;
  /** The events applied to this record, kept so that a late one is placed where it happened. */
  applied?: AppliedEvents;
  /** The device's open alerts, one per rule (shared/domain/alerts/evaluateAlerts.ts). */
  alerts?: AlertState[];
  /** When its alert conditions can next change with no event (nextAlertCheckAt). */
  alertCheckAt?: string;
  /**
   * Audit entries decided with this version of the record and not yet confirmed written to the
   * audit trail (a transactional outbox: the record and its audit entries change together).
   */
  pendingAudit: AuditEntry[];
  /**
   * Names the write that last stored `pendingAudit`; once those entries are in the audit trail a
   * receipt under this name says so, and the next reader drops them (shared/app/ReceiptedLedger.ts).
   */
  auditTag?: string;
  updatedAt: string;
}

/** A certificate the device held, as the ledger's history names it. */
export interface HeldCertificate extends CertificateIdentity {
  source: 'pem' | 'reported';
  firstSeenAt: string;
  reportedVersion: number;
  /** The life of the device id it was held in (DeviceRecord.incarnation then). */
  incarnation: number;
}

export const HISTORY_LIMIT = 64;

/**
 * An applied event as the record keeps it: without hub and device id (the record's), and
 * without the PEM (its inspection stands for it; the PEM itself is never stored).
 */
export type RememberedEvent = WithoutDevice<LedgerEvent>;
type WithoutDevice<E> = E extends LedgerEvent ? Omit<E, 'hub' | 'deviceId'> : never;

/**
 * What the ledger remembers to apply events in the order they happened, whatever order they
 * arrive in (docs/storage.md, "Delivery order"): the events of the device's recent history in
 * that order, and the record as it stood before the oldest of them (`base`).
 */
export interface AppliedEvents {
  base?: DeviceRecord;
  events: RememberedEvent[];
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
