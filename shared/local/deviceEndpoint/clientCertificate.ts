import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import { createHash, webcrypto } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto; the library's type for it is the DOM's Crypto.
x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

/** A TLS client's certificate as it presented it: the leaf, then what it sent with it. */
export interface PresentedCertificate {
  leaf: Buffer;
  /** The other certificates the client sent (intermediates), DER, in no promised order. */
  chain: Buffer[];
}

/** What a stand-in accepts as proof of identity for one device or registration. */
export interface AcceptedCredentials {
  /** Hex SHA-1 or SHA-256 thumbprints (any case, colons allowed) of accepted leaves. */
  thumbprints?: readonly string[];
  /** CA certificates (roots or intermediates) a leaf may chain to, PEM or DER. */
  cas?: readonly x509.X509Certificate[];
}

export type ClientCertificateVerdict =
  | { ok: true; via: 'thumbprint' | 'ca'; thumbprintSha256: string; commonName?: string }
  | { ok: false; reason: string };

export interface ClientCertificateCheck {
  presented: PresentedCertificate | undefined;
  accept: AcceptedCredentials;
  /** The time validity is checked at: the stand-in's clock, not necessarily the wall clock. */
  at: Date;
  /**
   * The CN the leaf must carry when it is accepted through a CA (IoT Hub: "the subject name
   * must be set to the device ID"), or always when `commonNameAlways` is set (DPS: the CN is
   * the registration id, whatever the attestation).
   */
  commonName?: string;
  commonNameAlways?: boolean;
  /** Registration ids are case-insensitive; device ids are not. */
  commonNameCaseInsensitive?: boolean;
}

/** How many certificates above the leaf a chain may have before it is refused. */
const MAX_CHAIN_DEPTH = 8;

/**
 * The client certificate a TLS socket received, leaf first. The server runs with
 * `rejectUnauthorized: false`, so Node's TLS has checked nothing: every check is made here,
 * at the stand-in's clock.
 */
export function presentedCertificateOf(socket: TLSSocket): PresentedCertificate | undefined {
  const leaf = socket.getPeerCertificate(true);
  if (!leaf || !leaf.raw) return undefined;
  const chain: Buffer[] = [];
  const seen = new Set<string>([leaf.fingerprint256]);
  let next: DetailedPeerCertificate | undefined = leaf.issuerCertificate;
  while (next?.raw && !seen.has(next.fingerprint256)) {
    seen.add(next.fingerprint256);
    chain.push(next.raw);
    next = next.issuerCertificate;
  }
  return { leaf: leaf.raw, chain };
}

export function thumbprintOf(der: Uint8Array, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(der).digest('hex').toUpperCase();
}

/** Hex, upper case, without separators: how thumbprints are compared. */
export function normalizeThumbprint(thumbprint: string): string {
  return thumbprint.replace(/[:\s]/g, '').toUpperCase();
}

export function parseCertificatePem(pem: string): x509.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new x509.X509Certificate(block));
}

/**
 * Whether a client certificate proves the identity, checked in order: a certificate is
 * presented and parses; it is valid at `at` (IoT Hub and DPS refuse expired and not-yet-valid
 * certificates); its thumbprint is accepted, or it chains through valid CA certificates, each
 * signature verified, to an accepted CA, and then carries the expected CN.
 */
export async function checkClientCertificate(
  check: ClientCertificateCheck,
): Promise<ClientCertificateVerdict> {
  const { presented, accept, at } = check;
  if (!presented) return { ok: false, reason: 'no client certificate was presented' };
  let leaf: x509.X509Certificate;
  try {
    leaf = new x509.X509Certificate(presented.leaf);
  } catch {
    return { ok: false, reason: 'the client certificate cannot be parsed' };
  }
  const dated = validityProblem(leaf, at, 'the client certificate');
  if (dated) return { ok: false, reason: dated };

  const commonName = leaf.subjectName.getField('CN')[0];
  const thumbprintSha256 = thumbprintOf(presented.leaf, 'sha256');
  const cnProblem = () => {
    if (check.commonName === undefined) return undefined;
    const expected = check.commonName;
    const same = check.commonNameCaseInsensitive
      ? commonName?.toLowerCase() === expected.toLowerCase()
      : commonName === expected;
    return same ? undefined : `the certificate's CN "${commonName ?? ''}" is not "${expected}"`;
  };
  if (check.commonNameAlways) {
    const problem = cnProblem();
    if (problem) return { ok: false, reason: problem };
  }

  const accepted = new Set((accept.thumbprints ?? []).map(normalizeThumbprint));
  if (accepted.has(thumbprintSha256) || accepted.has(thumbprintOf(presented.leaf, 'sha1'))) {
    return { ok: true, via: 'thumbprint', thumbprintSha256, ...(commonName ? { commonName } : {}) };
  }
  const cas = accept.cas ?? [];
  if (accepted.size > 0 && cas.length === 0) {
    return { ok: false, reason: 'the certificate thumbprint is not registered' };
  }
  const chained = await chainProblem(leaf, presented.chain, cas, at);
  if (chained) return { ok: false, reason: chained };
  const problem = cnProblem();
  if (problem) return { ok: false, reason: problem };
  return { ok: true, via: 'ca', thumbprintSha256, ...(commonName ? { commonName } : {}) };
}

/** Why the leaf does not chain to one of the CAs at `at`; undefined when it does. */
async function chainProblem(
  leaf: x509.X509Certificate,
  sent: readonly Buffer[],
  cas: readonly x509.X509Certificate[],
  at: Date,
): Promise<string | undefined> {
  const intermediates: x509.X509Certificate[] = [];
  for (const der of sent) {
    try {
      intermediates.push(new x509.X509Certificate(der));
    } catch {
      return 'a certificate of the presented chain cannot be parsed';
    }
  }
  let current = leaf;
  for (let depth = 0; depth <= MAX_CHAIN_DEPTH; depth += 1) {
    const anchor = await issuerAmong(current, cas);
    if (anchor) {
      return validityProblem(anchor, at, `the CA "${anchor.subject}"`) ?? caProblem(anchor);
    }
    const next = await issuerAmong(current, intermediates);
    if (!next || next.equal(current)) {
      return 'the certificate does not chain to a registered CA';
    }
    const problem = validityProblem(next, at, `the CA "${next.subject}"`) ?? caProblem(next);
    if (problem) return problem;
    current = next;
  }
  return 'the presented chain is too long';
}

/** The certificate among `candidates` whose name and key issued `certificate`. */
async function issuerAmong(
  certificate: x509.X509Certificate,
  candidates: readonly x509.X509Certificate[],
): Promise<x509.X509Certificate | undefined> {
  for (const candidate of candidates) {
    if (candidate.subject !== certificate.issuer) continue;
    try {
      if (await certificate.verify({ publicKey: candidate, signatureOnly: true })) return candidate;
    } catch {
      // A key of another kind cannot have signed it: try the next candidate.
    }
  }
  return undefined;
}

function validityProblem(
  certificate: x509.X509Certificate,
  at: Date,
  what: string,
): string | undefined {
  if (at.getTime() < certificate.notBefore.getTime()) {
    return `${what} is not valid before ${certificate.notBefore.toISOString()}`;
  }
  if (at.getTime() > certificate.notAfter.getTime()) {
    return `${what} expired at ${certificate.notAfter.toISOString()}`;
  }
  return undefined;
}

function caProblem(certificate: x509.X509Certificate): string | undefined {
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  return constraints?.ca ? undefined : `"${certificate.subject}" is not a CA certificate`;
}
