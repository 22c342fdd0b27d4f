import { PemInspection } from './CertificateInspection';

/**
 * An IoT Hub event, decoded and ready for the ledger. The Event Hubs adapter turns what IoT Hub
 * routes (twin changes, lifecycle, connection state) into these; private key material has
 * already been redacted from them.
 */
export type LedgerEvent = TwinReportEvent | LifecycleEvent | ConnectionEvent | PrivateKeyLeakEvent;

interface EventBase {
  hub: string;
  deviceId: string;
  /** operationTimestamp of the IoT Hub operation, else the enqueued time. UTC ISO 8601. */
  occurredAt: string;
  opType: string;
}

/** Reported properties of a twin: from updateTwin (a patch), replaceTwin or createDeviceIdentity (whole). */
export interface TwinReportEvent extends EventBase {
  kind: 'twin-report';
  /** True when the body carries the whole reported section; false for an updateTwin patch. */
  complete: boolean;
  /** The reported properties' `$version`, which orders one device's reported changes. */
  reportedVersion?: number;
  /** The value at the certificate path: absent when the report did not touch it; null removes it. */
  certificate: { present: false } | { present: true; value: unknown };
  /** Parsed `certificate.pem`, when the report carried one. */
  pem?: PemInspection;
  privateKeyReported: boolean;
  /** The twin's `version` (orders tag changes), when the body carries it. */
  twinVersion?: number;
  /** The cohort tag, when the body carries the twin's tags: a value, or null when removed. */
  cohort?: { value: string | null };
}

export interface LifecycleEvent extends EventBase {
  kind: 'lifecycle';
  change: 'created' | 'deleted';
}

export interface ConnectionEvent extends EventBase {
  kind: 'connection';
  connected: boolean;
  /** IoT Hub's per-device sequence number, a hex string that increases per device. */
  sequenceNumber: string;
}

/**
 * Private key material in a message about the device outside its reported properties (tags,
 * desired properties, another event's body, the message's properties, a body that could not be
 * used): the key was redacted, and must be treated as leaked. A leak inside the reported
 * properties travels in their TwinReportEvent (`privateKeyReported`) instead.
 */
export interface PrivateKeyLeakEvent extends EventBase {
  kind: 'private-key-leak';
}
