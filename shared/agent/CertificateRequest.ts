import { webcrypto, x509 } from './x509';

/**
 * A fresh key pair and the PKCS#10 request DPS signs. Azure's certificate management issues
 * ECDSA P-384 with SHA-384 only, and requires the CSR's CN to be exactly the registration id,
 * as base64 DER without PEM armour (Learn, "Device certificate issuance in Azure IoT Hub
 * certificate management", CSR requirements).
 *
 * The private key leaves this object only as `privateKeyPem`, which the credential store writes
 * to a 0600 file; it is never logged, reported or sent.
 */
export interface CertificateRequest {
  /** Base64 DER PKCS#10, no PEM armour: the `csr` of the DPS registration body. */
  csr: string;
  /** SubjectPublicKeyInfo DER of the new key: the issued certificate must carry this key. */
  publicKeySpki: Buffer;
  /** PKCS#8 PEM of the new private key. */
  privateKeyPem: string;
}

const P384: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-384' };
const SHA384_SIGNATURE = { name: 'ECDSA', hash: 'SHA-384' } as webcrypto.EcdsaParams;

export async function createCertificateRequest(
  registrationId: string,
): Promise<CertificateRequest> {
  const keys = (await webcrypto.subtle.generateKey(P384, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    // A JSON name, not `CN=${registrationId}`: nothing in the id is read as DN syntax.
    name: [{ CN: [registrationId] }],
    keys,
    signingAlgorithm: SHA384_SIGNATURE,
  });
  const [spki, pkcs8] = await Promise.all([
    webcrypto.subtle.exportKey('spki', keys.publicKey),
    webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
  ]);
  return {
    csr: Buffer.from(request.rawData).toString('base64'),
    publicKeySpki: Buffer.from(spki),
    privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}
