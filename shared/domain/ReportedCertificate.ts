import { normalizeHex, normalizeSerial, validAtNoInstant } from './Certificate';
import { PemInspection } from './CertificateInspection';
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
  /** The DPS registration id the device registered with (its certificate's CN). */
  registrationId?: string;
  /**
   * The leaf (an older device may follow it with its chain). Never stored: only what it
   * proves is.
   */
  pem?: string;
  /**
   * The chain as the device received it from DPS (`issuedCertificateChain`: base64 DER, leaf
   * first) or as PEM, one certificate a string: a twin string holds at most 4 KB
   * (AZURE-FACTS.md, "Twin limits"), and a leaf with an RSA partner-CA chain does not fit in
   * one. Never stored either.
   */
  chain?: string[];
}

/** What the ledger keeps of the last report: the fields, normalized, never the PEM or chain. */
export type ReportedCertificateView = Omit<ReportedCertificate, 'pem' | 'chain'> & {
  hadPem?: boolean;
};

export type ReportValidation =
  { ok: true; certificate: ReportedCertificate } | { ok: false; problems: string[] };

export interface ReportLimits {
  /** Bytes of one PEM string: `pem`, and each string of `chain`. */
  maxPemBytes: number;
}

const OPTIONAL_STRINGS = [
  'thumbprint',
  'serialNumber',
  'issuer',
  'subject',
  'registrationId',
  'pem',
] as const;
const MAX_FIELD_LENGTH = 2048;
/** A device chain is leaf + issuing CA (+ intermediates, root); more is not a certificate report. */
export const MAX_CHAIN_CERTIFICATES = 8;
/** DPS registration ids: up to 128 of a-z A-Z 0-9 : . _ -, no special character first or last. */
const REGISTRATION_ID = /^[A-Za-z0-9](?:[A-Za-z0-9:._-]{0,126}[A-Za-z0-9])?$/;

/**
 * Checks a reported certificate object (after merging a twin patch into what was known) and
 * returns it normalized: instants as UTC ISO 8601, thumbprint and serial as upper-case hex.
 * Every problem is named, so the dead letter says exactly what was wrong.
 */
export function validateReportedCertificate(
  value: unknown,
  options: ReportLimits,
): ReportValidation {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problems: [`certificate must be an object, got ${describe(value)}`] };
  }
  const input = value as Record<string, unknown>;
  const problems: string[] = [];
  const validFrom = instantField(input, 'validFrom', problems);
  const validUntil = instantField(input, 'validUntil', problems);
  if (validFrom && validUntil && validAtNoInstant({ validFrom, validUntil })) {
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
  if (out.registrationId !== undefined && !REGISTRATION_ID.test(out.registrationId)) {
    problems.push(
      'registrationId must be a DPS registration id: up to 128 letters, digits and : . _ -, starting and ending with a letter or digit',
    );
  }
  const chain = chainField(input['chain'], options, problems);
  if (chain) out.chain = chain;
  if (problems.length > 0 || !validFrom || !validUntil) return { ok: false, problems };
  return { ok: true, certificate: { ...out, validFrom, validUntil } };
}

function chainField(raw: unknown, limits: ReportLimits, problems: string[]): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) {
    problems.push(`chain must be an array of strings, got ${describe(raw)}`);
    return undefined;
  }
  if (raw.length > MAX_CHAIN_CERTIFICATES) {
    problems.push(`chain holds ${raw.length} certificates, more than ${MAX_CHAIN_CERTIFICATES}`);
    return undefined;
  }
  const before = problems.length;
  raw.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string')
      problems.push(`chain[${i}] must be a string, got ${describe(entry)}`);
    else if (entry.trim() === '') problems.push(`chain[${i}] is empty`);
    else if (Buffer.byteLength(entry, 'utf8') > limits.maxPemBytes) {
      problems.push(`chain[${i}] is larger than ${limits.maxPemBytes} bytes`);
    }
  });
  return problems.length === before ? (raw as string[]) : undefined;
}

/**
 * What of a raw reported certificate the x509 adapter should parse: its `pem` and its
 * `chain`, when both are what the contract allows; undefined when there is no PEM, or the
 * report will be rejected anyway (validateReportedCertificate names why).
 */
export function pemsToInspect(
  value: unknown,
  limits: ReportLimits,
): { pem: string; chain: string[] } | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { pem, chain } = value as Record<string, unknown>;
  if (typeof pem !== 'string' || Buffer.byteLength(pem, 'utf8') > limits.maxPemBytes) {
    return undefined;
  }
  const problems: string[] = [];
  const entries = chainField(chain, limits, problems);
  return problems.length === 0 ? { pem, chain: entries ?? [] } : undefined;
}

/**
 * Why what a report's PEM proved cannot be recorded: it did not parse, or its certificate is
 * valid at no instant (the same rule the reported dates are held to).
 */
export function pemProblem(inspection: PemInspection): string | undefined {
  if (!inspection.ok) return `pem: ${inspection.reason}`;
  const { validFrom, validUntil } = inspection.leaf;
  if (!validAtNoInstant({ validFrom, validUntil })) return undefined;
  return `pem: the certificate's notAfter (${validUntil}) is not after its notBefore (${validFrom})`;
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
  const { pem, chain: _chain, ...fields } = certificate;
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
