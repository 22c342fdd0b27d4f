import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import * as x509 from '@peculiar/x509';
import { Clock, DAY_MS, MINUTE_MS, isoUtc } from '../../domain/Clock';
import { Issuer, createIssuingCa, createRootCa, issueLeaf, toPem } from '../../local/LocalCa';

/**
 * An in-process stand-in for DPS device registration with a certificate signing request, as
 * the 2025-07-01-preview API does it (AZURE-FACTS.md, "Certificate management and DPS"):
 * `PUT /{idScope}/registrations/{registrationId}/register` with `{registrationId, csr}`, the CSR
 * base64 DER PKCS#10 without PEM armour, its CN the registration id; the answer carries
 * `registrationState.issuedCertificateChain`, base64 DER, leaf first.
 *
 * It checks what Azure's certificate management requires of a CSR (ECDSA P-384 signed with
 * SHA-384, a signature that verifies, CN = registration id, compared case-insensitively as
 * registration ids are) and issues from a local hierarchy: one root, one issuing CA per policy
 * (Azure Device Registry: "one issuing CA per policy"), leaf validity 7 to 90 days per policy.
 * It keeps DPS's quota of 1,000 registrations a minute per service on its clock, and can be
 * told to be down for a while (an issuer outage) to make a failure spike.
 *
 * Error codes are those Microsoft lists as DPS's common ones (Learn, "Troubleshoot DPS":
 * 400 bad request, 404 not found, 429 throttled, 500 internal error); the exact codes the
 * preview API returns for a rejected CSR are not published, so the message says which check
 * failed.
 */
export interface IssuancePolicy {
  name: string;
  /** Leaf validity, 7 to 90 days (Azure Device Registry certificate management). */
  leafValidityDays: number;
}

export interface StandInDpsOptions {
  /** The time of issuance and of the per-minute quota. */
  clock: Clock;
  /** The default policy's leaf validity, when `policies` is not given. Default 30 days. */
  leafValidityDays?: number;
  /** Issuance policies, each with an issuing CA of its own; the first is the default. */
  policies?: readonly IssuancePolicy[];
  /** DPS's quota: 1,000 device registrations a minute per service (AZURE-FACTS.md). */
  registrationsPerMinute?: number;
  /** The CA hierarchy's common names start with this. */
  caName?: string;
}

export type DpsFailureReason =
  /** The CSR was refused: not base64, not a PKCS#10, a bad signature, wrong CN, key or hash. */
  | 'csr-rejected'
  /** The registration id breaks DPS's rules. */
  | 'invalid-registration-id'
  /** Over the registrations-per-minute quota (429). */
  | 'throttled'
  /** The service or its issuer is down (500). */
  | 'unavailable'
  /** The registration names a policy this DPS does not have. */
  | 'not-enrolled';

export type DpsRegistrationResult =
  | {
      status: 'assigned';
      registrationId: string;
      policy: string;
      /** Base64 DER, leaf first, then the issuing CA. */
      issuedCertificateChain: string[];
    }
  | {
      status: 'failed';
      registrationId: string;
      errorCode: number;
      reason: DpsFailureReason;
      message: string;
      /** For 429: when to try again. */
      retryAfterSeconds?: number;
    };

/** Azure Device Registry issues leaves valid 7 to 90 days. */
export const MIN_LEAF_VALIDITY_DAYS = 7;
export const MAX_LEAF_VALIDITY_DAYS = 90;
export const DPS_REGISTRATIONS_PER_MINUTE = 1000;

/** AZURE-FACTS.md: up to 128 characters, alphanumerics and `: . _ -`, none of those first or last. */
const REGISTRATION_ID = /^[A-Za-z0-9](?:[A-Za-z0-9:._-]{0,126}[A-Za-z0-9])?$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

interface Outage {
  from: number;
  until: number;
  reason: string;
}

interface PolicyIssuer {
  policy: IssuancePolicy;
  issuer: Issuer;
}

