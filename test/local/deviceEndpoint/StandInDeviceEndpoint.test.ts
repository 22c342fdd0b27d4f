import { Client, Twin } from 'azure-iot-device';
import mqtt from 'mqtt';
import { IotHubDeviceMethods } from '../../../shared/adapters/iothub/IotHubDeviceMethods';
import { RawIotHubMessage } from '../../../shared/app/ingest/RawIotHubMessage';
import { loadIotHubSettings } from '../../../shared/config/iotHubSettings';
import { ManualClock } from '../../../shared/domain/Clock';
import { RenewalRequest } from '../../../shared/domain/renewal/MethodOutcome';
import { toPem } from '../../../shared/local/LocalCa';
import { StandInIotHub } from '../../../shared/local/StandInIotHub';
import { deviceEndpointHandler } from '../../../shared/local/deviceEndpoint/deviceEndpointHandler';
import {
  MethodTimeouts,
  StandInDeviceEndpoint,
} from '../../../shared/local/deviceEndpoint/StandInDeviceEndpoint';
import {
  DeviceIdentity,
  caSignedDevice,
  deviceCa,
  sdkClient,
  selfSignedDevice,
} from './deviceIdentities';

/**
 * The stand-in device endpoint over real TLS sockets on loopback, driven by Microsoft's Node
 * device SDK (azure-iot-device with the MQTT transport) as firmware drives IoT Hub, and by
 * mqtt.js (the SDK's own MQTT library) where a test must send what the SDK never would.
 */

const START = '2026-03-01T10:00:00Z';
const VALID = { notBefore: '2026-02-01T00:00:00Z', notAfter: '2026-04-01T00:00:00Z' };

const request: RenewalRequest = {
  requestId: 'req-0001',
  reason: 'due',
  currentValidUntil: '2026-03-20T00:00:00.000Z',
  deadline: '2026-03-02T10:00:00.000Z',
};

/** Waits for an emitter's event (the sockets are real; nothing here waits on a clock). */
function once(emitter: mqtt.MqttClient, event: 'close' | 'connect'): Promise<void> {
  return new Promise((resolve) => emitter.once(event, () => resolve()));
}

