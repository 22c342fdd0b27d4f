import { isoUtc } from '../domain/Clock';
import { x509 } from './x509';

/** What the agent knows of a certificate, in the twin's words (docs/device-contract.md). */
export interface CertificateSummary {
  validFrom: Date;
  validUntil: Date;
  /** SHA-256 of the DER, upper-case hex. */
  thumbprint: string;
  /** Upper-case hex, as the certificate holds it. */
  serialNumber: string;
  issuer: string;
  subject: string;
  /** The subject's first CN (DPS issues CN = registration id). */
  commonName?: string;
}

export async function summarizeCertificate(
  certificate: x509.X509Certificate,
): Promise<CertificateSummary> {
  const thumbprint = Buffer.from(await certificate.getThumbprint('SHA-256'))
    .toString('hex')
    .toUpperCase();
  const commonName = certificate.subjectName.getField('CN')[0];
  return {
    validFrom: certificate.notBefore,
    validUntil: certificate.notAfter,
    thumbprint,
    serialNumber: certificate.serialNumber.toUpperCase(),
    issuer: certificate.issuer,
    subject: certificate.subject,
    ...(commonName !== undefined ? { commonName } : {}),
  };
}

/** One line for the log: never anything but public facts. */
export function describeCertificate(summary: CertificateSummary): string {
  return (
    `thumbprint=${summary.thumbprint} serial=${summary.serialNumber} ` +
    `validFrom=${isoUtc(summary.validFrom)} validUntil=${isoUtc(summary.validUntil)}`
  );
}
