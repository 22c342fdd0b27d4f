import { credentialOf, DeviceCredential } from '../../shared/agent/DeviceCredential';
import {
  certificateReport,
  checkReportedStrings,
  KeyMaterialInReport,
  renewalProgressReport,
  TWIN_STRING_LIMIT_BYTES,
  TwinStringTooLong,
} from '../../shared/agent/TwinReport';
import { x509 } from '../../shared/agent/x509';
import { generateKeys, issueLeaf, privateKeyPem } from '../../shared/local/LocalCa';
import { base64Der, operationalCa, thumbprintOf } from './support/agentPki';

describe("the agent's twin report (docs/device-contract.md)", () => {
  let credential: DeviceCredential;
  let leaf: x509.X509Certificate;
  let issuingDer: string;

  beforeAll(async () => {
    const { issuing } = await operationalCa();
    const keys = await generateKeys('P-384');
    leaf = await issueLeaf(issuing, {
      commonName: 'thermostat-0001',
      publicKey: keys.publicKey,
      notBefore: '2026-11-01T00:00:00Z',
      notAfter: '2026-12-01T00:00:00Z',
      serialNumber: '0a1b2c',
    });
    issuingDer = base64Der(issuing.certificate);
    credential = await credentialOf({
      id: 'c1',
      privateKeyPem: await privateKeyPem(keys),
      issuedChain: [base64Der(leaf), issuingDer],
      assignedHub: 'contoso-hub.azure-devices.net',
      deviceId: 'thermostat-0001',
    });
  });

  it('reports the certificate under `certificate` with every field of the contract', async () => {
    const { certificate } = certificateReport(credential, 'thermostat-0001');
    expect(certificate).toEqual({
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: '2026-12-01T00:00:00.000Z',
      thumbprint: await thumbprintOf(leaf),
      serialNumber: '0A1B2C',
      issuer: 'CN=Agent Test Issuing CA',
      subject: 'CN=thermostat-0001',
      registrationId: 'thermostat-0001',
      pem: expect.stringMatching(
        /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----$/,
      ),
      chain: [issuingDer],
      renewal: null,
    });
  });

  it('puts the leaf alone in `pem`, and the rest of the chain, as DPS issued it, in `chain`', () => {
    const { certificate } = certificateReport(credential, 'thermostat-0001');
    const pem = certificate['pem'] as string;
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(new x509.X509Certificate(pem).equal(leaf)).toBe(true);
    expect(certificate['chain']).toEqual([issuingDer]);
  });

  it('removes `chain` with null when DPS issued the leaf alone', () => {
    const alone = { ...credential, issuedChain: [base64Der(leaf)] };
    expect(certificateReport(alone, 'thermostat-0001').certificate['chain']).toBeNull();
  });

  it('removes with null what the twin holds under `certificate` beyond the contract', () => {
    const previous = {
      validFrom: '2026-10-01T00:00:00.000Z',
      expiresOn: '2026-11-01',
      firmwareCertSlot: 2,
      $metadata: {},
    };
    const { certificate } = certificateReport(credential, 'thermostat-0001', { previous });
    expect(certificate['expiresOn']).toBeNull();
    expect(certificate['firmwareCertSlot']).toBeNull();
    expect(certificate).not.toHaveProperty('$metadata');
    expect(certificate['validFrom']).toBe('2026-11-01T00:00:00.000Z');
  });

  it('keeps a renewal under way in the report when asked to', () => {
    const renewal = { status: 'renewing' as const, reason: 'due', at: '2026-11-25T00:00:00.000Z' };
    const { certificate } = certificateReport(credential, 'thermostat-0001', { renewal });
    expect(certificate['renewal']).toEqual(renewal);
  });

  it('refuses, before sending, a chain string IoT Hub would reject for being over 4 KB', () => {
    const huge = 'A'.repeat(TWIN_STRING_LIMIT_BYTES + 4);
    const tooLong = { ...credential, issuedChain: [base64Der(leaf), issuingDer, huge] };
    expect(() => certificateReport(tooLong, 'thermostat-0001')).toThrow(TwinStringTooLong);
    try {
      certificateReport(tooLong, 'thermostat-0001');
    } catch (error) {
      expect((error as TwinStringTooLong).field).toBe('certificate.chain[1]');
      expect((error as TwinStringTooLong).bytes).toBe(TWIN_STRING_LIMIT_BYTES + 4);
    }
  });

  it('lets a string of exactly 4096 bytes through, and counts bytes, not characters', () => {
    expect(() => checkReportedStrings({ s: 'A'.repeat(4096) })).not.toThrow();
    // 2,049 two-byte characters: 4,098 bytes.
    expect(() => checkReportedStrings({ s: 'é'.repeat(2049) })).toThrow(TwinStringTooLong);
  });

  it('refuses to send anything that looks like a private key', () => {
    expect(() =>
      checkReportedStrings({ certificate: { pem: '-----BEGIN PRIVATE KEY-----\nMIG…' } }),
    ).toThrow(KeyMaterialInReport);
    expect(() => checkReportedStrings({ certificate: { privateKey: 'x' } })).toThrow(
      KeyMaterialInReport,
    );
    const report = JSON.stringify(certificateReport(credential, 'thermostat-0001'));
    expect(report).not.toContain(credential.privateKeyPem.split('\n')[1]!);
  });

  it('reports renewal progress alone, and removes it with null', () => {
    const progress = {
      status: 'failed' as const,
      requestId: 'r-1',
      reason: 'due',
      at: '2026-11-25T00:00:00.000Z',
      error: 'DPS answered 503',
      nextAttemptAt: '2026-11-25T00:01:00.000Z',
    };
    expect(renewalProgressReport(progress)).toEqual({ certificate: { renewal: progress } });
    expect(renewalProgressReport(null)).toEqual({ certificate: { renewal: null } });
  });
});
