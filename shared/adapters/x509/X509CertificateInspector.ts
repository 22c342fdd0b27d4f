import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { isoUtc } from '../../domain/Clock';
import { ChainCa } from '../../domain/Certificate';
import { ChainVerdict, ParsedCertificate, PemInspection } from '../../domain/CertificateInspection';
import { CertificateInspector, TrustAnchor } from '../../app/ports';
import { readSerialAndValidity } from './readSerialAndValidity';

// Node's WebCrypto; the library's type for it is the DOM's Crypto.
x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
/** A device chain is leaf + issuing CA (+ intermediates); more than this is not a certificate report. */
const MAX_CERTIFICATES = 8;

/**
 * Reads a reported certificate with @peculiar/x509: the leaf's identity (thumbprints, serial,
 * names, validity, key) and whether leaf + reported chain verify up to the trust bundle. The
 * chain is what follows the leaf in `pem` (older devices) and the strings of the report's
 * `chain`, each a PEM or base64 DER (DPS's `issuedCertificateChain`, which starts with the leaf
 * again: a copy of the leaf is not counted as its chain).
 *
 * X509ChainBuilder links issuers but checks neither dates nor anchors (AZURE-FACTS.md), so
 * each link's signature, the issuers' validity and CA flag, and the anchor are checked here.
 */
export class X509CertificateInspector implements CertificateInspector {
  private readonly bundle: x509.X509Certificate[];

  /**
   * @param trustBundlePem the trust bundle: PEM roots and issuing CAs. Every certificate in it
   * is a trust anchor, so pinning an issuing CA alone works too.
   */
  constructor(trustBundlePem: string | undefined) {
    this.bundle = trustBundlePem ? parseCertificates(trustBundlePem) : [];
  }

  get hasTrustBundle(): boolean {
    return this.bundle.length > 0;
  }

  /**
   * The trust bundle's CAs, by subject and expiry (for the daily fleet-risk review), with their
   * SHA-256 thumbprint (the fleet audit tells by it a bundle CA that devices also send).
   */
  trustAnchors(): (TrustAnchor & { thumbprintSha256: string })[] {
    return this.bundle.map((c) => ({
      subject: c.subject,
      validUntil: c.notAfter.toISOString(),
      thumbprintSha256: sha256Of(c),
    }));
  }

  async inspect(pem: string, at: Date, chain: readonly string[] = []): Promise<PemInspection> {
    let certificates: x509.X509Certificate[];
    try {
      certificates = parseCertificates(pem);
    } catch (error) {
      return {
        ok: false,
        reason: `not a parseable X.509 certificate (${(error as Error).message})`,
      };
    }
    if (certificates.length === 0) return { ok: false, reason: 'no CERTIFICATE block' };
    const count = certificates.length + chain.length;
    if (count > MAX_CERTIFICATES) {
      return { ok: false, reason: `${count} certificates, more than ${MAX_CERTIFICATES}` };
    }
    for (const [i, entry] of chain.entries()) {
      const certificate = chainCertificate(entry);
      if (!certificate.ok) {
        return { ok: false, reason: `chain[${i}] is not a certificate (${certificate.reason})` };
      }
      certificates.push(certificate.value);
    }
    const [leaf, ...rest] = certificates as [x509.X509Certificate, ...x509.X509Certificate[]];
    const leafDer = Buffer.from(leaf.rawData);
    const issuers = rest.filter((c) => !Buffer.from(c.rawData).equals(leafDer));
    try {
      const parsed = await describe(leaf, issuers.length);
      parsed.chainCas = chainCas(issuers);
      return { ok: true, leaf: parsed, chain: await this.verifyChain(leaf, issuers, at) };
    } catch (error) {
      return { ok: false, reason: `certificate could not be read (${(error as Error).message})` };
    }
  }

  /**
   * Walks from the leaf up: each step finds an issuer (the bundle first, then the certificates
   * the device sent) whose key verifies the signature, which is a CA and valid at `at`. The
   * walk ends trusted at the first issuer that is in the bundle.
   */
  private async verifyChain(
    leaf: x509.X509Certificate,
    reportedChain: x509.X509Certificate[],
    at: Date,
  ): Promise<ChainVerdict> {
    if (!this.hasTrustBundle) return { status: 'not-checked' };
    let current = leaf;
    for (let depth = 0; depth <= MAX_CERTIFICATES; depth += 1) {
      if (depth > 0 && this.inBundle(current))
        return { status: 'trusted', anchor: current.subject };
      if (current.subject === current.issuer && (await signedBy(current, current))) {
        return {
          status: 'untrusted',
          reason: `self-signed "${current.subject}" is not in the trust bundle`,
        };
      }
      const issuer = await this.findIssuer(current, reportedChain, at);
      if (!issuer) {
        return {
          status: 'untrusted',
          reason: `no known issuer "${current.issuer}" verifies "${current.subject}"`,
        };
      }
      if (!isCa(issuer))
        return { status: 'untrusted', reason: `issuer "${issuer.subject}" is not a CA` };
      if (!validAt(issuer, at)) {
        return {
          status: 'untrusted',
          reason: `issuing CA "${issuer.subject}" is not valid at ${isoUtc(at)}`,
        };
      }
      current = issuer;
    }
    return { status: 'untrusted', reason: 'chain is longer than allowed' };
  }

  /**
   * A CA certificate renewed over the same key verifies the same certificates as its expired
   * copy, and both may sit in the bundle or the chain during a change-over: prefer a copy that
   * is a CA valid at `at`, else the first that verifies (so the verdict can say what is wrong).
   */
  private async findIssuer(
    cert: x509.X509Certificate,
    reportedChain: x509.X509Certificate[],
    at: Date,
  ): Promise<x509.X509Certificate | undefined> {
    let firstVerifying: x509.X509Certificate | undefined;
    for (const candidate of [...this.bundle, ...reportedChain]) {
      if (candidate.subject !== cert.issuer || !(await signedBy(cert, candidate))) continue;
      if (isCa(candidate) && validAt(candidate, at)) return candidate;
      firstVerifying ??= candidate;
    }
    return firstVerifying;
  }

