import {
  ChainVerdict,
  ParsedCertificate,
  PemInspection,
} from '../../shared/domain/CertificateInspection';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import {
  ConnectionEvent,
  LedgerEvent,
  LifecycleEvent,
  TwinReportEvent,
} from '../../shared/domain/LedgerEvent';
import { DEFAULT_RENEWAL_POLICY } from '../../shared/domain/RenewalPolicy';
import {
  LedgerContext,
  LedgerOutcome,
  applyLedgerEvent,
} from '../../shared/domain/applyLedgerEvent';

/**
 * Fixture builders for the ledger's state machine, at fixed UTC dates:
 *
 *   const record = given(created(AT.created), patch(1, aCertificate()));
 *   const next = appliedRecord(applyLedgerEvent(record, patch(2, aRenewal()), aContext()));
 */

export const HUB = 'contoso-hub';
export const DEVICE = 'thermostat-0001';

/** When things happen at IoT Hub, in order. */
export const AT = {
  created: '2026-11-01T06:00:00.000Z',
  firstReport: '2026-11-01T06:05:00.000Z',
  laterReport: '2026-11-10T09:00:00.000Z',
  renewalReport: '2026-11-26T13:00:00.000Z',
  deleted: '2026-11-27T00:00:00.000Z',
  recreated: '2026-11-28T00:00:00.000Z',
  afterRecreation: '2026-11-28T00:10:00.000Z',
} as const;

/** The clock's time when certfleet applies an event. */
export const NOW = '2026-11-28T12:00:00.000Z';

/** The first certificate: 30 days from 1 November 2026. */
export const FIRST = {
  validFrom: '2026-11-01T00:00:00.000Z',
  validUntil: '2026-12-01T00:00:00.000Z',
} as const;

/** Its renewal, issued on 26 November and valid 30 days. */
export const RENEWED = {
  validFrom: '2026-11-26T00:00:00.000Z',
  validUntil: '2026-12-26T00:00:00.000Z',
} as const;

export function aContext(overrides: Partial<LedgerContext> = {}): LedgerContext {
  return { now: NOW, policy: DEFAULT_RENEWAL_POLICY, maxPemBytes: 32 * 1024, ...overrides };
}

/** The reported `certificate` object of the device contract, Microsoft's minimum plus a subject. */
export function aCertificate(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...FIRST, subject: `CN=${DEVICE}, O=Contoso`, ...overrides };
}

export function aRenewal(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return aCertificate({ ...RENEWED, ...overrides });
}

export const CERTIFICATE_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBszCCATmgAwIBAgIUGh4=\n-----END CERTIFICATE-----\n';

/** What the x509 adapter would have proved about a PEM; built by hand, no crypto here. */
export function aParsedCertificate(overrides: Partial<ParsedCertificate> = {}): ParsedCertificate {
  return {
    thumbprintSha1: '1'.repeat(40),
    thumbprintSha256: 'A'.repeat(64),
    serialNumber: '1001',
    subject: `CN=${DEVICE}, O=Contoso`,
    issuer: 'CN=Contoso Issuing CA, O=Contoso',
    commonName: DEVICE,
    validFrom: FIRST.validFrom,
    validUntil: FIRST.validUntil,
    keyAlgorithm: 'ECDSA P-384',
    keySize: 384,
    publicKeySha256: 'C'.repeat(64),
    signatureAlgorithm: 'ecdsa-with-SHA384',
    chainLength: 1,
    ...overrides,
  };
}

export const TRUSTED: ChainVerdict = { status: 'trusted', anchor: 'CN=Contoso Root CA' };

export function inspected(leaf: ParsedCertificate, chain: ChainVerdict = TRUSTED): PemInspection {
  return { ok: true, leaf, chain };
}

/** The reported fields that match a parsed certificate, plus its PEM. */
export function aPemReport(leaf: ParsedCertificate): Record<string, unknown> {
  return { validFrom: leaf.validFrom, validUntil: leaf.validUntil, pem: CERTIFICATE_PEM };
}

