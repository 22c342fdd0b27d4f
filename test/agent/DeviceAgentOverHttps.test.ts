import { createHash } from 'node:crypto';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { x509 } from '../../shared/agent/x509';
import { issueLeaf } from '../../shared/local/LocalCa';
import { DeviceAgentOptions } from '../../shared/agent/DeviceAgent';
import { agentWorld, AgentWorld } from './support/agentWorld';
import { base64Der } from './support/agentPki';
import { loopbackServerIdentity } from './support/loopbackTls';

/**
 * The agent built as the end-to-end test builds it, from a DPS host:port and a CA PEM only,
 * with its own HTTPS client, against a DPS on a loopback port that issues from the CSR.
 */
describe('the agent against a DPS on a loopback port', () => {
  let server: https.Server;
  let world: AgentWorld;
  const authenticatedWith: string[] = [];

  afterEach(async () => {
    authenticatedWith.length = 0;
    await world.cleanUp();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /**
   * A DPS that issues from the CSR; with `onboardingOnly`, one that answers 401 401002 to any
   * client certificate but the onboarding one, as Azure's does for an operational certificate.
   */
  async function startDps(onboardingOnly: boolean, agentOptions: Partial<DeviceAgentOptions>) {
    const identity = await loopbackServerIdentity();
    let issue: (csr: string) => Promise<string[]> = () => Promise.reject(new Error('not ready'));
    server = https.createServer(
      {
        key: identity.keyPem,
        cert: identity.certificatePem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const peer = (request.socket as TLSSocket).getPeerCertificate();
          const thumbprint = createHash('sha256').update(peer.raw).digest('hex').toUpperCase();
          authenticatedWith.push(thumbprint);
          if (onboardingOnly && thumbprint !== world.onboarding.thumbprint) {
            response.writeHead(401, { 'Content-Type': 'application/json' });
            response.end(JSON.stringify({ errorCode: 401002, message: 'Invalid certificate.' }));
            return;
          }
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { csr: string };
          void issue(body.csr).then((chain) => {
            response.writeHead(200, { 'Content-Type': 'application/json' });
            response.end(
              JSON.stringify({
                operationId: 'op',
                status: 'assigned',
                registrationState: {
                  assignedHub: 'contoso-hub.azure-devices.net',
                  deviceId: 'thermostat-0001',
                  status: 'assigned',
                  issuedCertificateChain: chain,
                },
              }),
            );
          });
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;

    world = await agentWorld({
      dps: undefined,
      dpsHost: `localhost:${port}`,
      caPem: identity.caPem,
      ...agentOptions,
    });
    const { issuing, clock } = world;
    issue = async (csrBase64) => {
      const csr = new x509.Pkcs10CertificateRequest(Buffer.from(csrBase64, 'base64'));
      const leaf = await issueLeaf(issuing, {
        commonName: csr.subjectName.getField('CN')[0]!,
        publicKey: await csr.publicKey.export(),
        notBefore: clock.now(),
        notAfter: new Date(clock.now().getTime() + 30 * 24 * 3600 * 1000),
      });
      return [base64Der(leaf), base64Der(issuing.certificate)];
    };
  }

  it('provisions, then renews authenticated by its onboarding certificate', async () => {
    await startDps(true, {});
    await world.agent.start();
    const first = world.agent.status().certificate!.thumbprint;
    expect(authenticatedWith).toEqual([world.onboarding.thumbprint]);

    await world.advanceTo('2026-11-25T00:00:00.000Z');
    expect(authenticatedWith).toEqual([world.onboarding.thumbprint, world.onboarding.thumbprint]);
    expect(world.hub.opens.map((o) => o.thumbprint)).toEqual([
      first,
      world.agent.status().certificate!.thumbprint,
    ]);
  });

  it('with dpsCredential current, renews with the issued certificate where DPS accepts it', async () => {
    await startDps(false, { dpsCredential: 'current' });
    await world.agent.start();
    const first = world.agent.status().certificate!.thumbprint;
    await world.advanceTo('2026-11-25T00:00:00.000Z');
    expect(authenticatedWith).toEqual([world.onboarding.thumbprint, first]);
    expect(world.agent.status().certificate!.thumbprint).not.toBe(first);
  });

  it('with dpsCredential current, falls back to the onboarding certificate on DPS’s 401', async () => {
    await startDps(true, { dpsCredential: 'current' });
    await world.agent.start();
    const first = world.agent.status().certificate!.thumbprint;
    await world.advanceTo('2026-11-25T00:00:00.000Z');
    expect(authenticatedWith).toEqual([
      world.onboarding.thumbprint,
      first,
      world.onboarding.thumbprint,
    ]);
    expect(world.agent.status().certificate!.thumbprint).not.toBe(first);
    expect(world.agent.status().renewalFailures).toBe(0);
  });
});