describe('StandInDeviceEndpoint, with the Azure IoT device SDK over MQTT', () => {
  const clock = new ManualClock(START);
  const events: RawIotHubMessage[] = [];
  let endpoint: StandInDeviceEndpoint;
  let hub: StandInIotHub;
  let methods: IotHubDeviceMethods;
  let timeouts: MethodTimeouts = {};
  const sdkClients: Client[] = [];
  const rawClients: mqtt.MqttClient[] = [];

  beforeAll(async () => {
    endpoint = await StandInDeviceEndpoint.start({
      hub: 'hub-a',
      clock,
      onEvent: (message) => events.push(message),
    });
    hub = new StandInIotHub((...call) =>
      deviceEndpointHandler(endpoint, () => 'not-found', timeouts)(...call),
    );
    const { url } = await hub.start();
    const settings = loadIotHubSettings({ CERTFLEET_IOTHUB_ENDPOINT: url });
    if (!settings) throw new Error('expected IoT Hub settings');
    methods = new IotHubDeviceMethods({ settings });
  });

  beforeEach(() => {
    clock.set(START);
    timeouts = {};
  });

  afterEach(async () => {
    await Promise.all(sdkClients.splice(0).map((c) => c.close().catch(() => undefined)));
    await Promise.all(
      rawClients
        .splice(0)
        .map((c) => new Promise<void>((resolve) => c.end(true, {}, () => resolve()))),
    );
  });

  afterAll(async () => {
    await hub.stop();
    await endpoint.close();
  });

  async function registered(deviceId: string): Promise<DeviceIdentity> {
    const identity = await selfSignedDevice(deviceId, VALID);
    endpoint.registerDevice(deviceId, { thumbprints: [identity.thumbprintSha256] });
    return identity;
  }

  async function opened(identity: DeviceIdentity): Promise<Client> {
    const client = await sdkClient(endpoint.address, endpoint.caPem, identity);
    sdkClients.push(client);
    await client.open();
    return client;
  }

  function rawClient(identity: DeviceIdentity): mqtt.MqttClient {
    const client = mqtt.connect(`mqtts://${endpoint.address}`, {
      clientId: identity.deviceId,
      username: `${endpoint.hostName}/${identity.deviceId}/?api-version=2021-04-12`,
      cert: identity.certPem,
      key: identity.keyPem,
      ca: endpoint.caPem,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    client.on('error', () => undefined);
    rawClients.push(client);
    return client;
  }

  const reportedUpdate = (twin: Twin, patch: object) =>
    new Promise<void>((resolve, reject) => {
      const reported = twin.properties.reported as {
        update(patch: object, done: (error?: Error) => void): void;
      };
      reported.update(patch, (error) => (error ? reject(error) : resolve()));
    });

  const eventsOf = (deviceId: string, opType: string) =>
    events.filter((e) => e.properties?.deviceId === deviceId && e.properties?.opType === opType);

  describe('connecting', () => {
    it('accepts a device presenting the certificate whose thumbprint is registered', async () => {
      await opened(await registered('dev-connect'));
      await waitUntil(() => endpoint.isConnected('dev-connect'));
      const [connected] = eventsOf('dev-connect', 'deviceConnected');
      expect(connected).toMatchObject({
        properties: { hubName: 'hub-a', operationTimestamp: '2026-03-01T10:00:00.000Z' },
        systemProperties: { 'iothub-message-source': 'deviceConnectionStateEvents' },
      });
      expect((connected?.body as { sequenceNumber: string }).sequenceNumber).toMatch(/^[0-9a-f]+$/);
    });

    it('emits a disconnection with a higher sequence number when the device closes', async () => {
      const client = await opened(await registered('dev-bye'));
      await client.close();
      await waitUntil(() => eventsOf('dev-bye', 'deviceDisconnected').length === 1);
      const sequence = (e: RawIotHubMessage | undefined) =>
        BigInt(`0x${(e?.body as { sequenceNumber: string }).sequenceNumber}`);
      const [connected] = eventsOf('dev-bye', 'deviceConnected');
      const [disconnected] = eventsOf('dev-bye', 'deviceDisconnected');
      expect(sequence(disconnected)).toBeGreaterThan(sequence(connected));
      expect(endpoint.isConnected('dev-bye')).toBe(false);
    });

    it('refuses a device the hub does not know, whatever its certificate', async () => {
      const stranger = await selfSignedDevice('dev-stranger', VALID);
      await expect(opened(stranger)).rejects.toMatchObject({ name: 'UnauthorizedError' });
      expect(endpoint.refusals.at(-1)).toMatchObject({
        clientId: 'dev-stranger',
        reason: expect.stringContaining('not registered') as string,
      });
      expect(eventsOf('dev-stranger', 'deviceConnected')).toHaveLength(0);
    });

    it('refuses a certificate whose thumbprint is not the registered one', async () => {
      await registered('dev-swapped');
      const other = await selfSignedDevice('dev-swapped', VALID);
      await expect(opened(other)).rejects.toMatchObject({ name: 'UnauthorizedError' });
      expect(endpoint.refusals.at(-1)?.reason).toContain('thumbprint is not registered');
    });

    it('refuses an expired certificate, as IoT Hub does: the device must re-provision', async () => {
      const identity = await registered('dev-expired');
      clock.set('2026-04-01T00:00:01Z');
      await expect(opened(identity)).rejects.toMatchObject({ name: 'UnauthorizedError' });
      expect(endpoint.refusals.at(-1)?.reason).toContain('expired at 2026-04-01T00:00:00.000Z');
    });

    it('refuses a certificate that is not valid yet', async () => {
      const identity = await registered('dev-early');
      clock.set('2026-01-31T23:59:59Z');
      await expect(opened(identity)).rejects.toMatchObject({ name: 'UnauthorizedError' });
      expect(endpoint.refusals.at(-1)?.reason).toContain('not valid before');
    });

    it('accepts a CA-signed device whose CN is its id, once the CA is registered', async () => {
      const { root, issuing } = await deviceCa('partner', VALID);
      const device = await caSignedDevice('dev-ca', issuing, VALID);
      endpoint.registerDevice('dev-ca');
      await expect(opened(device)).rejects.toMatchObject({ name: 'UnauthorizedError' });
      expect(endpoint.refusals.at(-1)?.reason).toContain('does not chain to a registered CA');

      endpoint.registerCa(toPem(root.certificate));
      await opened(device);
      await waitUntil(() => endpoint.isConnected('dev-ca'));
    });

    it('refuses a CA-signed certificate whose CN is another device', async () => {
      const { root, issuing } = await deviceCa('partner-cn', VALID);
      endpoint.registerCa(toPem(root.certificate));
      endpoint.registerDevice('dev-cn');
      const borrowed = await caSignedDevice('dev-cn', issuing, VALID, 'dev-someone-else');
      await expect(opened(borrowed)).rejects.toMatchObject({ name: 'UnauthorizedError' });
      expect(endpoint.refusals.at(-1)?.reason).toContain('is not "dev-cn"');
    });

    it('accepts a chain reaching a registered issuing CA; the CN must match in case', async () => {
      const { issuing } = await deviceCa('policy', VALID);
      // The intermediate is the trust anchor (certificate management's issuing CA), not the root.
      endpoint.registerCa(toPem(issuing.certificate));
      endpoint.registerDevice('dev-anchor');
      await opened(await caSignedDevice('dev-anchor', issuing, VALID));
      await waitUntil(() => endpoint.isConnected('dev-anchor'));

      const shouting = await caSignedDevice('dev-anchor', issuing, VALID, 'DEV-ANCHOR');
      await expect(opened(shouting)).rejects.toMatchObject({ name: 'UnauthorizedError' });
      expect(endpoint.refusals.at(-1)?.reason).toBe(
        'the certificate\'s CN "DEV-ANCHOR" is not "dev-anchor"',
      );
    });

    it('refuses MQTT 3.1: IoT Hub speaks 3.1.1 only', async () => {
      const identity = await registered('dev-mqtt31');
      const client = mqtt.connect(`mqtts://${endpoint.address}`, {
        clientId: 'dev-mqtt31',
        username: `${endpoint.hostName}/dev-mqtt31/?api-version=2021-04-12`,
        cert: identity.certPem,
        key: identity.keyPem,
        ca: endpoint.caPem,
        protocolId: 'MQIsdp',
        protocolVersion: 3,
        reconnectPeriod: 0,
      });
      rawClients.push(client);
      const error = await new Promise<Error>((resolve) => client.once('error', resolve));
      expect(error.message).toMatch(/Connection refused/);
      expect(endpoint.refusals.at(-1)?.reason).toContain('not 4 (3.1.1)');
    });

    it('refuses a username that names another device than the client id', async () => {
      const identity = await registered('dev-name');
      const client = mqtt.connect(`mqtts://${endpoint.address}`, {
        clientId: 'dev-name',
        username: `${endpoint.hostName}/dev-other/?api-version=2021-04-12`,
        cert: identity.certPem,
        key: identity.keyPem,
        ca: endpoint.caPem,
        protocolVersion: 4,
        reconnectPeriod: 0,
      });
      rawClients.push(client);
      const error = await new Promise<Error>((resolve) => client.once('error', resolve));
      expect(error.message).toContain('Not authorized');
    });

    it('keeps one connection per device: a new one closes the old', async () => {
      const identity = await registered('dev-twice');
      const first = rawClient(identity);
      await once(first, 'connect');
      const firstClosed = once(first, 'close');
      const second = rawClient(identity);
      await once(second, 'connect');
      await firstClosed;
      await waitUntil(() => eventsOf('dev-twice', 'deviceConnected').length === 2);
      const order = events
        .filter((e) => e.properties?.deviceId === 'dev-twice')
        .map((e) => e.properties?.opType);
      expect(order).toEqual(['deviceConnected', 'deviceDisconnected', 'deviceConnected']);
      expect(endpoint.isConnected('dev-twice')).toBe(true);
    });
  });

  describe('topics', () => {
    it('closes the connection of a device that subscribes to another device’s messages', async () => {
      const identity = await registered('dev-nosy');
      const client = rawClient(identity);
      await once(client, 'connect');
      const closed = once(client, 'close');
      client.subscribe('devices/dev-connect/messages/devicebound/#', { qos: 1 });
      await closed;
      expect(endpoint.isConnected('dev-nosy')).toBe(false);
      expect(endpoint.violations.at(-1)).toMatchObject({
        deviceId: 'dev-nosy',
        reason: 'IoT Hub does not serve the filter "devices/dev-connect/messages/devicebound/#"',
      });
    });

    it('grants the device its own topics', async () => {
      const identity = await registered('dev-own');
      const client = rawClient(identity);
      await once(client, 'connect');
      const granted = await new Promise<mqtt.ISubscriptionGrant[]>((resolve, reject) =>
        client.subscribe(
          {
            'devices/dev-own/messages/devicebound/#': { qos: 2 },
            '$iothub/methods/POST/#': { qos: 0 },
          },
          (error, grants) => (error ? reject(error) : resolve(grants)),
        ),
      );
      // 128 would be a refusal; IoT Hub would grant QoS 1 for the 2 asked (see the docs draft).
      expect(granted.map((g) => g.qos).sort()).toEqual([0, 2]);
      expect(endpoint.isConnected('dev-own')).toBe(true);
    });

    it('closes the connection of a device that subscribes to a wildcard of its own', async () => {
      const identity = await registered('dev-wild');
      const client = rawClient(identity);
      await once(client, 'connect');
      const closed = once(client, 'close');
      client.subscribe('$iothub/#');
      await closed;
      expect(endpoint.violations.at(-1)?.deviceId).toBe('dev-wild');
    });

    it('closes the connection of a device that sends telemetry as another device', async () => {
      const identity = await registered('dev-spoof');
      const client = rawClient(identity);
      await once(client, 'connect');
      const closed = once(client, 'close');
      client.publish('devices/dev-connect/messages/events/', '{}', { qos: 1 });
      await closed;
      expect(endpoint.violations.at(-1)).toMatchObject({
        deviceId: 'dev-spoof',
        reason: 'IoT Hub does not take a publish on "devices/dev-connect/messages/events/"',
      });
    });

    it('closes the connection of a device that publishes with QoS 2', async () => {
      const identity = await registered('dev-qos2');
      const client = rawClient(identity);
      await once(client, 'connect');
      const closed = once(client, 'close');
      client.publish('devices/dev-qos2/messages/events/', '{}', { qos: 2 });
      await closed;
      expect(endpoint.violations.at(-1)).toMatchObject({
        deviceId: 'dev-qos2',
        reason: 'IoT Hub does not take QoS 2 publishes',
      });
    });
  });

  describe('the twin', () => {
    it('answers a twin GET with desired and reported properties and their versions', async () => {
      const client = await opened(await registered('dev-get'));
      const twin = await client.getTwin();
      expect(twin.properties.desired).toMatchObject({ $version: 1 });
      expect(twin.properties.reported).toMatchObject({ $version: 1 });
    });

    it('merges a reported patch and emits a twin-change event with only the changed part', async () => {
      const client = await opened(await registered('dev-report'));
      const twin = await client.getTwin();
      const certificate = { validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-04-01T00:00:00Z' };
      await reportedUpdate(twin, { certificate, firmware: '1.2' });
      await reportedUpdate(twin, { firmware: null });

      expect(endpoint.twinOf('dev-report')?.reported).toEqual({ certificate, $version: 3 });
      const [first, second] = eventsOf('dev-report', 'updateTwin');
      expect(first?.body).toEqual({
        version: 2,
        properties: {
          reported: {
            certificate,
            firmware: '1.2',
            $metadata: { $lastUpdated: '2026-03-01T10:00:00.000Z' },
            $version: 2,
          },
        },
      });
      expect(second?.body).toMatchObject({
        version: 3,
        properties: { reported: { firmware: null, $version: 3 } },
      });
      expect(first?.systemProperties?.['iothub-message-source']).toBe('twinChangeEvents');
    });

    it('sends a desired update, with its version, to a device that listens', async () => {
      const client = await opened(await registered('dev-desired'));
      const twin = await client.getTwin();
      const updates: unknown[] = [];
      twin.on('properties.desired', (delta: unknown) => updates.push(delta));
      await waitUntil(() =>
        endpoint.subscriptionsOf('dev-desired').includes('$iothub/twin/PATCH/properties/desired/#'),
      );
      endpoint.updateDesired('dev-desired', { renewAt: '2026-03-20T00:00:00Z' });
      await waitUntil(() => updates.length === 2);
      expect(updates[1]).toEqual({ renewAt: '2026-03-20T00:00:00Z', $version: 2 });
      expect(endpoint.twinOf('dev-desired')?.desired).toEqual({
        renewAt: '2026-03-20T00:00:00Z',
        $version: 2,
      });
    });

    it('refuses a whole patch holding a string over 4 KB, and emits nothing', async () => {
      const client = await opened(await registered('dev-big'));
      const twin = await client.getTwin();
      await expect(reportedUpdate(twin, { note: 'ok', pem: 'x'.repeat(4097) })).rejects.toThrow(
        /4096/,
      );
      expect(endpoint.twinOf('dev-big')?.reported).toEqual({ $version: 1 });
      expect(eventsOf('dev-big', 'updateTwin')).toHaveLength(0);
      await reportedUpdate(twin, { pem: 'x'.repeat(4096) });
      expect(endpoint.twinOf('dev-big')?.reported.$version).toBe(2);
    });
  });

  describe('direct methods, from certfleet’s IoT Hub adapter through the stand-in hub', () => {
    it('reaches a connected device, which answers, and returns its status and payload', async () => {
      const client = await opened(await registered('dev-method'));
      const received: unknown[] = [];
      client.onDeviceMethod('renewCertificate', (call, response) => {
        received.push(call.payload);
        void response.send(202, { requestId: (call.payload as RenewalRequest).requestId });
      });
      timeouts = { connectTimeoutSeconds: 10 };

      await expect(
        methods.requestRenewal({ hub: 'hub-a', deviceId: 'dev-method' }, request),
      ).resolves.toMatchObject({
        kind: 'accepted',
        status: 202,
        payload: { requestId: 'req-0001' },
      });
      expect(received).toEqual([request]);
    });

    it('reaches a device that reconnects with its persistent session', async () => {
      const identity = await registered('dev-again');
      const answering = (client: Client) =>
        client.onDeviceMethod('renewCertificate', (_call, response) => {
          void response.send(200, { connection: sdkClients.indexOf(client) });
        });
      const first = await opened(identity);
      answering(first);
      await waitUntil(() => endpoint.subscriptionsOf('dev-again').length === 1);
      await first.close();

      // The SDK connects with CleanSession 0: the hub restores the methods subscription.
      const second = await opened(identity);
      await waitUntil(() => endpoint.isConnected('dev-again'));
      expect(endpoint.subscriptionsOf('dev-again')).toEqual(['$iothub/methods/POST/#']);
      answering(second);
      timeouts = { connectTimeoutSeconds: 10 };
      await expect(
        methods.requestRenewal({ hub: 'hub-a', deviceId: 'dev-again' }, request),
      ).resolves.toMatchObject({ kind: 'accepted', payload: { connection: 1 } });
      expect(endpoint.violations.filter((v) => v.deviceId === 'dev-again')).toEqual([]);
    });

    it('answers offline for a registered device that is not connected', async () => {
      await registered('dev-away');
      await expect(
        methods.requestRenewal({ hub: 'hub-a', deviceId: 'dev-away' }, request),
      ).resolves.toMatchObject({ kind: 'offline', errorCode: 404103 });
    });

    it('answers offline for a connected device that has not subscribed to methods', async () => {
      await opened(await registered('dev-deaf'));
      await expect(
        methods.requestRenewal({ hub: 'hub-a', deviceId: 'dev-deaf' }, request),
      ).resolves.toMatchObject({ kind: 'offline' });
    });

    it('leaves devices it does not know to the other handler', async () => {
      await expect(
        methods.requestRenewal({ hub: 'hub-a', deviceId: 'dev-simulated' }, request),
      ).resolves.toMatchObject({ kind: 'not-found', errorCode: 404001 });
    });

    it('times out when the device never answers', async () => {
      const client = await opened(await registered('dev-silent'));
      client.onDeviceMethod('renewCertificate', () => undefined);
      // Waits for the subscription (the connect timeout), then 50 ms for an answer never sent.
      await expect(
        endpoint.invokeMethod('hub-a', 'dev-silent', 'renewCertificate', request, {
          connectTimeoutSeconds: 10,
          responseTimeoutSeconds: 0.05,
        }),
      ).resolves.toBe('timeout');
    });
  });
});

/**
 * Waits until `condition` holds: what the sockets deliver arrives when it arrives, so this waits
 * for the outcome (checking every few milliseconds, up to 20 s) instead of asserting a timing.
 */
async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the condition never held');
}
