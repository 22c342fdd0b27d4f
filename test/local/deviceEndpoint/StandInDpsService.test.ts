import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import https from 'node:https';
import * as x509 from '@peculiar/x509';
import { Client } from 'azure-iot-device';
import { MINUTE_MS, ManualClock } from '../../../shared/domain/Clock';
import { generateKeys, privateKeyPem } from '../../../shared/local/LocalCa';
import {
  DPS_API_VERSION,
  StandInDpsService,
} from '../../../shared/local/deviceEndpoint/StandInDpsService';
import { StandInDeviceEndpoint } from '../../../shared/local/deviceEndpoint/StandInDeviceEndpoint';
import { StandInDps } from '../../../shared/simulation/fleet/StandInDps';
import {
  DeviceIdentity,
  caSignedDevice,
  deviceCa,
  sdkClient,
  selfSignedDevice,
} from './deviceIdentities';

/**
 * The stand-in DPS over real HTTPS on loopback, called as a device calls DPS's runtime API
 * (2025-07-01-preview): mutual TLS with the onboarding certificate, a CSR in, an operation to
 * poll, a chain out; then the device endpoint accepts what DPS issued.
 */

const START = '2026-03-01T10:00:00Z';
const ONBOARDING = { notBefore: '2025-01-01T00:00:00Z', notAfter: '2030-01-01T00:00:00Z' };
const ID_SCOPE = '0ne00000A1B';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** A CSR as a device makes it: a fresh ECDSA P-384 key, SHA-384, CN = the registration id. */
async function certificateRequest(
  commonName: string,
  kind: 'P-384' | 'P-256' = 'P-384',
): Promise<{ csr: string; keyPem: string }> {
  const keys = await generateKeys(kind);
  const request = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }],
    keys,
    signingAlgorithm: {
      name: 'ECDSA',
      hash: kind === 'P-384' ? 'SHA-384' : 'SHA-256',
    } as webcrypto.EcdsaParams,
  });
  return {
    csr: Buffer.from(request.rawData).toString('base64'),
    keyPem: await privateKeyPem(keys),
  };
}

const pemOf = (base64Der: string) =>
  new x509.X509Certificate(Buffer.from(base64Der, 'base64')).toString('pem');