export class StandInDps {
  /** Registrations answered, by outcome: `assigned` or the failure reason. */
  readonly counts: Record<'assigned' | DpsFailureReason, number> = {
    assigned: 0,
    'csr-rejected': 0,
    'invalid-registration-id': 0,
    throttled: 0,
    unavailable: 0,
    'not-enrolled': 0,
  };
  private readonly outages: Outage[] = [];
  private readonly enrollments = new Map<string, string>();
  private minute = -1;
  private usedThisMinute = 0;
  private issued = 0;

  private constructor(
    private readonly clock: Clock,
    readonly root: Issuer,
    private readonly issuers: ReadonlyMap<string, PolicyIssuer>,
    private readonly defaultPolicy: string,
    readonly registrationsPerMinute: number,
  ) {}

  static async create(options: StandInDpsOptions): Promise<StandInDps> {
    const policies = options.policies ?? [
      { name: 'default', leafValidityDays: options.leafValidityDays ?? 30 },
    ];
    if (policies.length === 0) throw new RangeError('a DPS needs at least one issuance policy');
    for (const p of policies) checkLeafValidity(p.leafValidityDays, p.name);
    const rate = options.registrationsPerMinute ?? DPS_REGISTRATIONS_PER_MINUTE;
    if (!Number.isInteger(rate) || rate < 1)
      throw new RangeError('registrationsPerMinute must be a whole number of at least 1');
    const name = options.caName ?? 'Stand-in DPS';
    const now = options.clock.now().getTime();
    // Valid from a day before the clock (a CA is older than the fleet) for years to come.
    const from = isoUtc(now - DAY_MS);
    const root = await createRootCa(`${name} Root CA`, {
      notBefore: from,
      notAfter: isoUtc(now + 20 * 365 * DAY_MS),
    });
    const issuers = new Map<string, PolicyIssuer>();
    for (const policy of policies) {
      if (issuers.has(policy.name)) throw new RangeError(`policy ${policy.name} is named twice`);
      const issuer = await createIssuingCa(root, `${name} Issuing CA ${policy.name}`, {
        notBefore: from,
        notAfter: isoUtc(now + 5 * 365 * DAY_MS),
      });
      issuers.set(policy.name, { policy, issuer });
    }
    return new StandInDps(options.clock, root, issuers, policies[0]!.name, rate);
  }

  /** The root to trust (certfleet's CERTFLEET_TRUST_BUNDLE). */
  get trustBundlePem(): string {
    return toPem(this.root.certificate);
  }

  get policies(): IssuancePolicy[] {
    return [...this.issuers.values()].map((i) => i.policy);
  }

  issuingCa(policy = this.defaultPolicy): x509.X509Certificate {
    const found = this.issuers.get(policy);
    if (!found) throw new RangeError(`no policy ${policy}`);
    return found.issuer.certificate;
  }

  /**
   * An enrollment links a registration id to a policy (DPS enrollment -> ADR policy); without
   * one, the default policy issues.
   */
  enroll(registrationId: string, policy: string): void {
    this.enrollments.set(registrationId.toLowerCase(), policy);
  }

  /** From `from` to `until` every registration fails with 500: an issuer outage. */
  down(from: Date | string, until: Date | string, reason = 'issuer unavailable'): void {
    const f = new Date(from).getTime();
    const u = new Date(until).getTime();
    if (!(u > f)) throw new RangeError('an outage ends after it starts');
    this.outages.push({ from: f, until: u, reason });
  }

