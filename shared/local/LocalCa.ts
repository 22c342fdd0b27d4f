import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;

/**
 * A local CA hierarchy (root -> issuing CA -> device leaves) that makes real certificates at
 * given dates: for the sample run, the fleet simulator and tests. Azure's certificate
 * management issues ECDSA P-384 with SHA-384; P-256 and RSA 2048 are here for fleets with
 * partner CAs. Nothing here is used when certfleet runs in Azure.
 */
export type KeyKind = 'P-384' | 'P-256' | 'RSA-2048';

export interface Issuer {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  kind: KeyKind;
}

const subtle = webcrypto.subtle;

export function keyAlgorithm(
  kind: KeyKind,
): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  if (kind === 'RSA-2048') {
    return {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    };
  }
  return { name: 'ECDSA', namedCurve: kind };
}

function signingAlgorithm(kind: KeyKind): Algorithm | EcdsaParams {
  if (kind === 'RSA-2048') return { name: 'RSASSA-PKCS1-v1_5' };
  return { name: 'ECDSA', hash: kind === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams;
}

export async function generateKeys(kind: KeyKind): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(keyAlgorithm(kind), true, ['sign', 'verify'])) as CryptoKeyPair;
}

export interface Validity {
  notBefore: Date | string;
  notAfter: Date | string;
}

export async function createRootCa(
  name: string,
  validity: Validity,
  kind: KeyKind = 'P-384',
): Promise<Issuer> {
  const keys = await generateKeys(kind);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(validity.notBefore),
    notAfter: new Date(validity.notAfter),
    keys,
    signingAlgorithm: signingAlgorithm(kind),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  return { certificate, keys, kind };
}

export async function createIssuingCa(
  parent: Issuer,
  name: string,
  validity: Validity,
  kind: KeyKind = 'P-384',
): Promise<Issuer> {
  const keys = await generateKeys(kind);
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: parent.certificate.subject,
    notBefore: new Date(validity.notBefore),
    notAfter: new Date(validity.notAfter),
    publicKey: keys.publicKey,
    signingKey: parent.keys.privateKey,
    signingAlgorithm: signingAlgorithm(parent.kind),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
    ],
  });
  return { certificate, keys, kind };
}

export interface LeafRequest extends Validity {
  commonName: string;
  publicKey: CryptoKey;
  serialNumber?: string;
}

/** Issues a device leaf (client authentication) for a public key, as DPS's issuing CA does. */
export async function issueLeaf(
  issuer: Issuer,
  request: LeafRequest,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    subject: `CN=${request.commonName}`,
    issuer: issuer.certificate.subject,
    notBefore: new Date(request.notBefore),
    notAfter: new Date(request.notAfter),
    publicKey: request.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.kind),
    ...(request.serialNumber ? { serialNumber: request.serialNumber } : {}),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
}

export function toPem(...certificates: x509.X509Certificate[]): string {
  return certificates.map((c) => c.toString('pem')).join('\n');
}

export async function thumbprint(
  certificate: x509.X509Certificate,
  algorithm: 'SHA-1' | 'SHA-256',
): Promise<string> {
  return Buffer.from(await certificate.getThumbprint(algorithm))
    .toString('hex')
    .toUpperCase();
}

/** PKCS#8 PEM of a private key: only for tests that prove such material is never stored. */
export async function privateKeyPem(keys: CryptoKeyPair): Promise<string> {
  const der = await subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}
