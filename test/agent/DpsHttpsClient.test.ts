import { createHash, X509Certificate } from 'node:crypto';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { DpsError } from '../../shared/agent/DpsRegistration';
import { DpsHttpsClient, MIN_POLL_INTERVAL_MS } from '../../shared/agent/DpsHttpsClient';
import { Timers } from '../../shared/agent/Timers';
import { onboardingCredential } from './support/agentPki';
import { loopbackServerIdentity } from './support/loopbackTls';

interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** SHA-256 of the DER of the certificate the client authenticated with, upper-case hex. */
  clientCertificate?: string;
}

interface Scripted {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * DPS's runtime REST API over real HTTPS on a loopback port, answering from a script: the
 * client's requests are checked as DPS would see them (path, query, headers, body, the
 * certificate it authenticated with).
 */
describe("the agent's DPS client (runtime REST API 2025-07-01-preview)", () => {
  let server: https.Server;
  let port: number;
  let caPem: string;
  const received: Received[] = [];
  let script: Scripted[] = [];
  const waits: number[] = [];
  // Waits fire on the next turn of the event loop, and are recorded: how long the client
  // chose to wait is what is checked, not how long a test sleeps.
  const timers: Timers = {
    setTimeout: (callback, ms) => {
      waits.push(ms);
      return setImmediate(callback);
    },
    clearTimeout: (handle) => clearImmediate(handle as NodeJS.Immediate),
  };
  let device: Awaited<ReturnType<typeof onboardingCredential>>;

  beforeAll(async () => {
    const identity = await loopbackServerIdentity();
    caPem = identity.caPem;
    device = await onboardingCredential('thermostat-0001');
    server = https.createServer(
      {
        key: identity.keyPem,
        cert: identity.certificatePem,
        requestCert: true,
        rejectUnauthorized: false, // DPS decides by the enrollment, not the TLS handshake
      },
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const peer = (request.socket as TLSSocket).getPeerCertificate();
          received.push({
            method: request.method ?? '',
            url: request.url ?? '',
            headers: request.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(peer?.raw
              ? {
                  clientCertificate: createHash('sha256')
                    .update(peer.raw)
                    .digest('hex')
                    .toUpperCase(),
                }
              : {}),
          });
          const next = script.shift() ?? { status: 500, body: { message: 'unscripted' } };
          response.writeHead(next.status, {
            'Content-Type': 'application/json; charset=utf-8',
            ...next.headers,
          });
          response.end(next.body === undefined ? '' : JSON.stringify(next.body));
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    received.length = 0;
    waits.length = 0;
    script = [];
  });

  const client = (options: { caPem?: string } = { caPem }) =>
    new DpsHttpsClient({
      dpsHost: `localhost:${port}`,
      idScope: '0ne00000A1B',
      timers,
      ...options,
    });
  const request = () => ({
    registrationId: 'thermostat-0001',
    csr: 'MIIBOzCB4gIBADAaMRgwFgYDVQQDDA90aGVybW9zdGF0LTAwMDE=',
    credential: device,
  });
  const assigned = {
    operationId: '4.0000000000000001.op',
    status: 'assigned',
    registrationState: {
      registrationId: 'thermostat-0001',
      assignedHub: 'contoso-hub.azure-devices.net',
      deviceId: 'thermostat-0001',
      status: 'assigned',
      issuedCertificateChain: ['MIIB…leaf', 'MIIC…issuing'],
    },
  };

  it('registers with a PUT of the registration id and CSR, then polls the operation until assigned', async () => {
    script = [
      {
        status: 202,
        body: { operationId: 'op-1', status: 'assigning' },
        headers: { 'Retry-After': '3' },
      },
      { status: 202, body: { operationId: 'op-1', status: 'assigning' } },
      { status: 200, body: assigned },
    ];
    const assignment = await client().register(request());

    expect(assignment).toEqual({
      assignedHub: 'contoso-hub.azure-devices.net',
      deviceId: 'thermostat-0001',
      issuedCertificateChain: ['MIIB…leaf', 'MIIC…issuing'],
    });
    expect(received.map((r) => `${r.method} ${r.url}`)).toEqual([
      'PUT /0ne00000A1B/registrations/thermostat-0001/register?api-version=2025-07-01-preview',
      'GET /0ne00000A1B/registrations/thermostat-0001/operations/op-1?api-version=2025-07-01-preview',
      'GET /0ne00000A1B/registrations/thermostat-0001/operations/op-1?api-version=2025-07-01-preview',
    ]);
    expect(JSON.parse(received[0]!.body)).toEqual({
      registrationId: 'thermostat-0001',
      csr: request().csr,
    });
    expect(received[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(received[0]!.headers['accept']).toBe('application/json');
  });

  it('authenticates every request with the certificate it was given', async () => {
    script = [
      { status: 202, body: { operationId: 'op-1', status: 'assigning' } },
      { status: 200, body: assigned },
    ];
    await client().register(request());
    const leaf = new X509Certificate(device.certificateChainPem).fingerprint256.replace(/:/g, '');
    expect(received.map((r) => r.clientCertificate)).toEqual([leaf, leaf]);
  });

  it("honours Retry-After, but never polls sooner than DPS's 5 lookups in 10 s allow", async () => {
    script = [
      {
        status: 202,
        body: { operationId: 'op-1', status: 'assigning' },
        headers: { 'Retry-After': '5' },
      },
      {
        status: 202,
        body: { operationId: 'op-1', status: 'assigning' },
        headers: { 'Retry-After': '0' },
      },
      { status: 202, body: { operationId: 'op-1', status: 'assigning' } },
      { status: 200, body: assigned },
    ];
    await client().register(request());
    expect(waits).toEqual([5000, MIN_POLL_INTERVAL_MS, 3000]);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(2000);
  });

  it('takes an immediate 200 "assigned" without polling', async () => {
    script = [{ status: 200, body: assigned }];
    await client().register(request());
    expect(received).toHaveLength(1);
  });

  it("reports a failed registration with DPS's error code and message", async () => {
    script = [
      { status: 202, body: { operationId: 'op-1', status: 'assigning' } },
      {
        status: 200,
        body: {
          operationId: 'op-1',
          status: 'failed',
          registrationState: {
            status: 'failed',
            errorCode: 400209,
            errorMessage: 'CSR common name does not match the registration id',
          },
        },
      },
    ];
    const error = await client()
      .register(request())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DpsError);
    expect((error as DpsError).kind).toBe('rejected');
    expect((error as DpsError).message).toBe(
      'DPS registration failed (400209): CSR common name does not match the registration id',
    );
  });

  it.each([
    [401, { errorCode: 401002, message: 'unauthorized' }, {}, 'unauthorized', undefined],
    [
      429,
      { errorCode: 429001, message: 'throttled' },
      { 'Retry-After': '30' },
      'throttled',
      30_000,
    ],
    [400, { errorCode: 400004, message: 'bad request' }, {}, 'rejected', undefined],
    [503, { message: 'unavailable' }, {}, 'unavailable', undefined],
  ] as const)('classifies an HTTP %i answer', async (status, body, headers, kind, retryAfterMs) => {
    script = [{ status, body, headers }];
    const error = (await client()
      .register(request())
      .catch((e: unknown) => e)) as DpsError;
    expect(error.kind).toBe(kind);
    expect(error.details.status).toBe(status);
    expect(error.details.retryAfterMs).toBe(retryAfterMs);
  });

  it('refuses an assignment that carries no issued certificate', async () => {
    const { issuedCertificateChain: _none, ...state } = assigned.registrationState;
    script = [{ status: 200, body: { ...assigned, registrationState: state } }];
    await expect(client().register(request())).rejects.toThrow(/issued no certificate/);
  });

  it('does not talk to a server whose certificate it does not trust', async () => {
    script = [{ status: 200, body: assigned }];
    const error = (await client({})
      .register(request())
      .catch((e: unknown) => e)) as DpsError;
    expect(error.kind).toBe('unavailable');
    expect(received).toHaveLength(0);
  });

  it('gives up when the agent stops while it waits to poll', async () => {
    script = [{ status: 202, body: { operationId: 'op-1', status: 'assigning' } }];
    const abort = new AbortController();
    const stoppingTimers: Timers = {
      setTimeout: () => {
        abort.abort();
        return 0;
      },
      clearTimeout: () => undefined,
    };
    const stopping = new DpsHttpsClient({
      dpsHost: `localhost:${port}`,
      idScope: '0ne00000A1B',
      caPem,
      timers: stoppingTimers,
    });
    await expect(stopping.register(request(), abort.signal)).rejects.toThrow('aborted');
    expect(received).toHaveLength(1);
  });
});