  /** Registers a device with a CSR: `csr` is base64 DER PKCS#10, no PEM armour. */
  async register(registrationId: string, csr: string): Promise<DpsRegistrationResult> {
    const now = this.clock.now().getTime();
    const failed = (
      errorCode: number,
      reason: DpsFailureReason,
      message: string,
      retryAfterSeconds?: number,
    ): DpsRegistrationResult => {
      this.counts[reason] += 1;
      return {
        status: 'failed',
        registrationId,
        errorCode,
        reason,
        message,
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      };
    };

    // The front door first: over the quota, nothing else is looked at.
    const minute = Math.floor(now / MINUTE_MS);
    if (minute !== this.minute) {
      this.minute = minute;
      this.usedThisMinute = 0;
    }
    if (this.usedThisMinute >= this.registrationsPerMinute) {
      const retryAfter = Math.ceil(((minute + 1) * MINUTE_MS - now) / 1000);
      return failed(
        429,
        'throttled',
        `more than ${this.registrationsPerMinute} registrations this minute`,
        Math.max(1, retryAfter),
      );
    }
    this.usedThisMinute += 1;

    const outage = this.outages.find((o) => now >= o.from && now < o.until);
    if (outage) return failed(500, 'unavailable', `internal error: ${outage.reason}`);
    if (!REGISTRATION_ID.test(registrationId)) {
      return failed(400, 'invalid-registration-id', 'the registration id is not valid');
    }
    const policyName = this.enrollments.get(registrationId.toLowerCase()) ?? this.defaultPolicy;
    const issuer = this.issuers.get(policyName);
    if (!issuer) return failed(404, 'not-enrolled', `no policy ${policyName}`);

    const checked = await checkCsr(registrationId, csr);
    if (!checked.ok) return failed(400, 'csr-rejected', `csr rejected: ${checked.problem}`);

    // notBefore at the second (X.509 times carry no milliseconds).
    const notBefore = Math.floor(now / 1000) * 1000;
    const notAfter = notBefore + issuer.policy.leafValidityDays * DAY_MS;
    this.issued += 1;
    const leaf = await issueLeaf(issuer.issuer, {
      commonName: registrationId,
      publicKey: checked.publicKey,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      // Positive, unique, and the same for the same history.
      serialNumber: `5d${this.issued.toString(16).padStart(14, '0')}`,
    });
    this.counts.assigned += 1;
    return {
      status: 'assigned',
      registrationId,
      policy: policyName,
      issuedCertificateChain: [
        Buffer.from(leaf.rawData).toString('base64'),
        Buffer.from(issuer.issuer.certificate.rawData).toString('base64'),
      ],
    };
  }
}

type CsrCheck = { ok: true; publicKey: CryptoKey } | { ok: false; problem: string };
type CryptoKey = Awaited<ReturnType<x509.PublicKey['export']>>;

/** DPS's checks of a CSR, in order; the first that fails is the answer. */
async function checkCsr(registrationId: string, csr: string): Promise<CsrCheck> {
  if (typeof csr !== 'string' || !BASE64.test(csr) || csr.length % 4 !== 0) {
    return { ok: false, problem: 'not base64 DER (PEM armour and whitespace are not accepted)' };
  }
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(Buffer.from(csr, 'base64'));
  } catch {
    return { ok: false, problem: 'not a PKCS#10 certificate request' };
  }
  const key = request.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (key.name !== 'ECDSA' || key.namedCurve !== 'P-384') {
    const described = key.namedCurve ? `${key.name} ${key.namedCurve}` : `${key.name}`;
    return { ok: false, problem: `key must be ECDSA P-384, got ${described}` };
  }
  const signature = request.signatureAlgorithm as { name?: string; hash?: { name?: string } };
  if (signature.name !== 'ECDSA' || signature.hash?.name !== 'SHA-384') {
    return {
      ok: false,
      problem:
        `signature must be ECDSA with SHA-384, got ${signature.name} ${signature.hash?.name ?? ''}`.trim(),
    };
  }
  let verified = false;
  try {
    verified = await request.verify();
  } catch {
    verified = false;
  }
  if (!verified) return { ok: false, problem: 'the signature does not verify with its public key' };
  const cn = request.subjectName.getField('CN');
  if (cn.length !== 1) return { ok: false, problem: 'the subject must have exactly one CN' };
  if (cn[0]!.toLowerCase() !== registrationId.toLowerCase()) {
    return { ok: false, problem: `CN "${cn[0]}" is not the registration id "${registrationId}"` };
  }
  try {
    return { ok: true, publicKey: await request.publicKey.export() };
  } catch {
    return { ok: false, problem: 'the public key cannot be read' };
  }
}

function checkLeafValidity(days: number, policy: string): void {
  if (!Number.isInteger(days) || days < MIN_LEAF_VALIDITY_DAYS || days > MAX_LEAF_VALIDITY_DAYS) {
    throw new RangeError(
      `policy ${policy}: leaf validity must be ${MIN_LEAF_VALIDITY_DAYS} to ${MAX_LEAF_VALIDITY_DAYS} whole days, got ${days}`,
    );
  }
}
