import { CertificateFacts, commonNameOf, sameDistinguishedName, sameInstant } from './Certificate';
import { ChainVerdict } from './CertificateInspection';
import { ReportedCertificate } from './ReportedCertificate';

export type FindingCode =
  /** A reported field (validFrom, thumbprint, …) disagrees with the PEM the device sent. */
  | 'reported-field-mismatch'
  /** The certificate's CN is not the device id (DPS requires CN = registration id). */
  | 'common-name-mismatch'
  /** The chain does not verify up to the configured trust bundle. */
  | 'chain-untrusted'
  | 'not-yet-valid-when-reported'
  | 'expired-when-reported'
  /** The device put private key material in its twin: the key must be treated as leaked. */
  | 'private-key-reported'
  /** The device's last certificate report could not be used (see its dead letter). */
  | 'invalid-certificate-report'
  /** A renewed certificate carries the same public key as the one it replaced. */
  | 'key-not-rotated';

export type Severity = 'info' | 'warning' | 'critical';

/**
 * Something wrong with what a device reported. Findings are data on the device's record, shown
 * to ops and auditors; they never stop the event from being recorded.
 */
export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  detectedAt: string;
  reportedVersion?: number;
}

const SEVERITY: Record<FindingCode, Severity> = {
  'reported-field-mismatch': 'warning',
  'common-name-mismatch': 'critical',
  'chain-untrusted': 'critical',
  'not-yet-valid-when-reported': 'warning',
  'expired-when-reported': 'critical',
  'private-key-reported': 'critical',
  'invalid-certificate-report': 'warning',
  'key-not-rotated': 'warning',
};

export function finding(
  code: FindingCode,
  message: string,
  detectedAt: string,
  reportedVersion?: number,
): Finding {
  const f: Finding = { code, severity: SEVERITY[code], message, detectedAt };
  if (reportedVersion !== undefined) f.reportedVersion = reportedVersion;
  return f;
}

/** Findings that describe the current certificate; replaced whenever a new report is applied. */
export const CERTIFICATE_FINDINGS: readonly FindingCode[] = [
  'reported-field-mismatch',
  'common-name-mismatch',
  'chain-untrusted',
  'not-yet-valid-when-reported',
  'expired-when-reported',
  'invalid-certificate-report',
  'key-not-rotated',
];

export interface CertificateCheckInput {
  deviceId: string;
  reported: ReportedCertificate;
  facts: CertificateFacts;
  chain?: ChainVerdict;
  reportedAt: string;
  reportedVersion: number;
}

type Check = (input: CertificateCheckInput) => Finding | undefined;

/**
 * The checks run, in order, on every applied certificate report. Each is `input -> finding |
 * nothing`, like cert-manager's readiness checks.
 */
const CHECKS: readonly Check[] = [
  reportedFieldsAgreeWithPem,
  commonNameIsDeviceId,
  chainIsTrusted,
  validWhenReported,
];

export function certificateFindings(input: CertificateCheckInput): Finding[] {
  return CHECKS.map((check) => check(input)).filter((f): f is Finding => f !== undefined);
}

function reportedFieldsAgreeWithPem(input: CertificateCheckInput): Finding | undefined {
  const { reported, facts } = input;
  if (facts.source !== 'pem') return undefined;
  const wrong: string[] = [];
  if (!sameInstant(reported.validFrom, facts.validFrom)) wrong.push('validFrom');
  if (!sameInstant(reported.validUntil, facts.validUntil)) wrong.push('validUntil');
  if (reported.thumbprint) {
    const expected =
      reported.thumbprint.length === 64 ? facts.thumbprintSha256 : facts.thumbprintSha1;
    if (reported.thumbprint !== expected) wrong.push('thumbprint');
  }
  if (reported.serialNumber && reported.serialNumber !== facts.serialNumber)
    wrong.push('serialNumber');
  if (reported.issuer && facts.issuer && !sameDistinguishedName(reported.issuer, facts.issuer)) {
    wrong.push('issuer');
  }
  if (
    reported.subject &&
    facts.subject &&
    !sameDistinguishedName(reported.subject, facts.subject)
  ) {
    wrong.push('subject');
  }
  if (wrong.length === 0) return undefined;
  return finding(
    'reported-field-mismatch',
    `reported ${wrong.join(', ')} disagree${wrong.length === 1 ? 's' : ''} with the certificate`,
    input.reportedAt,
    input.reportedVersion,
  );
}

function commonNameIsDeviceId(input: CertificateCheckInput): Finding | undefined {
  const cn = input.facts.commonName ?? commonNameOf(input.facts.subject);
  if (cn === undefined) {
    if (input.facts.source !== 'pem' && !input.facts.subject) return undefined; // nothing to check
    return finding(
      'common-name-mismatch',
      'the certificate subject has no single CN',
      input.reportedAt,
      input.reportedVersion,
    );
  }
  // DPS registration ids are case-insensitive and become the device id.
  if (cn.toLowerCase() === input.deviceId.toLowerCase()) return undefined;
  return finding(
    'common-name-mismatch',
    `certificate CN "${cn}" is not the device id "${input.deviceId}"`,
    input.reportedAt,
    input.reportedVersion,
  );
}

function chainIsTrusted(input: CertificateCheckInput): Finding | undefined {
  if (!input.chain || input.chain.status !== 'untrusted') return undefined;
  return finding(
    'chain-untrusted',
    `chain does not verify to the trust bundle: ${input.chain.reason}`,
    input.reportedAt,
    input.reportedVersion,
  );
}

function validWhenReported(input: CertificateCheckInput): Finding | undefined {
  const at = Date.parse(input.reportedAt);
  if (at < Date.parse(input.facts.validFrom)) {
    return finding(
      'not-yet-valid-when-reported',
      `certificate is valid from ${input.facts.validFrom}, after it was reported (${input.reportedAt})`,
      input.reportedAt,
      input.reportedVersion,
    );
  }
  // notAfter is inclusive (RFC 5280 4.1.2.5), as in the x509 adapter's validAt.
  if (at > Date.parse(input.facts.validUntil)) {
    return finding(
      'expired-when-reported',
      `certificate expired at ${input.facts.validUntil}, before it was reported (${input.reportedAt})`,
      input.reportedAt,
      input.reportedVersion,
    );
  }
  return undefined;
}
