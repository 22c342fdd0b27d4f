import { X509Certificate } from '@peculiar/x509';
import { DAY_MS } from '../../shared/domain/Clock';
import {
  Issuer,
  KeyKind,
  createIssuingCa,
  createRootCa,
  generateKeys,
  issueLeaf,
  thumbprint,
  toPem,
} from '../../shared/local/LocalCa';

/**
 * Fixture builders for real certificates at fixed dates:
 *   const pki = await aPki();
 *   const cert = await pki.leaf('dev-1').validFrom('2026-11-01T00:00:00Z').forDays(30).issue();
 */
export interface TestPki {
  root: Issuer;
  issuing: Issuer;
  /** Root + issuing CA PEM: the trust bundle. */
  trustBundlePem: string;
  leaf(commonName: string): LeafBuilder;
}

export interface IssuedLeaf {
  certificate: X509Certificate;
  keys: CryptoKeyPair;
  /** Leaf followed by the issuing CA, as a device reports it. */
  pem: string;
  leafPem: string;
  sha1: string;
  sha256: string;
  serialNumber: string;
  validFrom: string;
  validUntil: string;
  /** The reported `certificate` object of the device contract. */
  report(extra?: Record<string, unknown>): Record<string, unknown>;
}

type CryptoKeyPair = import('node:crypto').webcrypto.CryptoKeyPair;

export class LeafBuilder {
  private from = '2026-11-01T00:00:00.000Z';
  private days = 30;
  private kind: KeyKind = 'P-384';
  private keys?: CryptoKeyPair;
  private signer: Issuer;

  constructor(
    private readonly pki: { issuing: Issuer },
    private readonly commonName: string,
  ) {
    this.signer = pki.issuing;
  }

  validFrom(iso: string): this {
    this.from = new Date(iso).toISOString();
    return this;
  }

  forDays(days: number): this {
    this.days = days;
    return this;
  }

  withKey(kind: KeyKind): this {
    this.kind = kind;
    return this;
  }

  /** Reuse a key pair (a renewal that did not rotate the key). */
  withKeys(keys: CryptoKeyPair): this {
    this.keys = keys;
    return this;
  }

  signedBy(issuer: Issuer): this {
    this.signer = issuer;
    return this;
  }

  async issue(): Promise<IssuedLeaf> {
    const keys = this.keys ?? (await generateKeys(this.kind));
    const notAfter = new Date(Date.parse(this.from) + this.days * DAY_MS).toISOString();
    const certificate = await issueLeaf(this.signer, {
      commonName: this.commonName,
      publicKey: keys.publicKey,
      notBefore: this.from,
      notAfter,
    });
    const leafPem = toPem(certificate);
    const pem = toPem(certificate, this.signer.certificate);
    const issued: IssuedLeaf = {
      certificate,
      keys,
      pem,
      leafPem,
      sha1: await thumbprint(certificate, 'SHA-1'),
      sha256: await thumbprint(certificate, 'SHA-256'),
      serialNumber: certificate.serialNumber.toUpperCase().replace(/^0+/, ''),
      validFrom: this.from,
      validUntil: notAfter,
      report: (extra = {}) => ({ validFrom: this.from, validUntil: notAfter, pem, ...extra }),
    };
    return issued;
  }
}

export async function aPki(kind: KeyKind = 'P-384'): Promise<TestPki> {
  const root = await createRootCa(
    'certfleet test root',
    { notBefore: '2026-01-01T00:00:00Z', notAfter: '2036-01-01T00:00:00Z' },
    kind,
  );
  const issuing = await createIssuingCa(
    root,
    'certfleet test issuing CA',
    { notBefore: '2026-01-01T00:00:00Z', notAfter: '2031-01-01T00:00:00Z' },
    kind,
  );
  const pki = { root, issuing };
  return {
    ...pki,
    trustBundlePem: toPem(root.certificate, issuing.certificate),
    leaf: (commonName: string) => new LeafBuilder(pki, commonName),
  };
}
