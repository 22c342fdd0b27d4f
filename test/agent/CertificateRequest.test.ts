import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createCertificateRequest } from '../../shared/agent/CertificateRequest';
import { x509 } from '../../shared/agent/x509';

// Azure's certificate management: base64 DER PKCS#10 without PEM armour, CN = registration id,
// an EC key on NIST P-384, signed with SHA-384 (Learn, "Device certificate issuance in Azure
// IoT Hub certificate management").
describe('the CSR the agent sends DPS', () => {
  const registrationId = 'thermostat-0001';
  let request: Awaited<ReturnType<typeof createCertificateRequest>>;
  let csr: x509.Pkcs10CertificateRequest;

  beforeAll(async () => {
    request = await createCertificateRequest(registrationId);
    csr = new x509.Pkcs10CertificateRequest(Buffer.from(request.csr, 'base64'));
  });

  it('is base64 DER with no PEM armour and no line breaks', () => {
    expect(request.csr).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(request.csr, 'base64').toString('base64')).toBe(request.csr);
  });

  it('names the registration id as its only subject attribute, the CN', () => {
    expect(csr.subject).toBe(`CN=${registrationId}`);
  });

  it('carries an ECDSA P-384 public key', () => {
    const key = csr.publicKey.algorithm as { name: string; namedCurve?: string };
    expect(key.name).toBe('ECDSA');
    expect(key.namedCurve).toBe('P-384');
  });

  it('is signed with ECDSA and SHA-384, and the signature verifies', async () => {
    const signature = csr.signatureAlgorithm as { name: string; hash: { name: string } };
    expect(signature.name).toBe('ECDSA');
    expect(signature.hash.name).toBe('SHA-384');
    expect(await csr.verify()).toBe(true);
  });

  it('is for the key whose private half the agent keeps', () => {
    const fromPrivate = createPublicKey(createPrivateKey(request.privateKeyPem)).export({
      type: 'spki',
      format: 'der',
    });
    expect(Buffer.from(csr.publicKey.rawData).equals(fromPrivate)).toBe(true);
    expect(request.publicKeySpki.equals(fromPrivate)).toBe(true);
  });

  it('holds nothing of the private key', () => {
    const jwk = createPrivateKey(request.privateKeyPem).export({ format: 'jwk' });
    const scalar = Buffer.from(jwk.d!, 'base64url');
    expect(scalar).toHaveLength(48);
    expect(Buffer.from(request.csr, 'base64').includes(scalar)).toBe(false);
  });

  it('uses a fresh key pair every time', async () => {
    const again = await createCertificateRequest(registrationId);
    expect(again.publicKeySpki.equals(request.publicKeySpki)).toBe(false);
  });
});
