import { ChainCa } from './Certificate';

export interface ParsedCertificate {
  thumbprintSha1: string;
  thumbprintSha256: string;
  serialNumber: string;
  subject: string;
  issuer: string;
  commonName?: string;
  validFrom: string;
  validUntil: string;
  keyAlgorithm: string;
  keySize?: number;
  publicKeySha256: string;
  signatureAlgorithm: string;
  /** Certificates after the leaf in the reported PEM. */
  chainLength: number;
  /**
   * The CA certificates among them (basic constraints cA), each once, in the order sent.
   * Optional: inspections a record remembered before certfleet read them have none.
   */
  chainCas?: ChainCa[];
}

export type ChainVerdict =
  | { status: 'trusted'; anchor: string }
  | { status: 'untrusted'; reason: string }
  /** No trust bundle is configured, so the chain was not checked. */
  | { status: 'not-checked' };

/**
 * What parsing a reported PEM proved. Produced by the x509 adapter (shared/adapters/x509), read
 * by the domain: the domain never parses ASN.1 itself.
 */
export type PemInspection =
  { ok: true; leaf: ParsedCertificate; chain: ChainVerdict } | { ok: false; reason: string };
