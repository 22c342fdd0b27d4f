import { x509 } from '../../../shared/agent/x509';
import { TlsClientCredential } from '../../../shared/agent/DeviceCredential';
import {
  createIssuingCa,
  createRootCa,
  generateKeys,
  Issuer,
  issueLeaf,
  privateKeyPem,
  toPem,
} from '../../../shared/local/LocalCa';

const LONG_AGO = '2020-01-01T00:00:00Z';
const FAR_AHEAD = '2040-01-01T00:00:00Z';

/** An operational CA (root and issuing CA, as Azure's certificate management has). */
export async function operationalCa(): Promise<{ root: Issuer; issuing: Issuer }> {
  const root = await createRootCa('Agent Test Root', { notBefore: LONG_AGO, notAfter: FAR_AHEAD });
  const issuing = await createIssuingCa(root, 'Agent Test Issuing CA', {
    notBefore: LONG_AGO,
    notAfter: FAR_AHEAD,
  });
  return { root, issuing };
}

/** The factory credential: a long-lived certificate from another CA, CN = registration id. */
export async function onboardingCredential(
  registrationId: string,
): Promise<TlsClientCredential & { thumbprint: string }> {
  const ca = await createRootCa('Factory Onboarding CA', {
    notBefore: LONG_AGO,
    notAfter: FAR_AHEAD,
  });
  const keys = await generateKeys('P-256');
  const leaf = await issueLeaf(ca, {
    commonName: registrationId,
    publicKey: keys.publicKey,
    notBefore: LONG_AGO,
    notAfter: FAR_AHEAD,
  });
  return {
    certificateChainPem: toPem(leaf, ca.certificate),
    privateKeyPem: await privateKeyPem(keys),
    thumbprint: await thumbprintOf(leaf),
  };
}

export async function thumbprintOf(certificate: x509.X509Certificate): Promise<string> {
  return Buffer.from(await certificate.getThumbprint('SHA-256'))
    .toString('hex')
    .toUpperCase();
}

/** The SHA-256 thumbprint of the first certificate of a PEM chain. */
export async function leafThumbprint(chainPem: string): Promise<string> {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(chainPem);
  return thumbprintOf(new x509.X509Certificate(first![0]));
}

export function base64Der(certificate: x509.X509Certificate): string {
  return Buffer.from(certificate.rawData).toString('base64');
}
