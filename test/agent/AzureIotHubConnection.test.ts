import { createHash, X509Certificate } from 'node:crypto';
import { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { deviceClientFor } from '../../shared/agent/AzureIotHubConnection';
import { HubTarget } from '../../shared/agent/HubConnection';
import { onboardingCredential } from './support/agentPki';
import { loopbackServerIdentity } from './support/loopbackTls';

interface Connect {
  clientId: string;
  username?: string;
  hasPassword: boolean;
  servername?: string;
  clientCertificate?: string;
}

/**
 * Where the Azure IoT device SDK (azure-iot-device 1.18.4, azure-iot-device-mqtt 1.16.4)
 * connects, and as whom: a TLS listener on a free loopback port reads the MQTT CONNECT packet
 * (MQTT 3.1.1 section 3.1) and answers CONNACK, which is all IoT Hub's endpoint does before the
 * device subscribes. It settles whether the SDK can reach a hub on a port other than 8883.
 */
describe('the Azure IoT device SDK as the agent drives it', () => {
  let server: tls.Server;
  let port: number;
  let caPem: string;
  const connects: Connect[] = [];
  let device: Awaited<ReturnType<typeof onboardingCredential>>;

  beforeAll(async () => {
    const identity = await loopbackServerIdentity();
    caPem = identity.caPem;
    device = await onboardingCredential('thermostat-0001');
    server = tls.createServer(
      {
        key: identity.keyPem,
        cert: identity.certificatePem,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (socket) => {
        let buffered = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk]);
          const packet = readPacket(buffered);
          if (!packet) return;
          buffered = buffered.subarray(packet.length);
          if (packet.type !== 1) return; // only CONNECT matters here
          const peer = socket.getPeerCertificate();
          connects.push({
            ...readConnect(packet.body),
            ...(typeof socket.servername === 'string' ? { servername: socket.servername } : {}),
            ...(peer?.raw
              ? {
                  clientCertificate: createHash('sha256')
                    .update(peer.raw)
                    .digest('hex')
                    .toUpperCase(),
                }
              : {}),
          });
          socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, accepted
        });
        socket.on('error', () => undefined);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  beforeEach(() => {
    connects.length = 0;
  });

  async function connectOnce(target: HubTarget): Promise<Connect> {
    const client = deviceClientFor(target);
    client.on('error', () => undefined);
    await client.setOptions({
      cert: target.credential.certificateChainPem,
      key: target.credential.privateKeyPem,
      ...(target.caPem ? { ca: target.caPem } : {}),
    });
    await client.open();
    await client.close();
    expect(connects).toHaveLength(1);
    return connects[0]!;
  }

  const target = (overrides: Partial<HubTarget>): HubTarget => ({
    hubHostName: 'contoso-hub.azure-devices.net',
    deviceId: 'thermostat-0001',
    credential: device,
    caPem,
    methodName: 'renewCertificate',
    ...overrides,
  });

  it("reaches a hub's own endpoint on another port, still naming the hub in the user name", async () => {
    const connect = await connectOnce(target({ endpoint: `localhost:${port}` }));
    expect(connect.clientId).toBe('thermostat-0001');
    expect(connect.username).toMatch(
      /^contoso-hub\.azure-devices\.net\/thermostat-0001\/\?api-version=\d{4}-\d{2}-\d{2}&DeviceClientType=/,
    );
    expect(connect.servername).toBe('localhost');
  });

  it('authenticates with the X.509 certificate and sends no password', async () => {
    const connect = await connectOnce(target({ endpoint: `localhost:${port}` }));
    expect(connect.hasPassword).toBe(false);
    const leaf = new X509Certificate(device.certificateChainPem).fingerprint256.replace(/:/g, '');
    expect(connect.clientCertificate).toBe(leaf);
  });

  it('with a connection string alone, reaches another port only by putting it in HostName, and so in the user name', async () => {
    const connect = await connectOnce(target({ hubHostName: `localhost:${port}` }));
    expect(connect.username).toMatch(
      new RegExp(`^localhost:${port}/thermostat-0001/\\?api-version=`),
    );
  });
});

/** One MQTT packet from the front of `data`, if whole: type, body, and its length in bytes. */
function readPacket(data: Buffer): { type: number; body: Buffer; length: number } | undefined {
  if (data.length < 2) return undefined;
  let remaining = 0;
  let multiplier = 1;
  let at = 1;
  for (;;) {
    if (at >= data.length) return undefined;
    const byte = data[at++]!;
    remaining += (byte & 0x7f) * multiplier;
    multiplier *= 128;
    if ((byte & 0x80) === 0) break;
  }
  if (data.length < at + remaining) return undefined;
  return { type: data[0]! >> 4, body: data.subarray(at, at + remaining), length: at + remaining };
}

/** The CONNECT packet's client id, user name, and whether it has a password. */
function readConnect(body: Buffer): Omit<Connect, 'servername' | 'clientCertificate'> {
  let at = 0;
  const string = () => {
    const length = body.readUInt16BE(at);
    const text = body.subarray(at + 2, at + 2 + length).toString('utf8');
    at += 2 + length;
    return text;
  };
  string(); // protocol name, "MQTT"
  at += 1; // protocol level
  const flags = body[at++]!;
  at += 2; // keep alive
  const clientId = string();
  if (flags & 0x04) {
    string(); // will topic
    string(); // will message
  }
  const username = flags & 0x80 ? string() : undefined;
  return {
    clientId,
    ...(username !== undefined ? { username } : {}),
    hasPassword: (flags & 0x40) !== 0,
  };
}
