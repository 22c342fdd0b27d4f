// @peculiar/x509 needs reflect-metadata loaded before its first import (AZURE-FACTS.md,
// "Storage and libraries"); every file of the agent that uses it imports it from here.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

export { x509, webcrypto };

/** The CERTIFICATE blocks of a PEM text, armour included, in order. */
export function certificatePemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** A PEM CERTIFICATE block for base64 DER (as DPS's `issuedCertificateChain` holds them). */
export function certificatePemOfBase64Der(base64Der: string): string {
  return new x509.X509Certificate(Buffer.from(base64Der, 'base64')).toString('pem');
}