  private inBundle(cert: x509.X509Certificate): boolean {
    const raw = Buffer.from(cert.rawData);
    return this.bundle.some((b) => Buffer.from(b.rawData).equals(raw));
  }
}

function parseCertificates(pem: string): x509.X509Certificate[] {
  const blocks = pem.match(CERTIFICATE_BLOCK) ?? [];
  return blocks.slice(0, MAX_CERTIFICATES + 1).map((block) => new x509.X509Certificate(block));
}

/** One string of a reported chain: a PEM block, or base64 DER (lines and spaces allowed). */
function chainCertificate(
  entry: string,
): { ok: true; value: x509.X509Certificate } | { ok: false; reason: string } {
  try {
    if (entry.includes('-----BEGIN')) {
      const blocks = entry.match(CERTIFICATE_BLOCK) ?? [];
      if (blocks.length !== 1) return { ok: false, reason: 'one CERTIFICATE block expected' };
      return { ok: true, value: new x509.X509Certificate(blocks[0]!) };
    }
    const base64 = entry.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return { ok: false, reason: 'not base64 DER' };
    return { ok: true, value: new x509.X509Certificate(Buffer.from(base64, 'base64')) };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/**
 * The CA certificates of a reported chain, each once, for the fleet audit's CA-expiry check. A
 * certificate that is not a CA is left out (the chain verdict already names it), and so is one
 * whose validity cannot be read: the chain verdict judges it, and an unreadable CA must not
 * make the leaf's facts unreadable too.
 */
function chainCas(issuers: readonly x509.X509Certificate[]): ChainCa[] {
  const cas: ChainCa[] = [];
  for (const cert of issuers) {
    let notAfter: Date;
    try {
      if (!isCa(cert)) continue;
      notAfter = readSerialAndValidity(new Uint8Array(cert.rawData)).notAfter;
    } catch {
      continue;
    }
    const thumbprintSha256 = sha256Of(cert);
    if (cas.some((ca) => ca.thumbprintSha256 === thumbprintSha256)) continue;
    cas.push({
      subject: cert.subject,
      issuer: cert.issuer,
      validUntil: isoUtc(notAfter),
      thumbprintSha256,
    });
  }
  return cas;
}

async function describe(
  cert: x509.X509Certificate,
  chainLength: number,
): Promise<ParsedCertificate> {
  const key = describeKey(cert.publicKey.algorithm as KeyAlgorithmDescription);
  const { serialNumber, notBefore, notAfter } = readSerialAndValidity(new Uint8Array(cert.rawData));
  const cn = cert.subjectName.getField('CN');
  const parsed: ParsedCertificate = {
    thumbprintSha1: hex(await cert.getThumbprint('SHA-1')),
    thumbprintSha256: hex(await cert.getThumbprint('SHA-256')),
    serialNumber,
    subject: cert.subject,
    issuer: cert.issuer,
    validFrom: isoUtc(notBefore),
    validUntil: isoUtc(notAfter),
    keyAlgorithm: key.name,
    publicKeySha256: createHash('sha256')
      .update(Buffer.from(cert.publicKey.rawData))
      .digest('hex')
      .toUpperCase(),
    signatureAlgorithm: describeSignature(cert.signatureAlgorithm as KeyAlgorithmDescription),
    chainLength,
  };
  if (cn.length === 1) parsed.commonName = cn[0];
  if (key.size !== undefined) parsed.keySize = key.size;
  return parsed;
}

interface KeyAlgorithmDescription {
  name: string;
  namedCurve?: string;
  modulusLength?: number;
  hash?: { name: string } | string;
}

function describeKey(alg: KeyAlgorithmDescription): { name: string; size?: number } {
  if (alg.name === 'ECDSA' || alg.name === 'ECDH') {
    const size = alg.namedCurve ? Number(alg.namedCurve.replace(/^P-/, '')) : undefined;
    return { name: `ECDSA ${alg.namedCurve ?? 'unknown curve'}`, ...(size ? { size } : {}) };
  }
  if (alg.name.startsWith('RSA')) {
    return {
      name: `RSA ${alg.modulusLength ?? ''}`.trim(),
      ...(alg.modulusLength ? { size: alg.modulusLength } : {}),
    };
  }
  return { name: alg.name };
}

function describeSignature(alg: KeyAlgorithmDescription): string {
  const hash = typeof alg.hash === 'string' ? alg.hash : alg.hash?.name;
  return hash ? `${alg.name} with ${hash}` : alg.name;
}

async function signedBy(
  cert: x509.X509Certificate,
  issuer: x509.X509Certificate,
): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function validAt(cert: x509.X509Certificate, at: Date): boolean {
  let validity: { notBefore: Date; notAfter: Date };
  try {
    validity = readSerialAndValidity(new Uint8Array(cert.rawData));
  } catch {
    return false; // a CA whose validity cannot be read is valid at no time
  }
  return (
    validity.notBefore.getTime() <= at.getTime() && at.getTime() <= validity.notAfter.getTime()
  );
}

function isCa(cert: x509.X509Certificate): boolean {
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  return constraints?.ca === true;
}

/** The SHA-256 thumbprint (of the DER), as `getThumbprint` gives it but synchronously. */
function sha256Of(cert: x509.X509Certificate): string {
  return createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex').toUpperCase();
}

function hex(buffer: ArrayBuffer): string {
  return Buffer.from(buffer).toString('hex').toUpperCase();
}