describe('StandInDpsService, DPS registration with a CSR over HTTPS', () => {
  const clock = new ManualClock(START);
  let dps: StandInDps;
  let service: StandInDpsService;
  let endpoint: StandInDeviceEndpoint;
  const clients: Client[] = [];

  beforeAll(async () => {
    dps = await StandInDps.create({ clock, registrationsPerMinute: 4 });
    endpoint = await StandInDeviceEndpoint.start({ hub: 'hub-a', clock });
    service = await StandInDpsService.start({
      dps,
      idScope: ID_SCOPE,
      hub: endpoint,
      clock,
      lookupsWhileAssigning: 1,
    });
  });

  beforeEach(() => {
    // A fresh minute of DPS's quota for each test.
    clock.advance(MINUTE_MS);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  });

  afterAll(async () => {
    await service.close();
    await endpoint.close();
  });

  function call(
    method: 'PUT' | 'GET' | 'POST',
    path: string,
    as: Pick<DeviceIdentity, 'certPem' | 'keyPem'> | undefined,
    body?: unknown,
    target = service,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const request = https.request(
        `${target.url}/${ID_SCOPE}/registrations/${path}?api-version=${DPS_API_VERSION}`,
        {
          method,
          ca: target.caPem,
          agent: false,
          ...(as ? { cert: as.certPem, key: as.keyPem } : {}),
          headers: { 'content-type': 'application/json', 'content-encoding': 'utf-8' },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<
                string,
                unknown
              >,
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** PUT register, then the lookups until the operation is done; every answer in order. */
  async function register(
    registrationId: string,
    as: Pick<DeviceIdentity, 'certPem' | 'keyPem'>,
    csr?: string,
    target = service,
  ): Promise<Answer[]> {
    const answers = [
      await call(
        'PUT',
        `${registrationId}/register`,
        as,
        { registrationId, ...(csr !== undefined ? { csr } : {}) },
        target,
      ),
    ];
    const operationId = answers[0]?.body.operationId as string | undefined;
    if (answers[0]?.status !== 202 || !operationId) return answers;
    for (let i = 0; i < 5 && answers.at(-1)?.status === 202; i += 1) {
      answers.push(
        await call('GET', `${registrationId}/operations/${operationId}`, as, undefined, target),
      );
    }
    return answers;
  }

  async function enrolled(registrationId: string): Promise<DeviceIdentity> {
    const onboarding = await selfSignedDevice(registrationId, ONBOARDING);
    service.enroll(registrationId, { thumbprint: onboarding.thumbprintSha256 });
    return onboarding;
  }

  it('issues a chain for a CSR, which the device endpoint then accepts', async () => {
    const onboarding = await enrolled('reg-1');
    const { csr, keyPem } = await certificateRequest('reg-1');

    const [accepted, assigning, done] = await register('reg-1', onboarding, csr);
    expect(accepted).toMatchObject({
      status: 202,
      headers: { 'retry-after': '3' },
      body: { operationId: expect.any(String) as string, status: 'assigning' },
    });
    expect(assigning).toMatchObject({ status: 202, body: { status: 'assigning' } });
    expect(done?.status).toBe(200);
    const state = done?.body.registrationState as Record<string, unknown>;
    expect(done?.body).toMatchObject({
      operationId: accepted?.body.operationId,
      status: 'assigned',
    });
    expect(state).toMatchObject({
      registrationId: 'reg-1',
      deviceId: 'reg-1',
      assignedHub: endpoint.address,
      status: 'assigned',
      createdDateTimeUtc: '2026-03-01T10:01:00.000Z',
    });

    // Leaf, issuing CA, root: "each certificate in the array is the issuer of the previous".
    const chain = (state.issuedCertificateChain as string[]).map(
      (der) => new x509.X509Certificate(Buffer.from(der, 'base64')),
    );
    expect(chain.map((c) => c.subject)).toEqual([
      'CN=reg-1',
      dps.issuingCa().subject,
      dps.root.certificate.subject,
    ]);
    for (const [i, certificate] of chain.slice(0, -1).entries()) {
      expect(certificate.issuer).toBe(chain[i + 1]?.subject);
    }

    const device = {
      deviceId: 'reg-1',
      certPem: [0, 1].map((i) => pemOf((state.issuedCertificateChain as string[])[i]!)).join('\n'),
      keyPem,
    };
    const client = await sdkClient(endpoint.address, endpoint.caPem, device);
    clients.push(client);
    await client.open();
    expect(endpoint.refusals.filter((r) => r.clientId === 'reg-1')).toEqual([]);
  });

  /** Registers with a fresh CSR and returns the issued chain (base64 DER) and its key. */
  async function issued(
    registrationId: string,
    as: Pick<DeviceIdentity, 'certPem' | 'keyPem'>,
    target = service,
  ): Promise<{ chain: string[]; keyPem: string }> {
    const request = await certificateRequest(registrationId);
    const done = (await register(registrationId, as, request.csr, target)).at(-1);
    expect(done).toMatchObject({ status: 200, body: { status: 'assigned' } });
    const state = done?.body.registrationState as { issuedCertificateChain: string[] };
    return { chain: state.issuedCertificateChain, keyPem: request.keyPem };
  }

  /** Connects to the device endpoint as `deviceId`, presenting `chain` (base64 DER, leaf first). */
  async function connect(deviceId: string, chain: string[], keyPem: string): Promise<Client> {
    const client = await sdkClient(endpoint.address, endpoint.caPem, {
      deviceId,
      certPem: chain.map(pemOf).join('\n'),
      keyPem,
    });
    clients.push(client);
    await client.open();
    return client;
  }

  it('renews with the onboarding certificate, and the new certificate connects', async () => {
    const onboarding = await enrolled('reg-renew');
    const first = await issued('reg-renew', onboarding);

    clock.advance(MINUTE_MS);
    const renewed = await issued('reg-renew', onboarding);
    expect(renewed.chain[0]).not.toBe(first.chain[0]);
    await connect('reg-renew', renewed.chain.slice(0, 2), renewed.keyPem);
    expect(endpoint.refusals.filter((r) => r.clientId === 'reg-renew')).toEqual([]);
  });

  it('refuses a renewal presenting the operational certificate it issued, 401 401002', async () => {
    const onboarding = await enrolled('reg-strict');
    const first = await issued('reg-strict', onboarding);
    const operational = { certPem: pemOf(first.chain[0]!), keyPem: first.keyPem };

    const [answer] = await register(
      'reg-strict',
      operational,
      (await certificateRequest('reg-strict')).csr,
    );
    expect(answer).toMatchObject({
      status: 401,
      headers: { 'x-ms-error-code': '401002' },
      body: { errorCode: 401002, message: 'Invalid certificate.' },
    });
  });

  it('accepts the operational certificate it issued for a renewal when told to', async () => {
    const lenient = await StandInDpsService.start({
      dps,
      idScope: ID_SCOPE,
      hub: endpoint,
      clock,
      acceptIssuedCertificates: true,
    });
    try {
      const onboarding = await selfSignedDevice('reg-lenient', ONBOARDING);
      lenient.enroll('reg-lenient', { thumbprint: onboarding.thumbprintSha256 });
      const first = await issued('reg-lenient', onboarding, lenient);
      const operational = { certPem: pemOf(first.chain[0]!), keyPem: first.keyPem };

      const renewed = await issued('reg-lenient', operational, lenient);
      expect(lenient.calls.filter((c) => c.status === 401)).toEqual([]);
      await connect('reg-lenient', renewed.chain.slice(0, 2), renewed.keyPem);
    } finally {
      await lenient.close();
    }
  });

  it('keeps every certificate issued for a device connecting: the hub trusts the issuing CA', async () => {
    const onboarding = await enrolled('reg-evict');
    // Three issuances, as when the device crashed or its checks failed before installing two.
    const first = await issued('reg-evict', onboarding);
    await issued('reg-evict', onboarding);
    const last = await issued('reg-evict', onboarding);

    // The chain as DPS returned it (leaf, issuing CA, root), and leaf and issuing CA alone: the
    // issuing CA is the hub's trust anchor either way.
    const firstClient = await connect('reg-evict', first.chain, first.keyPem);
    await firstClient.close();
    await connect('reg-evict', last.chain.slice(0, 2), last.keyPem);
    expect(endpoint.refusals.filter((r) => r.clientId === 'reg-evict')).toEqual([]);
  });

  it('refuses at the hub a certificate from the issuing CA for another CN, or from another CA', async () => {
    await issued('reg-victim', await enrolled('reg-victim'));
    const neighbour = await issued('reg-neighbour', await enrolled('reg-neighbour'));
    await expect(
      connect('reg-victim', neighbour.chain.slice(0, 2), neighbour.keyPem),
    ).rejects.toMatchObject({ name: 'UnauthorizedError' });
    expect(endpoint.refusals.at(-1)).toMatchObject({
      clientId: 'reg-victim',
      reason: 'the certificate\'s CN "reg-neighbour" is not "reg-victim"',
    });

    const { issuing } = await deviceCa('unrelated', ONBOARDING);
    const forged = await caSignedDevice('reg-victim', issuing, ONBOARDING);
    const client = await sdkClient(endpoint.address, endpoint.caPem, forged);
    clients.push(client);
    await expect(client.open()).rejects.toMatchObject({ name: 'UnauthorizedError' });
    expect(endpoint.refusals.at(-1)).toMatchObject({
      clientId: 'reg-victim',
      reason: 'the certificate does not chain to a registered CA',
    });
  });

  it('keeps the certificate presented without a CSR: the hub learns its thumbprint', async () => {
    const onboarding = await enrolled('reg-keep');
    const done = (await register('reg-keep', onboarding)).at(-1);
    expect(done).toMatchObject({ status: 200, body: { status: 'assigned' } });
    expect(done?.body.registrationState).not.toHaveProperty('issuedCertificateChain');
    const client = await sdkClient(endpoint.address, endpoint.caPem, onboarding);
    clients.push(client);
    await client.open();
    expect(endpoint.refusals.filter((r) => r.clientId === 'reg-keep')).toEqual([]);
  });

  it('fails the registration of a CSR whose CN is not the registration id', async () => {
    const onboarding = await enrolled('reg-cn');
    const { csr } = await certificateRequest('someone-else');
    const answers = await register('reg-cn', onboarding, csr);
    expect(answers[0]?.status).toBe(202);
    expect(answers.at(-1)).toMatchObject({
      status: 200,
      body: {
        status: 'failed',
        registrationState: {
          registrationId: 'reg-cn',
          status: 'failed',
          errorCode: 400,
          errorMessage: 'csr rejected: CN "someone-else" is not the registration id "reg-cn"',
        },
      },
    });
    expect(answers.at(-1)?.body.registrationState).not.toHaveProperty('issuedCertificateChain');
    expect(endpoint.isRegistered('reg-cn')).toBe(false);
  });

  it('fails the registration of a CSR in PEM armour or with a P-256 key', async () => {
    const onboarding = await enrolled('reg-bad');
    const armoured = `-----BEGIN CERTIFICATE REQUEST-----\n${(await certificateRequest('reg-bad')).csr}\n-----END CERTIFICATE REQUEST-----`;
    const p256 = (await certificateRequest('reg-bad', 'P-256')).csr;
    const outcome = async (csr: string) =>
      (
        (await register('reg-bad', onboarding, csr)).at(-1)?.body.registrationState as {
          errorMessage: string;
        }
      ).errorMessage;
    await expect(outcome(armoured)).resolves.toContain('not base64 DER');
    await expect(outcome(p256)).resolves.toContain('key must be ECDSA P-384');
  });

  it('refuses a certificate it does not know with 401 401002, DPS’s error body', async () => {
    const stranger = await selfSignedDevice('reg-stranger', ONBOARDING);
    const { csr } = await certificateRequest('reg-stranger');
    const [answer] = await register('reg-stranger', stranger, csr);
    expect(answer).toMatchObject({
      status: 401,
      headers: { 'x-ms-error-code': '401002' },
      body: {
        errorCode: 401002,
        trackingId: expect.any(String) as string,
        message: 'Invalid certificate.',
        timestampUtc: expect.stringMatching(/^2026-03-01T/) as string,
      },
    });
  });

  it('refuses an enrolled certificate presented for another registration id', async () => {
    const onboarding = await enrolled('reg-own');
    const { csr } = await certificateRequest('reg-other');
    const [answer] = await register('reg-other', onboarding, csr);
    expect(answer?.status).toBe(401);
  });

  it('refuses a call without a client certificate', async () => {
    const [answer] = await register('reg-none', { certPem: '', keyPem: '' });
    expect(answer?.status).toBe(401);
    await expect(call('PUT', 'reg-none/register', undefined, {})).resolves.toMatchObject({
      status: 401,
    });
  });

  it('refuses an expired onboarding certificate', async () => {
    const onboarding = await selfSignedDevice('reg-old', {
      notBefore: '2025-01-01T00:00:00Z',
      notAfter: '2026-01-01T00:00:00Z',
    });
    service.enroll('reg-old', { thumbprint: onboarding.thumbprintSha256 });
    const [answer] = await register(
      'reg-old',
      onboarding,
      (await certificateRequest('reg-old')).csr,
    );
    expect(answer?.status).toBe(401);
  });

  it('answers 429 with Retry-After over the registrations-per-minute quota', async () => {
    const onboarding = await enrolled('reg-busy');
    const { csr } = await certificateRequest('reg-busy');
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 5; i += 1) {
      last = await call('PUT', 'reg-busy/register', onboarding, {
        registrationId: 'reg-busy',
        csr,
      });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 429]);
    expect(last).toMatchObject({ headers: { 'retry-after': '60' }, body: { errorCode: 429000 } });
  });

  it('answers the status lookup with the last registration state, without the chain', async () => {
    const onboarding = await enrolled('reg-look');
    await register('reg-look', onboarding, (await certificateRequest('reg-look')).csr);
    const answer = await call('POST', 'reg-look', onboarding, { registrationId: 'reg-look' });
    expect(answer).toMatchObject({
      status: 200,
      body: { status: 'assigned', deviceId: 'reg-look' },
    });
    expect(answer.body).not.toHaveProperty('issuedCertificateChain');
  });
});
