// Which facts describe a reported certificate: those its PEM proves, those already known when
// the fields still describe that certificate, or else the reported fields.
import { CertificateFacts, commonNameOf, sameInstant } from '../Certificate';
import { TwinReportEvent } from '../LedgerEvent';
import { ReportedCertificate } from '../ReportedCertificate';

/**
 * The facts about the reported certificate: from its PEM when this report carried one; else the
 * PEM facts already known when the fields still describe that certificate; else the fields.
 */
export function certificateFacts(
  current: CertificateFacts | undefined,
  reported: ReportedCertificate,
  event: TwinReportEvent,
  version: number,
): CertificateFacts {
  const seen = { firstSeenAt: event.occurredAt, reportedVersion: version };
  if (reported.pem !== undefined && event.pem?.ok) {
    const leaf = event.pem.leaf;
    const facts: CertificateFacts = {
      source: 'pem',
      validFrom: leaf.validFrom,
      validUntil: leaf.validUntil,
      thumbprintSha1: leaf.thumbprintSha1,
      thumbprintSha256: leaf.thumbprintSha256,
      serialNumber: leaf.serialNumber,
      subject: leaf.subject,
      issuer: leaf.issuer,
      keyAlgorithm: leaf.keyAlgorithm,
      publicKeySha256: leaf.publicKeySha256,
      signatureAlgorithm: leaf.signatureAlgorithm,
      chainLength: leaf.chainLength,
      ...seen,
    };
    if (leaf.commonName !== undefined) facts.commonName = leaf.commonName;
    if (leaf.keySize !== undefined) facts.keySize = leaf.keySize;
    return facts;
  }
  if (current?.source === 'pem' && fieldsDescribe(reported, current)) return current;
  const facts: CertificateFacts = {
    source: 'reported',
    validFrom: reported.validFrom,
    validUntil: reported.validUntil,
    ...seen,
  };
  if (reported.thumbprint?.length === 40) facts.thumbprintSha1 = reported.thumbprint;
  if (reported.thumbprint?.length === 64) facts.thumbprintSha256 = reported.thumbprint;
  if (reported.serialNumber) facts.serialNumber = reported.serialNumber;
  if (reported.issuer) facts.issuer = reported.issuer;
  if (reported.subject) {
    facts.subject = reported.subject;
    const cn = commonNameOf(reported.subject);
    if (cn !== undefined) facts.commonName = cn;
  }
  return facts;
}

function fieldsDescribe(reported: ReportedCertificate, facts: CertificateFacts): boolean {
  if (!sameInstant(reported.validFrom, facts.validFrom)) return false;
  if (!sameInstant(reported.validUntil, facts.validUntil)) return false;
  if (reported.serialNumber && reported.serialNumber !== facts.serialNumber) return false;
  if (reported.thumbprint) {
    const known = reported.thumbprint.length === 64 ? facts.thumbprintSha256 : facts.thumbprintSha1;
    if (reported.thumbprint !== known) return false;
  }
  return true;
}
