import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { DAY_MS, ManualClock } from '../../../shared/domain/Clock';
import { KeyKind, generateKeys } from '../../../shared/local/LocalCa';
import { DpsRegistrationResult, StandInDps } from '../../../shared/simulation/fleet/StandInDps';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const NOW = '2026-11-01T10:00:00.000Z';

/** A CSR as a device sends it to DPS: base64 DER PKCS#10, no PEM armour. */
async function csr(
  commonName: string,
  options: { kind?: KeyKind; hash?: string; keys?: CryptoKeyPair; signWith?: CryptoKeyPair } = {},
): Promise<{ csr: string; keys: CryptoKeyPair }> {
  const kind = options.kind ?? 'P-384';
  const keys = options.keys ?? (await generateKeys(kind));
  const signingAlgorithm =
    kind === 'RSA-2048'
      ? { name: 'RSASSA-PKCS1-v1_5' }
      : ({ name: 'ECDSA', hash: options.hash ?? 'SHA-384' } as webcrypto.EcdsaParams);
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`,
    keys: options.signWith
      ? { publicKey: keys.publicKey, privateKey: options.signWith.privateKey }
      : keys,
    signingAlgorithm,
  });
  return { csr: Buffer.from(request.rawData).toString('base64'), keys };
}

function failure(result: DpsRegistrationResult) {
  if (result.status !== 'failed') throw new Error('expected the registration to fail');
  return result;
}

function chainOf(result: DpsRegistrationResult): x509.X509Certificate[] {
  if (result.status !== 'assigned') throw new Error(`not assigned: ${JSON.stringify(result)}`);
  return result.issuedCertificateChain.map(
    (der) => new x509.X509Certificate(Buffer.from(der, 'base64')),
  );
}

let clock: ManualClock;
let dps: StandInDps;

beforeAll(async () => {
  clock = new ManualClock(NOW);
  dps = await StandInDps.create({ clock, leafValidityDays: 14 });
});

describe('the stand-in DPS, registering with a CSR', () => {
  it('issues a P-384 / SHA-384 leaf for the CSR key, leaf first, that chains to its root', async () => {
    const { csr: request, keys } = await csr('thermostat-0001');
    const [leaf, issuing] = chainOf(await dps.register('thermostat-0001', request));

    expect(leaf!.subjectName.getField('CN')).toEqual(['thermostat-0001']);
    expect(leaf!.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-384' });
    expect(leaf!.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-384' } });
    const spki = Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    expect(Buffer.from(leaf!.publicKey.rawData).equals(spki)).toBe(true);
    expect(leaf!.notBefore.toISOString()).toBe(NOW);
    expect(leaf!.notAfter.getTime() - leaf!.notBefore.getTime()).toBe(14 * DAY_MS);

    // leaf <- issuing CA <- root, each signature checked, the root being DPS's trust anchor.
    expect(leaf!.issuer).toBe(issuing!.subject);
    expect(await leaf!.verify({ publicKey: issuing!.publicKey, signatureOnly: true })).toBe(true);
    const root = new x509.X509Certificate(dps.trustBundlePem);
    expect(issuing!.issuer).toBe(root.subject);
    expect(await issuing!.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
    expect(await root.verify({ signatureOnly: true })).toBe(true);
  });

  it('compares the CN with the registration id without regard to case, as registration ids are', async () => {
    const { csr: request } = await csr('Thermostat-0002');
    expect((await dps.register('thermostat-0002', request)).status).toBe('assigned');
  });

  it('rejects a CSR whose CN is not the registration id', async () => {
    const { csr: request } = await csr('thermostat-0003');
    const result = failure(await dps.register('thermostat-9999', request));
    expect(result).toMatchObject({ errorCode: 400, reason: 'csr-rejected' });
    expect(result.message).toMatch(/CN "thermostat-0003" is not the registration id/);
  });

  it('rejects an RSA key and a P-256 key: Azure issues ECDSA P-384 only', async () => {
    const rsa = failure(
      await dps.register('dev-rsa', (await csr('dev-rsa', { kind: 'RSA-2048' })).csr),
    );
    expect(rsa.message).toMatch(/key must be ECDSA P-384/);
    const p256 = failure(
      await dps.register(
        'dev-p256',
        (await csr('dev-p256', { kind: 'P-256', hash: 'SHA-256' })).csr,
      ),
    );
    expect(p256.message).toMatch(/key must be ECDSA P-384, got ECDSA P-256/);
  });

  it('rejects a P-384 key signed with SHA-256', async () => {
    const result = failure(
      await dps.register('dev-sha256', (await csr('dev-sha256', { hash: 'SHA-256' })).csr),
    );
    expect(result.message).toMatch(/signature must be ECDSA with SHA-384/);
  });

  it('rejects a CSR whose signature does not verify with its public key', async () => {
    const other = await generateKeys('P-384');
    const { csr: request } = await csr('dev-badsig', { signWith: other });
    const result = failure(await dps.register('dev-badsig', request));
    expect(result).toMatchObject({ errorCode: 400, reason: 'csr-rejected' });
    expect(result.message).toMatch(/signature does not verify/);
  });

  it('rejects a PEM-armoured CSR and bytes that are no PKCS#10', async () => {
    const { csr: request } = await csr('dev-pem');
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${request}\n-----END CERTIFICATE REQUEST-----`;
    expect(failure(await dps.register('dev-pem', pem)).message).toMatch(/not base64 DER/);
    const garbage = Buffer.from('not a certificate request').toString('base64');
    expect(failure(await dps.register('dev-pem', garbage)).message).toMatch(/not a PKCS#10/);
  });

  it('rejects a registration id DPS does not allow', async () => {
    const { csr: request } = await csr('-dev');
    expect(failure(await dps.register('-dev', request)).reason).toBe('invalid-registration-id');
  });

  it('issues from the policy the registration is enrolled in, each policy its own issuing CA', async () => {
    const local = new ManualClock(NOW);
    const multi = await StandInDps.create({
      clock: local,
      policies: [
        { name: 'weekly', leafValidityDays: 7 },
        { name: 'quarterly', leafValidityDays: 90 },
      ],
    });
    multi.enroll('sensor-q', 'quarterly');
    const [quarterly, quarterlyCa] = chainOf(
      await multi.register('sensor-q', (await csr('sensor-q')).csr),
    );
    const [weekly, weeklyCa] = chainOf(
      await multi.register('sensor-w', (await csr('sensor-w')).csr),
    );
    expect(quarterly!.notAfter.getTime() - quarterly!.notBefore.getTime()).toBe(90 * DAY_MS);
    expect(weekly!.notAfter.getTime() - weekly!.notBefore.getTime()).toBe(7 * DAY_MS);
    expect(quarterlyCa!.subject).not.toBe(weeklyCa!.subject);
  });

  it('refuses a leaf validity outside 7 to 90 days', async () => {
    await expect(StandInDps.create({ clock, leafValidityDays: 6 })).rejects.toThrow(/7 to 90/);
    await expect(StandInDps.create({ clock, leafValidityDays: 91 })).rejects.toThrow(/7 to 90/);
  });

  it('throttles above its registrations per minute (429) until the next minute', async () => {
    const local = new ManualClock('2026-11-01T10:00:10.000Z');
    const small = await StandInDps.create({ clock: local, registrationsPerMinute: 2 });
    const { csr: request } = await csr('dev-rate');
    expect((await small.register('dev-rate', request)).status).toBe('assigned');
    expect((await small.register('dev-rate', request)).status).toBe('assigned');
    const throttled = failure(await small.register('dev-rate', request));
    expect(throttled).toMatchObject({ errorCode: 429, reason: 'throttled', retryAfterSeconds: 50 });
    local.set('2026-11-01T10:01:00.000Z');
    expect((await small.register('dev-rate', request)).status).toBe('assigned');
  });

  it('fails every registration while it is down (an issuer outage), and only then', async () => {
    const local = new ManualClock('2026-11-01T09:59:59.000Z');
    const flaky = await StandInDps.create({ clock: local });
    flaky.down('2026-11-01T10:00:00.000Z', '2026-11-01T12:00:00.000Z');
    const { csr: request } = await csr('dev-outage');
    expect((await flaky.register('dev-outage', request)).status).toBe('assigned');
    local.set('2026-11-01T10:00:00.000Z');
    expect(failure(await flaky.register('dev-outage', request))).toMatchObject({
      errorCode: 500,
      reason: 'unavailable',
    });
    local.set('2026-11-01T12:00:00.000Z');
    expect((await flaky.register('dev-outage', request)).status).toBe('assigned');
    expect(flaky.counts).toMatchObject({ assigned: 2, unavailable: 1 });
  });
});