type TwinOptions = Partial<Pick<TwinReportEvent, 'occurredAt' | 'pem' | 'privateKeyReported'>>;

function twinReport(
  complete: boolean,
  reportedVersion: number | undefined,
  certificate: TwinReportEvent['certificate'],
  options: TwinOptions,
): TwinReportEvent {
  const event: TwinReportEvent = {
    kind: 'twin-report',
    hub: HUB,
    deviceId: DEVICE,
    occurredAt: options.occurredAt ?? AT.firstReport,
    opType: complete ? 'replaceTwin' : 'updateTwin',
    complete,
    certificate,
    privateKeyReported: options.privateKeyReported ?? false,
  };
  if (reportedVersion !== undefined) event.reportedVersion = reportedVersion;
  if (options.pem) event.pem = options.pem;
  return event;
}

/** An updateTwin whose reported patch sets `certificate` (a JSON merge patch). */
export function patch(version: number, certificate: unknown, options: TwinOptions = {}) {
  return twinReport(false, version, { present: true, value: certificate }, options);
}

/** A replaceTwin: the whole reported section, certificate included. */
export function replace(version: number, certificate: unknown, options: TwinOptions = {}) {
  return twinReport(true, version, { present: true, value: certificate }, options);
}

/** An updateTwin that does not touch the certificate. */
export function untouched(version: number, options: TwinOptions = {}) {
  return twinReport(false, version, { present: false }, options);
}

/** A twin report that carried no reported `$version`. */
export function unversioned(certificate: unknown, options: TwinOptions = {}) {
  return twinReport(false, undefined, { present: true, value: certificate }, options);
}

function lifecycle(change: LifecycleEvent['change'], occurredAt: string): LifecycleEvent {
  return {
    kind: 'lifecycle',
    change,
    hub: HUB,
    deviceId: DEVICE,
    occurredAt,
    opType: change === 'created' ? 'createDeviceIdentity' : 'deleteDeviceIdentity',
  };
}

export const created = (occurredAt: string = AT.created) => lifecycle('created', occurredAt);
export const deleted = (occurredAt: string = AT.deleted) => lifecycle('deleted', occurredAt);

function connection(connected: boolean, sequenceNumber: string, occurredAt: string) {
  const event: ConnectionEvent = {
    kind: 'connection',
    connected,
    sequenceNumber,
    hub: HUB,
    deviceId: DEVICE,
    occurredAt,
    opType: connected ? 'deviceConnected' : 'deviceDisconnected',
  };
  return event;
}

export const connected = (sequenceNumber: string, occurredAt: string) =>
  connection(true, sequenceNumber, occurredAt);
export const disconnected = (sequenceNumber: string, occurredAt: string) =>
  connection(false, sequenceNumber, occurredAt);

/** The record of an outcome that must carry one (applied, or rejected with a record). */
export function recordOf(result: LedgerOutcome): DeviceRecord {
  if ((result.outcome === 'applied' || result.outcome === 'rejected') && result.record) {
    return result.record;
  }
  throw new Error(`expected a record, got ${JSON.stringify(result)}`);
}

/** The record of an outcome that must be 'applied'. */
export function appliedRecord(result: LedgerOutcome): DeviceRecord {
  if (result.outcome !== 'applied')
    throw new Error(`expected applied, got ${JSON.stringify(result)}`);
  return result.record;
}

/**
 * The record after a history of events, each of which must change it, with its audit outbox
 * flushed: what the next event finds in the ledger.
 */
export function given(...events: LedgerEvent[]): DeviceRecord {
  let record: DeviceRecord | undefined;
  for (const event of events) record = recordOf(applyLedgerEvent(record, event, aContext()));
  if (!record) throw new Error('given() needs at least one event');
  return { ...record, pendingAudit: [] };
}

/** Applies one event with the default context. */
export function apply(record: DeviceRecord | undefined, event: LedgerEvent): LedgerOutcome {
  return applyLedgerEvent(record, event, aContext());
}
