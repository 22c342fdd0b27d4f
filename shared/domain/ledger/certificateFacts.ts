// Which facts describe a reported certificate: those its PEM proves, those already known when
// the fields still describe that certificate, or else the reported fields; and, for a whole
// twin whose PEM and dates disagree, which of the two to record.
import {
  CertificateFacts,
  certificateIdentity,
  commonNameOf,
  sameCertificate,
  sameInstant,
} from '../Certificate';
import { ParsedCertificate } from '../CertificateInspection';
import { PemDatesConflict } from '../Finding';
import { TwinReportEvent } from '../LedgerEvent';
import { ReportedCertificate } from '../ReportedCertificate';

export interface ReportedFacts {
  facts: CertificateFacts;
  /** The facts are this report's PEM's, so its chain verdict is theirs. */
  fromPem: boolean;
  /** A whole twin whose PEM and dates disagree: what each says, and which was recorded. */
  pemDatesConflict?: PemDatesConflict;
}

/**
 * The facts about the reported certificate: from its PEM when this report carried one; else the
 * PEM facts already known when the fields still describe that certificate; else the fields.
 *
 * Reported properties are merge patches (AZURE-FACTS.md, "Twin limits"): a device that renews
 * and reports only the dates leaves its old `pem` in the twin, and one that reports only the
 * `pem` leaves old dates. A patch's PEM was just sent, so it is the truth; but a whole twin
 * (replaceTwin, a reconcile or backfill) whose PEM and dates disagree holds one stale half, and
 * nothing in it says which. Neither is trusted blindly: the certificate the record already holds
 * is kept when it is one of the two (the twin brings nothing new), else the one that expires
 * first (renewing early costs a renewal, renewing late an outage); a finding names both.
 */
export function certificateFacts(
  current: CertificateFacts | undefined,
  reported: ReportedCertificate,
  event: TwinReportEvent,
  version: number,
): ReportedFacts {
  const seen = { firstSeenAt: event.occurredAt, reportedVersion: version };
  const fromFields = () =>
    current?.source === 'pem' && fieldsDescribe(reported, current)
      ? current
      : factsOfFields(reported, seen);
  if (reported.pem === undefined || !event.pem?.ok) return { facts: fromFields(), fromPem: false };
  const pem = factsOfPem(event.pem.leaf, seen);
  if (!event.complete || sameValidity(reported, pem)) return { facts: pem, fromPem: true };

  const fields = fromFields();
  const held = (facts: CertificateFacts) =>
    current !== undefined &&
    sameCertificate(certificateIdentity(current), certificateIdentity(facts));
  const recorded = held(pem)
    ? 'pem'
    : held(fields)
      ? 'reported'
      : Date.parse(pem.validUntil) <= Date.parse(fields.validUntil)
        ? 'pem'
        : 'reported';
  const pemDatesConflict: PemDatesConflict = {
    pem: { validFrom: pem.validFrom, validUntil: pem.validUntil },
    reported: { validFrom: reported.validFrom, validUntil: reported.validUntil },
    recorded,
  };
  return recorded === 'pem'
    ? { facts: pem, fromPem: true, pemDatesConflict }
    : { facts: fields, fromPem: false, pemDatesConflict };
}

function factsOfPem(
  leaf: ParsedCertificate,
  seen: Pick<CertificateFacts, 'firstSeenAt' | 'reportedVersion'>,
): CertificateFacts {
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
  if (leaf.chainCas !== undefined && leaf.chainCas.length > 0)
    facts.chainCas = leaf.chainCas.map(({ subject, issuer, validUntil, thumbprintSha256 }) => ({
      subject,
      issuer,
      validUntil,
      thumbprintSha256,
    }));
  return facts;
}

function factsOfFields(
  reported: ReportedCertificate,
  seen: Pick<CertificateFacts, 'firstSeenAt' | 'reportedVersion'>,
): CertificateFacts {
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

function sameValidity(reported: ReportedCertificate, facts: CertificateFacts): boolean {
  return (
    sameInstant(reported.validFrom, facts.validFrom) &&
    sameInstant(reported.validUntil, facts.validUntil)
  );
}

function fieldsDescribe(reported: ReportedCertificate, facts: CertificateFacts): boolean {
  if (!sameValidity(reported, facts)) return false;
  if (reported.serialNumber && reported.serialNumber !== facts.serialNumber) return false;
  if (reported.thumbprint) {
    const known = reported.thumbprint.length === 64 ? facts.thumbprintSha256 : facts.thumbprintSha1;
    if (reported.thumbprint !== known) return false;
  }
  return true;
}
