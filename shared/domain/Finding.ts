import { CertificateFacts, commonNameOf, sameDistinguishedName, sameInstant } from './Certificate';
import { ChainVerdict } from './CertificateInspection';
import { ReportedCertificate } from './ReportedCertificate';

export type FindingCode =
  /** A reported field (validFrom, thumbprint, …) disagrees with the PEM the device sent. */
  | 'reported-field-mismatch'
  /**
   * The certificate's CN is not the registration id the device reports, or without one its
   * device id (DPS requires CN = registration id).
   */
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
  | 'key-not-rotated'
  /**
   * A whole twin's PEM and its reported dates describe different certificates: IoT Hub keeps a
   * reported property the device stopped sending, so one of them is stale.
   */
  | 'pem-disagrees-with-dates';

export type Severity = 'info' | 'warning' | 'critical';

/** Severities the operator set instead of the defaults (CERTFLEET_CN_MISMATCH_SEVERITY). */
export type SeverityOverrides = Partial<Record<FindingCode, Severity>>;

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
  'pem-disagrees-with-dates': 'warning',
};

export function finding(
  code: FindingCode,
  message: string,
  detectedAt: string,
  reportedVersion?: number,
  severities?: SeverityOverrides,
): Finding {
  const f: Finding = { code, severity: severities?.[code] ?? SEVERITY[code], message, detectedAt };
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
  'pem-disagrees-with-dates',
];

export interface Validity {
  validFrom: string;
  validUntil: string;
}

/** A whole twin whose PEM and reported dates disagree, and which of them was recorded. */
export interface PemDatesConflict {
  pem: Validity;
  reported: Validity;
  recorded: 'pem' | 'reported';
}

export interface CertificateCheckInput {
  deviceId: string;
  reported: ReportedCertificate;
  facts: CertificateFacts;
  chain?: ChainVerdict;
  reportedAt: string;
  reportedVersion: number;
  /** Set when the report is a whole twin whose PEM disagrees with its dates. */
  pemDatesConflict?: PemDatesConflict;
  severities?: SeverityOverrides;
}

type Check = (input: CertificateCheckInput) => Finding | undefined;

/**
 * The checks run, in order, on every applied certificate report. Each is `input -> finding |
 * nothing`, like cert-manager's readiness checks.
 */
const CHECKS: readonly Check[] = [
  reportedFieldsAgreeWithPem,
  commonNameIsRegistrationId,
  chainIsTrusted,
  validWhenReported,
  pemAgreesWithDates,
];

export function certificateFindings(input: CertificateCheckInput): Finding[] {
  return CHECKS.map((check) => check(input)).filter((f): f is Finding => f !== undefined);
}

function reportedFieldsAgreeWithPem(input: CertificateCheckInput): Finding | undefined {
  const { reported, facts } = input;
  if (facts.source !== 'pem') return undefined;
  const wrong: string[] = [];
  // When a whole twin's dates disagree with its PEM, pemAgreesWithDates says so.
  if (!input.pemDatesConflict) {
    if (!sameInstant(reported.validFrom, facts.validFrom)) wrong.push('validFrom');
    if (!sameInstant(reported.validUntil, facts.validUntil)) wrong.push('validUntil');
  }
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

/**
 * DPS issues a certificate whose CN is the registration id, which becomes the device id unless
 * the enrollment gives the device another (a custom allocation): compare with the registration
 * id the device reports, else with the device id.
 */
function commonNameIsRegistrationId(input: CertificateCheckInput): Finding | undefined {
  const cn = input.facts.commonName ?? commonNameOf(input.facts.subject);
  const mismatch = (message: string) =>
    finding(
      'common-name-mismatch',
      message,
      input.reportedAt,
      input.reportedVersion,
      input.severities,
    );
  if (cn === undefined) {
    if (input.facts.source !== 'pem' && !input.facts.subject) return undefined; // nothing to check
    return mismatch('the certificate subject has no single CN');
  }
  const registrationId = input.reported.registrationId;
  const [name, expected] =
    registrationId !== undefined
      ? ['registration id', registrationId]
      : ['device id', input.deviceId];
  // DPS registration ids are case-insensitive.
  if (cn.toLowerCase() === expected.toLowerCase()) return undefined;
  return mismatch(`certificate CN "${cn}" is not the ${name} "${expected}"`);
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

function pemAgreesWithDates(input: CertificateCheckInput): Finding | undefined {
  const conflict = input.pemDatesConflict;
  if (!conflict) return undefined;
  const recorded = conflict.recorded === 'pem' ? 'the pem’s certificate' : 'the reported dates';
  return finding(
    'pem-disagrees-with-dates',
    `the twin’s pem is valid ${conflict.pem.validFrom} to ${conflict.pem.validUntil} but its reported dates say ${conflict.reported.validFrom} to ${conflict.reported.validUntil} (a pem the device stopped sending stays in the twin until it reports "pem": null); recorded ${recorded}`,
    input.reportedAt,
    input.reportedVersion,
  );
}
