import { createPrivateKey, createPublicKey } from 'node:crypto';
import { CertificateSummary, summarizeCertificate } from './CertificateSummary';
import { x509 } from './x509';

/**
 * An operational credential the agent holds: its private key and the chain DPS issued with it,
 * and where DPS assigned the device. The key is here only to be handed to TLS; nothing prints,
 * reports or sends it.
 */
export interface DeviceCredential {
  /** The name of its folder in the state directory. */
  id: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** The chain as DPS issued it (`issuedCertificateChain`): base64 DER, leaf first. */
  issuedChain: string[];
  /** The same chain as PEM, leaf first: the `cert` TLS presents. */
  certificateChainPem: string;
  leaf: CertificateSummary;
  /** The IoT hub DPS assigned the device to (`registrationState.assignedHub`). */
  assignedHub: string;
  /** The device id DPS gave it in that hub (`registrationState.deviceId`). */
  deviceId: string;
}

/** What TLS client authentication needs: the chain (leaf first) and its key, both PEM. */
export interface TlsClientCredential {
  certificateChainPem: string;
  privateKeyPem: string;
}

export class CredentialMismatch extends Error {
  readonly code = 'credential-mismatch';
}

/** The chain parsed from base64 DER, leaf first; throws on anything that is not a certificate. */
export function parseIssuedChain(issuedChain: readonly string[]): x509.X509Certificate[] {
  if (issuedChain.length === 0) throw new CredentialMismatch('the certificate chain is empty');
  return issuedChain.map((der, i) => {
    try {
      return new x509.X509Certificate(Buffer.from(der, 'base64'));
    } catch {
      throw new CredentialMismatch(`certificate ${i} of the chain is not a DER certificate`);
    }
  });
}

/** SubjectPublicKeyInfo DER of a private key's public half. */
export function publicKeyOf(privateKeyPem: string): Buffer {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'der' });
}

/** Whether a certificate carries the public key of `publicKeySpki`. */
export function certifiesKey(leaf: x509.X509Certificate, publicKeySpki: Buffer): boolean {
  return Buffer.from(leaf.publicKey.rawData).equals(publicKeySpki);
}

/** A credential from its parts, checked: the leaf must carry the key's public half. */
export async function credentialOf(parts: Omit<DeviceCredential, 'certificateChainPem' | 'leaf'>) {
  const chain = parseIssuedChain(parts.issuedChain);
  if (!certifiesKey(chain[0]!, publicKeyOf(parts.privateKeyPem))) {
    throw new CredentialMismatch(`credential ${parts.id}: the certificate is not for its key`);
  }
  const credential: DeviceCredential = {
    ...parts,
    certificateChainPem: chain.map((c) => c.toString('pem')).join('\n') + '\n',
    leaf: await summarizeCertificate(chain[0]!),
  };
  return credential;
}

export function hasExpired(credential: { leaf: CertificateSummary }, now: Date): boolean {
  return now.getTime() >= credential.leaf.validUntil.getTime();
}
