import { x509 } from '../../../shared/agent/x509';
import { createRootCa, generateKeys, privateKeyPem } from '../../../shared/local/LocalCa';

/**
 * A TLS server identity for `localhost` and 127.0.0.1 from a throwaway root, and that root's
 * PEM for the client to trust: what a stand-in on a loopback port presents.
 */
export async function loopbackServerIdentity(): Promise<{
  keyPem: string;
  certificatePem: string;
  caPem: string;
}> {
  const root = await createRootCa('Loopback Test Root', {
    notBefore: '2020-01-01T00:00:00Z',
    notAfter: '2040-01-01T00:00:00Z',
  });
  const keys = await generateKeys('P-256');
  const certificate = await x509.X509CertificateGenerator.create({
    subject: 'CN=localhost',
    issuer: root.certificate.subject,
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2040-01-01T00:00:00Z'),
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } as EcdsaParamsLike,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
      ]),
    ],
  });
  return {
    keyPem: await privateKeyPem(keys),
    certificatePem: certificate.toString('pem'),
    caPem: root.certificate.toString('pem'),
  };
}

type EcdsaParamsLike = { name: string; hash: string };
