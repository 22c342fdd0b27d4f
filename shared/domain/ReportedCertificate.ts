import { normalizeHex, normalizeSerial } from './Certificate';
import { parseIsoInstant, isoUtc } from './Clock';

/**
 * The device contract (docs/device-contract.md): the device reports its operational
 * certificate in `properties.reported.<path>` (default `certificate`). `validFrom` and
 * `validUntil` are the minimum Microsoft asks devices to report; the rest is optional.
 */
export interface ReportedCertificate {
  validFrom: string;
  validUntil: string;
  thumbprint?: string;
  serialNumber?: string;
  issuer?: string;
  subject?: string;
  /** The leaf, optionally followed by its chain. Never stored: only what it proves is. */
  pem?: string;
}

/** What the ledger keeps of the last report: the fields, normalized, and never the PEM. */
export type ReportedCertificateView = Omit<ReportedCertificate, 'pem'> & { hadPem?: boolean };

export type ReportValidation =
  { ok: true; certificate: ReportedCertificate } | { ok: false; problems: string[] };

const OPTIONAL_STRINGS = ['thumbprint', 'serialNumber', 'issuer', 'subject', 'pem'] as const;
const MAX_FIELD_LENGTH = 2048;

/**
 * Checks a reported certificate object (after merging a twin patch into what was known) and
 * returns it normalized: instants as UTC ISO 8601, thumbprint and serial as upper-case hex.
 * Every problem is named, so the dead letter says exactly what was wrong.
 */
export function validateReportedCertificate(
  value: unknown,
  options: { maxPemBytes: number },
): ReportValidation {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problems: [`certificate must be an object, got ${describe(value)}`] };
  }
  const input = value as Record<string, unknown>;
  const problems: string[] = [];
  const validFrom = instantField(input, 'validFrom', problems);
  const validUntil = instantField(input, 'validUntil', problems);
  if (validFrom && validUntil && Date.parse(validUntil) <= Date.parse(validFrom)) {
    problems.push(`validUntil (${validUntil}) is not after validFrom (${validFrom})`);
  }
  const out: Partial<ReportedCertificate> = {};
  for (const name of OPTIONAL_STRINGS) {
    const field = input[name];
    if (field === undefined || field === null) continue;
    if (typeof field !== 'string') {
      problems.push(`${name} must be a string, got ${describe(field)}`);
      continue;
    }
    const limit = name === 'pem' ? options.maxPemBytes : MAX_FIELD_LENGTH;
    if (Buffer.byteLength(field, 'utf8') > limit) {
      problems.push(`${name} is larger than ${limit} bytes`);
      continue;
    }
    out[name] = field;
  }
  if (out.thumbprint !== undefined) {
    const hex = normalizeHex(out.thumbprint);
    if (!hex || (hex.length !== 40 && hex.length !== 64)) {
      problems.push('thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest');
    } else out.thumbprint = hex;
  }
  if (out.serialNumber !== undefined) {
    const serial = normalizeSerial(out.serialNumber);
    if (!serial) problems.push('serialNumber must be hex');
    else out.serialNumber = serial;
  }
  if (problems.length > 0 || !validFrom || !validUntil) return { ok: false, problems };
  return { ok: true, certificate: { ...out, validFrom, validUntil } };
}

function instantField(input: Record<string, unknown>, name: string, problems: string[]) {
  const raw = input[name];
  if (raw === undefined || raw === null) {
    problems.push(`${name} is missing`);
    return undefined;
  }
  const parsed = parseIsoInstant(raw);
  if (!parsed) {
    problems.push(`${name} must be an ISO 8601 timestamp with a zone, got ${describe(raw)}`);
    return undefined;
  }
  return isoUtc(parsed);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return typeof value;
}

export function toView(certificate: ReportedCertificate): ReportedCertificateView {
  const { pem, ...fields } = certificate;
  return pem ? { ...fields, hadPem: true } : fields;
}

/**
 * Applies a twin patch to the certificate object (JSON merge patch, RFC 7396, which is how
 * IoT Hub reports changed reported properties): a null member removes the field. A patch
 * without `pem` cannot bring back the PEM of the earlier report, which is never stored.
 */
export function mergeCertificatePatch(
  previous: ReportedCertificateView | undefined,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  if (previous) {
    for (const [name, value] of Object.entries(previous)) {
      if (name !== 'hadPem') merged[name] = value;
    }
  }
  for (const [name, value] of Object.entries(patch)) {
    if (name.startsWith('$')) continue;
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}
