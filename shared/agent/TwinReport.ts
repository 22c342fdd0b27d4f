import { isoUtc } from '../domain/Clock';
import { DeviceCredential } from './DeviceCredential';

/**
 * What the agent writes in its twin's reported properties, under `certificate`
 * (docs/device-contract.md). Reported properties are JSON merge patches: a field left out keeps
 * its old value and `null` removes it ("Understand device twins"; Learn, "Communicate with an
 * IoT hub using the MQTT protocol", updating reported properties). So every patch names every
 * field of the contract, null for what the agent does not have, and nulls whatever else it
 * finds under `certificate` in the twin.
 */
export interface CertificateReport {
  validFrom: string;
  validUntil: string;
  thumbprint: string;
  serialNumber: string;
  issuer: string;
  subject: string;
  registrationId: string;
  /** The leaf alone, PEM. */
  pem: string;
  /** The rest of the chain DPS issued, base64 DER as received; null when there is none. */
  chain: string[] | null;
  /** Renewal progress: present only while a renewal is under way or failing. */
  renewal: RenewalProgress | null;
}

/**
 * Progress of a renewal, under `certificate.renewal` (a proposal: the contract defines no
 * progress property yet). Removed with null in the patch that reports the new certificate.
 */
export interface RenewalProgress {
  status: 'renewing' | 'failed';
  /** certfleet's request id, when certfleet asked. */
  requestId?: string;
  /** Why: `scheduled` (its own schedule), `expired`, `provisioning`, or certfleet's reason. */
  reason: string;
  /** When the status was set. */
  at: string;
  /** failed: what went wrong (no key material), and when the agent tries again. */
  error?: string;
  nextAttemptAt?: string;
}

/** IoT Hub holds at most 4 KB in one twin string and rejects the whole patch otherwise. */
export const TWIN_STRING_LIMIT_BYTES = 4096;

export class TwinStringTooLong extends Error {
  readonly code = 'twin-string-too-long';
  constructor(
    readonly field: string,
    readonly bytes: number,
  ) {
    super(
      `${field} is ${bytes} bytes, more than the ${TWIN_STRING_LIMIT_BYTES} IoT Hub accepts in one twin string; the report was not sent`,
    );
  }
}

export class KeyMaterialInReport extends Error {
  readonly code = 'key-material-in-report';
  constructor(readonly field: string) {
    super(`${field} holds private key material; the report was not sent`);
  }
}

/** The fields of the contract: each is always in the patch, null when the agent lacks it. */
const CONTRACT_FIELDS = [
  'validFrom',
  'validUntil',
  'thumbprint',
  'serialNumber',
  'issuer',
  'subject',
  'registrationId',
  'pem',
  'chain',
  'renewal',
] as const;

/**
 * The patch of reported properties that reports `credential`'s certificate, with `renewal`
 * (null, the default, ends any renewal progress). `previous` is what the twin holds under
 * `certificate` now, if known: whatever it holds beyond the contract's fields is removed.
 */
export function certificateReport(
  credential: Pick<DeviceCredential, 'leaf' | 'issuedChain'>,
  registrationId: string,
  options: { previous?: unknown; renewal?: RenewalProgress | null } = {},
): { certificate: Record<string, unknown> } {
  const { leaf, issuedChain } = credential;
  const [leafDer, ...rest] = issuedChain;
  const report: CertificateReport = {
    validFrom: isoUtc(leaf.validFrom),
    validUntil: isoUtc(leaf.validUntil),
    thumbprint: leaf.thumbprint,
    serialNumber: leaf.serialNumber,
    issuer: leaf.issuer,
    subject: leaf.subject,
    registrationId,
    pem: pemOf(leafDer!),
    chain: rest.length > 0 ? rest : null,
    renewal: options.renewal ?? null,
  };
  const certificate: Record<string, unknown> = { ...nullsFor(options.previous), ...report };
  checkReportedStrings({ certificate });
  return { certificate };
}

/** The patch that sets (or, with null, removes) the renewal progress alone. */
export function renewalProgressReport(progress: RenewalProgress | null): {
  certificate: { renewal: RenewalProgress | null };
} {
  const patch = { certificate: { renewal: progress } };
  checkReportedStrings(patch);
  return patch;
}

/**
 * Throws before anything is sent when a string of the patch is over IoT Hub's 4 KB (4096
 * bytes of UTF-8, as certfleet counts them: CERTFLEET_MAX_PEM_BYTES), or looks like private
 * key material.
 */
export function checkReportedStrings(patch: unknown, at = ''): void {
  if (typeof patch === 'string') {
    const bytes = Buffer.byteLength(patch, 'utf8');
    if (bytes > TWIN_STRING_LIMIT_BYTES) throw new TwinStringTooLong(at, bytes);
    if (/PRIVATE KEY/i.test(patch)) throw new KeyMaterialInReport(at);
    return;
  }
  if (Array.isArray(patch)) {
    patch.forEach((value, i) => checkReportedStrings(value, `${at}[${i}]`));
    return;
  }
  if (patch !== null && typeof patch === 'object') {
    for (const [key, value] of Object.entries(patch)) {
      if (/^private_?key$/i.test(key)) throw new KeyMaterialInReport(join(at, key));
      checkReportedStrings(value, join(at, key));
    }
  }
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

/** Null for every field the twin holds under `certificate` now, but IoT Hub's own `$` ones. */
function nullsFor(previous: unknown): Record<string, null> {
  if (previous === null || typeof previous !== 'object' || Array.isArray(previous)) return {};
  const nulls: Record<string, null> = {};
  for (const key of Object.keys(previous)) {
    if (!key.startsWith('$') && !(CONTRACT_FIELDS as readonly string[]).includes(key)) {
      nulls[key] = null;
    }
  }
  return nulls;
}

function pemOf(base64Der: string): string {
  const lines = base64Der.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----`;
}
