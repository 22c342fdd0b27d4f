/**
 * What certfleet knows about one operational certificate. When the device reported its PEM the
 * facts come from the certificate itself (`source: 'pem'`); otherwise from the reported fields
 * (`source: 'reported'`), which is all a fleet that only follows Microsoft's minimum convention
 * (`validFrom`/`validUntil`) gives.
 */
export interface CertificateFacts {
  source: 'pem' | 'reported';
  validFrom: string;
  validUntil: string;
  /** Upper-case hex, no separators. */
  thumbprintSha1?: string;
  thumbprintSha256?: string;
  /** Upper-case hex without leading zeros. */
  serialNumber?: string;
  subject?: string;
  issuer?: string;
  commonName?: string;
  /** e.g. `ECDSA P-384`, `RSA 2048`. */
  keyAlgorithm?: string;
  keySize?: number;
  /** SHA-256 of the SubjectPublicKeyInfo: tells a renewal that rotated the key from one that did not. */
  publicKeySha256?: string;
  signatureAlgorithm?: string;
  /** Certificates the device sent after its leaf. */
  chainLength?: number;
  /**
   * The CA certificates among them (each once), for the fleet audit's CA-expiry check. Absent
   * when the device sent none, when the facts come from reported fields, and in records written
   * before certfleet kept them.
   */
  chainCas?: ChainCa[];
  firstSeenAt: string;
  reportedVersion: number;
}

/** A CA certificate a device sent in its chain: public facts only, enough to judge its expiry. */
export interface ChainCa {
  subject: string;
  issuer: string;
  validUntil: string;
  /** Upper-case hex, no separators, like the leaf's. */
  thumbprintSha256: string;
}

/** The part of a certificate an audit record names: enough to find it again, nothing secret. */
export interface CertificateIdentity {
  thumbprintSha1?: string;
  thumbprintSha256?: string;
  serialNumber?: string;
  issuer?: string;
  subject?: string;
  validFrom: string;
  validUntil: string;
}

export function certificateIdentity(facts: CertificateFacts): CertificateIdentity {
  const identity: CertificateIdentity = {
    validFrom: facts.validFrom,
    validUntil: facts.validUntil,
  };
  if (facts.thumbprintSha1) identity.thumbprintSha1 = facts.thumbprintSha1;
  if (facts.thumbprintSha256) identity.thumbprintSha256 = facts.thumbprintSha256;
  if (facts.serialNumber) identity.serialNumber = facts.serialNumber;
  if (facts.issuer) identity.issuer = facts.issuer;
  if (facts.subject) identity.subject = facts.subject;
  return identity;
}

/**
 * Whether two descriptions name the same certificate, using the strongest evidence both carry:
 * SHA-256 thumbprint, then SHA-1, then issuer + serial, then the validity window. The validity
 * must agree too: one certificate has one validity, so a report that keeps a thumbprint but
 * changes the dates describes another certificate (a device that forgot to update a field).
 */
export function sameCertificate(a: CertificateIdentity, b: CertificateIdentity): boolean {
  const sameValidity =
    sameInstant(a.validFrom, b.validFrom) && sameInstant(a.validUntil, b.validUntil);
  if (a.thumbprintSha256 && b.thumbprintSha256)
    return a.thumbprintSha256 === b.thumbprintSha256 && sameValidity;
  if (a.thumbprintSha1 && b.thumbprintSha1)
    return a.thumbprintSha1 === b.thumbprintSha1 && sameValidity;
  if (a.serialNumber && b.serialNumber) {
    return (
      a.serialNumber === b.serialNumber &&
      sameInstant(a.validUntil, b.validUntil) &&
      (!a.issuer || !b.issuer || sameDistinguishedName(a.issuer, b.issuer))
    );
  }
  return sameInstant(a.validFrom, b.validFrom) && sameInstant(a.validUntil, b.validUntil);
}

/** Two timestamps name the same second (devices report with or without milliseconds). */
export function sameInstant(a: string, b: string): boolean {
  return Math.floor(Date.parse(a) / 1000) === Math.floor(Date.parse(b) / 1000);
}

/** Upper-case hex without separators; undefined when the text is not hex. */
export function normalizeHex(value: string): string | undefined {
  const hex = value.replace(/[\s:-]/g, '').toUpperCase();
  return /^[0-9A-F]+$/.test(hex) ? hex : undefined;
}

/**
 * Serial numbers compare as integers, written as upper-case hex without leading zeros: `00A1`,
 * `0xa1` and `a1` are the same serial. A serial is a DER INTEGER and may be negative (RFC 5280
 * forbids it; CAs have issued them): a leading `-` is its sign, as OpenSSL prints one (`-05`).
 */
export function normalizeSerial(value: string): string | undefined {
  const text = value.trim();
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  if (negative && /^[\s:-]/.test(digits)) return undefined;
  const hex = normalizeHex(digits.replace(/^0x/i, ''));
  if (hex === undefined) return undefined;
  const trimmed = hex.replace(/^0+/, '');
  if (trimmed === '') return '0';
  return negative ? `-${trimmed}` : trimmed;
}

/**
 * The serial a certificate carries, from the content octets of its DER INTEGER (two's
 * complement, hex), written as `normalizeSerial` writes a reported one: `00FB` is FB, `FB` is
 * -5. Undefined when the text is not whole octets of hex.
 */
export function serialFromDerOctets(octets: string): string | undefined {
  if (!/^([0-9A-F]{2})+$/i.test(octets)) return undefined;
  let value = BigInt(`0x${octets}`);
  if (Number.parseInt(octets.slice(0, 2), 16) >= 0x80) value -= 1n << BigInt(octets.length * 4);
  const hex = (value < 0n ? -value : value).toString(16).toUpperCase();
  return value < 0n ? `-${hex}` : hex;
}

/**
 * Whether a validity belongs to no usable certificate: one whose notAfter is not after its
 * notBefore is valid at no instant (RFC 5280 4.1.2.5), and a renewal due "85% into" its
 * lifetime would fall after it ends.
 */
export function validAtNoInstant(validity: { validFrom: string; validUntil: string }): boolean {
  return Date.parse(validity.validUntil) <= Date.parse(validity.validFrom);
}

/**
 * Distinguished names are written many ways (`CN=a, O=b`, `O=b,CN=a`, `/O=b/CN=a`). Compare
 * them as a set of attribute=value pairs, attribute names case-insensitive.
 */
export function sameDistinguishedName(a: string, b: string): boolean {
  // Values compare without regard to case (X.520 caseIgnoreMatch, what name attributes use).
  const norm = (dn: string) =>
    splitDistinguishedName(dn)
      .map((part) => part.toLowerCase())
      .sort()
      .join('\n');
  return norm(a) === norm(b);
}

function splitDistinguishedName(dn: string): string[] {
  const text = dn.trim();
  const parts = text.startsWith('/') ? text.slice(1).split('/') : text.split(/(?<!\\),|(?<!\\)\+/);
  return parts
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part;
      return `${part.slice(0, eq).trim().toUpperCase()}=${part.slice(eq + 1).trim()}`;
    });
}

/** The CN of a distinguished name, if it has exactly one. */
export function commonNameOf(dn: string | undefined): string | undefined {
  if (!dn) return undefined;
  const names = splitDistinguishedName(dn)
    .filter((p) => p.startsWith('CN='))
    .map((p) => p.slice(3));
  return names.length === 1 ? names[0] : undefined;
}
