import 'reflect-metadata'; // @peculiar/x509 needs it loaded before its first import (AZURE-FACTS.md)
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DAY_MS, isoUtc } from '../../domain/Clock';
import { createRootCa, generateKeys, toPem } from '../LocalCa';

/**
 * What a loopback TLS server (the stand-in device endpoint, the stand-in DPS) presents: a
 * certificate for `localhost` and `127.0.0.1`, issued by a local CA that clients trust through
 * `caPem`, as devices trust the public roots of `*.azure-devices.net` and
 * `global.azure-devices-provisioning.net`. Nothing here is used in Azure.
 */
export interface LoopbackTlsIdentity {
  /** The local root CA: what a client passes as `ca`. */
  caPem: string;
  /** The server's certificate, PEM. */
  certPem: string;
  /** The server's private key, PKCS#8 PEM; it never leaves the process. */
  keyPem: string;
}

/** The names a loopback client may dial: `localhost` or `127.0.0.1`. */
const LOOPBACK_NAMES: x509.JsonGeneralNames = [
  { type: 'dns', value: 'localhost' },
  { type: 'ip', value: '127.0.0.1' },
];

/**
 * Makes a fresh local root and a server certificate under it. Validity runs on the wall clock:
 * Node's TLS client checks the server's certificate against real time, whatever clock the
 * stand-ins keep for devices.
 */
export async function createLoopbackTlsIdentity(
  name = 'certfleet stand-in',
): Promise<LoopbackTlsIdentity> {
  // The wall clock on purpose, see above: a year either side covers any test or local run.
  const now = Date.now();
  const validity = { notBefore: isoUtc(now - 365 * DAY_MS), notAfter: isoUtc(now + 365 * DAY_MS) };
  const root = await createRootCa(`${name} TLS root`, validity, 'P-256');
  const keys = await generateKeys('P-256');
  const certificate = await x509.X509CertificateGenerator.create({
    subject: 'CN=localhost',
    issuer: root.certificate.subject,
    notBefore: new Date(validity.notBefore),
    notAfter: new Date(validity.notAfter),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as webcrypto.EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      // Node's checkServerIdentity reads the subject alternative names (an IP needs an IP entry).
      new x509.SubjectAlternativeNameExtension(LOOPBACK_NAMES),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    caPem: toPem(root.certificate),
    certPem: toPem(certificate),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}
