import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { Aedes, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';
import { RawIotHubMessage } from '../../app/ingest/RawIotHubMessage';
import { Clock, isoUtc, systemClock } from '../../domain/Clock';
import type { StandInAnswer } from '../StandInDirectMethods';
import { deviceConnected, deviceDisconnected, twinUpdated } from '../iotHubMessages';
import { checkClientCertificate, presentedCertificateOf } from './clientCertificate';
import {
  DeviceAssignment,
  DeviceRegistration,
  DeviceRegistry,
  RegisteredDevice,
} from './DeviceRegistry';
import {
  DevicePublish,
  MAX_SUBSCRIPTIONS,
  deliversMethod,
  desiredUpdateTopic,
  isCloudToDeviceTopic,
  methodRequestTopic,
  parseDevicePublish,
  parseUsername,
  subscriptionKind,
  twinResponseTopic,
} from './iotHubTopics';
import { loadAedes } from './loadAedes';
import { LoopbackTlsIdentity, createLoopbackTlsIdentity } from './LoopbackTlsIdentity';
import { TwinSection, reportedPatchProblem } from './twinPatch';

/** What a direct-method call through the endpoint comes to, in the stand-in hub's terms. */
export type MethodInvocationResult =
  | Extract<StandInAnswer, { device: unknown }>
  /** 404 404001: the hub has no such device. */
  | 'not-found'
  /** 404 404103: not connected, or not subscribed to methods, within the connect timeout. */
  | 'offline'
  /** 504 504101: connected, but no answer within the response timeout. */
  | 'timeout';

export interface MethodTimeouts {
  /** IoT Hub: 5 to 300 seconds, default 30. The stand-in takes any positive number. */
  responseTimeoutSeconds?: number;
  /** IoT Hub: 0 to 300 seconds, default 0: how long to wait for the device to connect. */
  connectTimeoutSeconds?: number;
}

/** A CONNECT the endpoint refused, and why (IoT Hub logs it; the device sees CONNACK 5). */
export interface ConnectionRefusal {
  clientId: string;
  reason: string;
  at: string;
}

/** A subscribe or publish that made the endpoint close a device's connection, and why. */
export interface TopicViolation {
  deviceId: string;
  reason: string;
  at: string;
}

export interface StandInDeviceEndpointOptions {
  /** The hub's name, as events carry it; devices name `{hub}.azure-devices.net`. */
  hub: string;
  /** The time of certificate validity checks and of events. Default: the wall clock. */
  clock?: Clock;
  /** Each routed event (twin change, connection state), as Event Hubs would deliver it. */
  onEvent?: (message: RawIotHubMessage) => void;
  /** The server's TLS identity; a fresh one under a fresh local CA when absent. */
  tls?: LoopbackTlsIdentity;
}

/** One connected device. */
interface Session {
  client: Client;
  device: RegisteredDevice;
  /** Filter -> what it subscribes to. */
  subscriptions: Map<string, NonNullable<ReturnType<typeof subscriptionKind>>>;
}

interface PendingCall {
  deviceId: string;
  resolve: (result: MethodInvocationResult) => void;
}

/**
 * MQTT 3.1.1 CONNACK return codes. Which one IoT Hub sends for each refusal is not documented;
 * the stand-in answers 5 ("not authorized"), or 4 ("bad user name or password") for a user
 * name of the wrong form. The Node SDK turns both into an UnauthorizedError.
 */
const NOT_AUTHORIZED = 5;
const BAD_USERNAME = 4;
/** Over the longest client id IoT Hub takes (`{device id}/{module id}`, 128 + 1 + 128). */
const MAX_CLIENT_ID_LENGTH = 257;

/**
 * A stand-in for IoT Hub's device endpoint: MQTT 3.1.1 over TLS, on a free loopback port, with
 * the aedes broker underneath and IoT Hub's rules on top (Learn, "Communicate with an IoT hub
 * using the MQTT protocol"; the Node device SDK, azure-iot-device-mqtt, for what devices send):
 * - CONNECT: client id = device id; username `{hub host}/{device id}/?api-version=…`, where the
 *   host may be the hub's name or the address dialled (`localhost:{port}`, what the SDK sends
 *   when its `HostName` carries the port); an X.509 client certificate, valid at the clock,
 *   whose thumbprint is registered for the device or which chains to a registered CA with the
 *   device id as CN. Anything else: CONNACK 5 (4 for a malformed username).
 * - One connection per device: a new one closes the old.
 * - Only IoT Hub's topics, a device only its own, at most five subscriptions; anything else,
 *   and QoS 2 publishes, close the connection, as IoT Hub does.
 * - Twin: GET answered `200` with `{desired, reported}` and their `$version`; reported patches
 *   merged under IoT Hub's twin limits (twinPatch.ts), answered `204` with the new `$version`,
 *   or `400` refusing the whole patch.
 * - Direct methods (`invokeMethod`): QoS 0 request on `$iothub/methods/POST/{name}/?$rid=`, the
 *   device's answer on `$iothub/methods/res/{status}/?$rid=`.
 * - Events: each accepted reported patch is an `updateTwin` twin-change event, each connect and
 *   disconnect a connection-state event with an increasing sequence number, handed to
 *   `onEvent` as IoT Hub routes them to Event Hubs.
 */
export class StandInDeviceEndpoint {
  /** Refused connections, oldest first. */
  readonly refusals: ConnectionRefusal[] = [];
  /** Connections closed for a subscription or a publish IoT Hub does not take, oldest first. */
  readonly violations: TopicViolation[] = [];
  /** Telemetry messages received (IoT Hub would route them; certfleet does not read them). */
  telemetryReceived = 0;
  readonly hub: string;
  /** `{hub}.azure-devices.net`: the host a device names in its username. */
  readonly hostName: string;
  private readonly registry = new DeviceRegistry();
  /** Connected devices' sessions, by device id. */
  private readonly sessions = new Map<string, Session>();
  /**
   * Every authenticated connection's session, from CONNECT on: aedes restores a persistent
   * session's subscriptions (the SDK connects with CleanSession 0) before the client is ready.
   */
  private readonly byClient = new WeakMap<Client, Session>();
  private readonly pending = new Map<string, PendingCall>();
  private readonly methodWaiters = new Map<string, Set<() => void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<tls.TLSSocket>();
  private readonly clock: Clock;
  private readonly onEvent?: (message: RawIotHubMessage) => void;
  private nextRid = 1;
  private closing?: Promise<void>;

  private constructor(
    options: StandInDeviceEndpointOptions,
    private readonly broker: Aedes,
    private readonly server: tls.Server,
    readonly port: number,
    /** The local CA devices trust the endpoint through (the SDK's `ca` option). */
    readonly caPem: string,
  ) {
    this.hub = options.hub.toLowerCase();
    this.hostName = `${this.hub}.azure-devices.net`;
    this.clock = options.clock ?? systemClock;
    this.onEvent = options.onEvent;
  }

  /** Starts the endpoint on a free port of 127.0.0.1. */
  static async start(options: StandInDeviceEndpointOptions): Promise<StandInDeviceEndpoint> {
    const identity = options.tls ?? (await createLoopbackTlsIdentity(`${options.hub} endpoint`));
    const AedesBroker = loadAedes();
    const broker = new AedesBroker({ maxClientsIdLength: MAX_CLIENT_ID_LENGTH });
    await broker.listen();
    const server = tls.createServer({
      cert: identity.certPem,
      key: identity.keyPem,
      // Which device a client is comes only with CONNECT's client id, so the TLS layer takes
      // any certificate and `refusal` checks it then, at the stand-in's clock.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const endpoint = new StandInDeviceEndpoint(options, broker, server, port, identity.caPem);
    endpoint.attach();
    return endpoint;
  }

  /** `localhost:{port}`: what a device puts in its connection string's `HostName`. */
  get address(): string {
    return `localhost:${this.port}`;
  }

  /** Registers a device: with thumbprints, self-signed; without, authenticated through a CA. */
  registerDevice(deviceId: string, registration: DeviceRegistration = {}): void {
    this.registry.register(deviceId, registration);
  }

  /** Trusts a CA for devices without thumbprints (IoT Hub: an uploaded, verified CA). */
  registerCa(pem: string): void {
    this.registry.registerCa(pem);
  }

  /**
   * DPS assigned the device here: it authenticates through the issuing CA of the policy that
   * issued its certificate, or by the thumbprint of the one it presented (DeviceRegistry).
   */
  assignDevice(deviceId: string, assignment: DeviceAssignment): void {
    this.registry.assign(deviceId, assignment);
  }

  isRegistered(deviceId: string): boolean {
    return this.registry.get(deviceId) !== undefined;
  }

  isConnected(deviceId: string): boolean {
    return this.sessions.has(deviceId);
  }

  /** The topic filters the device's connection subscribes to; empty when it is not connected. */
  subscriptionsOf(deviceId: string): string[] {
    return [...(this.sessions.get(deviceId)?.subscriptions.keys() ?? [])];
  }

  /** A copy of the device's twin properties, with their versions. */
  twinOf(deviceId: string): { desired: TwinSection; reported: TwinSection } | undefined {
    const twin = this.registry.get(deviceId)?.twin;
    if (!twin) return undefined;
    return structuredClone({
      desired: { ...twin.desired, $version: twin.desiredVersion },
      reported: { ...twin.reported, $version: twin.reportedVersion },
    });
  }

  /**
   * The service updates desired properties: merged, and sent to the device if it is connected
   * and subscribed (`$iothub/twin/PATCH/properties/desired/?$version=`). No event is emitted:
   * certfleet reads reported properties only.
   */
  updateDesired(deviceId: string, patch: TwinSection): void {
    const device = this.registry.get(deviceId);
    if (!device) throw new RangeError(`device ${deviceId} is not registered`);
    const twin = this.registry.applyDesiredPatch(device, patch);
    const session = this.sessions.get(deviceId);
    if (session && [...session.subscriptions.values()].includes('desired-updates')) {
      this.send(
        session,
        desiredUpdateTopic(twin.desiredVersion),
        JSON.stringify({ ...patch, $version: twin.desiredVersion }),
      );
    }
  }

  /** Whether this endpoint is where `hub`'s device `deviceId` lives. */
  serves(hub: string, deviceId: string): boolean {
    return hub.toLowerCase() === this.hub && this.isRegistered(deviceId);
  }

  /**
   * Invokes a direct method on a connected device, as IoT Hub does for `POST
   * /twins/{id}/methods`: waits up to `connectTimeoutSeconds` for the device to connect and
   * subscribe to methods, publishes the request (QoS 0), then waits up to
   * `responseTimeoutSeconds` for its answer.
   */
  async invokeMethod(
    hub: string,
    deviceId: string,
    methodName: string,
    payload: unknown,
    timeouts: MethodTimeouts = {},
  ): Promise<MethodInvocationResult> {
    if (!this.serves(hub, deviceId)) return 'not-found';
    if (this.closing) return 'offline';
    const responseMs = (timeouts.responseTimeoutSeconds ?? 30) * 1000;
    const connectMs = (timeouts.connectTimeoutSeconds ?? 0) * 1000;
    let session = this.methodSession(deviceId, methodName);
    if (!session && connectMs > 0) {
      await this.waitForMethods(deviceId, connectMs);
      session = this.methodSession(deviceId, methodName);
    }
    if (!session) return 'offline';

    const rid = (this.nextRid++).toString(16);
    const key = pendingKey(deviceId, rid);
    return new Promise<MethodInvocationResult>((resolve) => {
      const timer = this.after(responseMs, () => finish('timeout'));
      const finish = (result: MethodInvocationResult) => {
        this.pending.delete(key);
        this.clear(timer);
        resolve(result);
      };
      this.pending.set(key, { deviceId, resolve: finish });
      // IoT Hub sends the payload as JSON, or an empty body when there is none.
      const body = payload === undefined ? '' : JSON.stringify(payload);
      this.send(session, methodRequestTopic(methodName, rid), body);
    });
  }

  /** Ends every connection, the broker and the server. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const call of [...this.pending.values()]) call.resolve('offline');
    for (const waiters of this.methodWaiters.values()) for (const wake of waiters) wake();
    this.methodWaiters.clear();
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Wires the TLS server to the broker and IoT Hub's rules into the broker. */
  private attach(): void {
    this.server.on('secureConnection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      this.broker.handle(socket);
    });
    // A client that fails the TLS handshake is dropped by Node; nothing to record.
    this.server.on('tlsClientError', () => undefined);

    this.broker.authenticate = (client, username, _password, done) => {
      this.refusal(client, username).then(
        (refused) => {
          if ('device' in refused) {
            this.byClient.set(client, { client, device: refused.device, subscriptions: new Map() });
            done(null, true);
            return;
          }
          this.refusals.push({ clientId: client.id, reason: refused.reason, at: this.now() });
          const error = Object.assign(new Error(refused.reason), {
            returnCode: refused.returnCode,
          }) as AuthenticateError;
          done(error, null);
        },
        (error: unknown) => {
          const reason = `the endpoint failed: ${String(error)}`;
          this.refusals.push({ clientId: client.id, reason, at: this.now() });
          done(Object.assign(new Error(reason), { returnCode: 3 }) as AuthenticateError, null);
        },
      );
    };
    this.broker.authorizeSubscribe = (client, subscription, done) =>
      done(this.violation(client, this.subscribeProblem(client, subscription)), subscription);
    this.broker.authorizePublish = (client, packet, done) =>
      this.devicePublish(client, packet, (error) => done(this.violation(client, error ?? null)));
    // Nothing is routed between devices: only what the endpoint itself sends reaches one.
    this.broker.authorizeForward = (client, packet) =>
      isCloudToDeviceTopic(packet.topic, client.id) ? packet : null;

    this.broker.on('clientReady', (client) => this.connected(client));
    this.broker.on('clientDisconnect', (client) => this.disconnected(client));
  }

  /** Why IoT Hub refuses this CONNECT, or the device it accepts. */
  private async refusal(
    client: Client,
    username: string | undefined,
  ): Promise<{ reason: string; returnCode: number } | { device: RegisteredDevice }> {
    const refuse = (reason: string, returnCode = NOT_AUTHORIZED) => ({ reason, returnCode });
    // IoT Hub speaks MQTT 3.1.1 (protocol level 4) only, not 3.1 or 5 (Learn, "Communicate with an
    // IoT hub using the MQTT protocol"); refused like any other CONNECT it will not take.
    const version = (client as { version?: number }).version;
    if (version !== 4) return refuse(`MQTT protocol level ${String(version)}, not 4 (3.1.1)`);
    const parsed = username ? parseUsername(username) : undefined;
    if (!parsed) {
      return refuse('the username is not "{hub host}/{device id}/?api-version=…"', BAD_USERNAME);
    }
    if (parsed.deviceId !== client.id) {
      return refuse(`the username names device "${parsed.deviceId}", the client id "${client.id}"`);
    }
    if (!this.acceptsHost(parsed.host)) {
      return refuse(`the username names host "${parsed.host}", not "${this.hostName}"`);
    }
    const device = this.registry.get(client.id);
    if (!device) return refuse(`device "${client.id}" is not registered with the hub`);
    const verdict = await checkClientCertificate({
      presented: presentedCertificateOf(client.conn as tls.TLSSocket),
      accept: this.registry.credentialsOf(device),
      at: this.clock.now(),
      ...(device.authentication === 'certificateAuthority' ? { commonName: device.deviceId } : {}),
    });
    return verdict.ok ? { device } : refuse(verdict.reason);
  }

  private acceptsHost(host: string): boolean {
    const lower = host.toLowerCase();
    return (
      lower === this.hostName ||
      lower === `localhost:${this.port}` ||
      lower === `127.0.0.1:${this.port}`
    );
  }

  private connected(client: Client): void {
    const session = this.byClient.get(client);
    if (!session || this.closing) return;
    const device = session.device;
    this.sessions.set(device.deviceId, session);
    this.emit(() =>
      deviceConnected(this.origin(device), this.registry.nextConnectionSequence(device)),
    );
    // Subscriptions restored from a persistent session take effect now.
    if ([...session.subscriptions.values()].includes('methods')) this.wake(device.deviceId);
  }

  private disconnected(client: Client): void {
    const session = this.sessions.get(client.id);
    // A connection closed by a newer one of the same device is no longer the device's session.
    if (!session || session.client !== client) return;
    this.sessions.delete(client.id);
    if (this.closing) return;
    const device = session.device;
    this.emit(() =>
      deviceDisconnected(this.origin(device), this.registry.nextConnectionSequence(device)),
    );
  }

  /** Records why a device's connection is being closed; passes the error on. */
  private violation(client: Client | null, error: Error | null): Error | null {
    if (error && client) {
      this.violations.push({ deviceId: client.id, reason: error.message, at: this.now() });
    }
    return error;
  }

  /**
   * Why IoT Hub refuses this subscription; null when it takes it. IoT Hub then closes the
   * connection rather than answer a failure in the SUBACK (Azure's FreeRTOS middleware,
   * azure_iot_hub_client.c: "IoT Hub would disconnect if there was a problem subscribing").
   */
  private subscribeProblem(client: Client, subscription: Subscription): Error | null {
    const session = this.byClient.get(client);
    if (!session) return new Error('not connected');
    const kind = subscriptionKind(subscription.topic, session.device.deviceId);
    if (!kind) return new Error(`IoT Hub does not serve the filter "${subscription.topic}"`);
    if (!session.subscriptions.has(subscription.topic)) {
      if (session.subscriptions.size >= MAX_SUBSCRIPTIONS) {
        return new Error(`IoT Hub allows ${MAX_SUBSCRIPTIONS} subscriptions a device`);
      }
      session.subscriptions.set(subscription.topic, kind);
    }
    // IoT Hub grants at most QoS 1 in its SUBACK; aedes grants what was asked (its SUBACK is
    // built before this check runs). The endpoint sends everything at QoS 0 anyway.
    if (kind === 'methods' && this.sessions.get(client.id) === session) {
      this.wake(session.device.deviceId);
    }
    return null;
  }

  private devicePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    // A will message, published once its device is gone: IoT Hub sends it on as telemetry.
    if (!client) {
      done(null);
      return;
    }
    const session = this.byClient.get(client);
    if (!session || this.sessions.get(client.id) !== session) {
      const own = packet.topic.startsWith(`devices/${client.id}/messages/events/`);
      done(own ? null : new Error('not connected'));
      return;
    }
    // "IoT Hub doesn't support QoS 2 messages … IoT Hub closes the network connection."
    if (packet.qos === 2) {
      done(new Error('IoT Hub does not take QoS 2 publishes'));
      return;
    }
    const request = parseDevicePublish(packet.topic, session.device.deviceId);
    if (!request) {
      done(new Error(`IoT Hub does not take a publish on "${packet.topic}"`));
      return;
    }
    // IoT Hub keeps no retained message.
    packet.retain = false;
    done(null);
    const payload =
      typeof packet.payload === 'string' ? packet.payload : packet.payload.toString('utf8');
    this.handle(session, request, payload);
  }

  private handle(session: Session, request: DevicePublish, payload: string): void {
    const device = session.device;
    switch (request.kind) {
      case 'telemetry':
        this.telemetryReceived += 1;
        return;
      case 'twin-get': {
        const twin = device.twin;
        this.send(
          session,
          twinResponseTopic(200, request.rid),
          JSON.stringify({
            desired: { ...twin.desired, $version: twin.desiredVersion },
            reported: { ...twin.reported, $version: twin.reportedVersion },
          }),
        );
        return;
      }
      case 'twin-patch-reported': {
        let patch: unknown;
        try {
          patch = JSON.parse(payload);
        } catch {
          patch = undefined;
        }
        const problem =
          patch === undefined
            ? 'the body is not JSON'
            : reportedPatchProblem(patch, device.twin.reported);
        if (problem) {
          // The SDK reads `errorCode` and `message` from the body of a failed twin request.
          this.send(session, twinResponseTopic(400, request.rid), this.errorBody(400004, problem));
          return;
        }
        const accepted = patch as TwinSection;
        const twin = this.registry.applyReportedPatch(device, accepted);
        this.send(session, twinResponseTopic(204, request.rid, twin.reportedVersion), '');
        this.emit(() =>
          twinUpdated(this.origin(device), twin.reportedVersion, accepted, twin.version),
        );
        return;
      }
      case 'method-response': {
        const call = this.pending.get(pendingKey(device.deviceId, request.rid));
        call?.resolve({ device: { status: request.status, payload: parseAnswer(payload) } });
        return;
      }
    }
  }

  /** The device's session if it is connected and subscribed to calls of `methodName`. */
  private methodSession(deviceId: string, methodName: string): Session | undefined {
    const session = this.sessions.get(deviceId);
    if (!session) return undefined;
    for (const [filter, kind] of session.subscriptions) {
      if (kind === 'methods' && deliversMethod(filter, methodName)) return session;
    }
    return undefined;
  }

  /** Resolves when the device subscribes to methods, or after `ms`. */
  private waitForMethods(deviceId: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiters = this.methodWaiters.get(deviceId) ?? new Set<() => void>();
      this.methodWaiters.set(deviceId, waiters);
      const wake = () => {
        waiters.delete(wake);
        this.clear(timer);
        resolve();
      };
      const timer = this.after(ms, wake);
      waiters.add(wake);
    });
  }

  private wake(deviceId: string): void {
    const waiters = this.methodWaiters.get(deviceId);
    if (!waiters) return;
    this.methodWaiters.delete(deviceId);
    // After the SUBACK: the subscription is in place once this turn of the loop ends.
    setImmediate(() => {
      for (const wake of waiters) wake();
    });
  }

  private send(session: Session, topic: string, body: string): void {
    session.client.publish(
      {
        cmd: 'publish',
        topic,
        payload: Buffer.from(body, 'utf8'),
        qos: 0,
        retain: false,
        dup: false,
      },
      () => undefined,
    );
  }

  /** IoT Hub's error body (lower-case `errorCode` and `message`, as the device SDKs read it). */
  private errorBody(errorCode: number, message: string): string {
    return JSON.stringify({
      errorCode,
      trackingId: randomBytes(16).toString('hex'),
      message,
      timestampUtc: this.now(),
    });
  }

  private origin(device: RegisteredDevice) {
    return { hub: this.hub, deviceId: device.deviceId, at: this.now() };
  }

  private now(): string {
    return isoUtc(this.clock.now());
  }

  private emit(build: () => RawIotHubMessage): void {
    if (!this.onEvent) return;
    try {
      this.onEvent(build());
    } catch {
      // The caller's failure is the caller's: the hub goes on.
    }
  }

  private after(ms: number, action: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private clear(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }
}

function pendingKey(deviceId: string, rid: string): string {
  return `${deviceId}\u0000${rid}`;
}

/** A method answer's body: JSON, empty (null), or (not what IoT Hub expects) the raw text. */
function parseAnswer(body: string): unknown {
  if (body.trim() === '') return null;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}
