import { Client, DeviceMethodRequest, DeviceMethodResponse, Twin } from 'azure-iot-device';
import { X509AuthenticationProvider } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { HubConnection, HubSession, HubTarget, SessionHandlers } from './HubConnection';

/**
 * IoT Hub's device endpoint through the Azure IoT device SDK (azure-iot-device 1.18 with the
 * azure-iot-device-mqtt 1.16 transport): X.509 authentication, one direct method, reported
 * properties.
 *
 * Where the SDK connects. The MQTT transport connects to `mqtts://<gatewayHostName or host>`
 * and names `<host>/<deviceId>/?api-version=…` as the MQTT user name (azure-iot-device-mqtt,
 * `Mqtt._getBaseTransportConfig`); mqtt.js reads a port from that URL and uses 8883 otherwise.
 * A connection string `HostName=…;DeviceId=…;x509=true` gives the transport only `host` and
 * `deviceId` (`Client.fromConnectionString` builds the X509AuthenticationProvider from those
 * two and drops `GatewayHostName`), so the only way to another port with a connection string
 * is a HostName with the port in it, which also puts the port in the user name. For an
 * endpoint of its own (a stand-in hub on a loopback port) the agent therefore gives the
 * SDK's X509AuthenticationProvider a `gatewayHostName` of `host:port` and keeps the hub's name
 * as `host`: the URL carries the port and the user name stays the hub's, as IoT Hub expects
 * (Learn, "Communicate with an IoT hub using the MQTT protocol": user name
 * `{iotHub-hostname}/{device-id}/?api-version=2021-04-12`).
 */
export class AzureIotHubConnection implements HubConnection {
  async open(target: HubTarget, handlers: SessionHandlers): Promise<HubSession> {
    const client = deviceClientFor(target);
    let closing = false;
    client.on('error', (error: Error) => {
      if (!closing) handlers.onDisconnect(`client error: ${error.message}`);
    });
    client.on('disconnect', (reason?: { reason?: unknown }) => {
      if (!closing) handlers.onDisconnect(describeDisconnect(reason));
    });
    await client.setOptions({
      cert: target.credential.certificateChainPem,
      key: target.credential.privateKeyPem,
      ...(target.caPem ? { ca: target.caPem } : {}),
    });
    try {
      await client.open();
      client.onDeviceMethod(
        target.methodName,
        (request: DeviceMethodRequest, response: DeviceMethodResponse) => {
          void answerMethod(request, response, handlers);
        },
      );
      const twin = await client.getTwin();
      return new SdkHubSession(client, twin, () => {
        closing = true;
      });
    } catch (error) {
      closing = true;
      await client.close().catch(() => undefined);
      throw error;
    }
  }
}

/** The SDK client for a target: by connection string, or with a gateway for an own endpoint. */
export function deviceClientFor(target: HubTarget): Client {
  if (!target.endpoint) {
    return Client.fromConnectionString(
      `HostName=${target.hubHostName};DeviceId=${target.deviceId};x509=true`,
      Mqtt,
    );
  }
  const provider = new X509AuthenticationProvider({
    host: target.hubHostName,
    deviceId: target.deviceId,
    gatewayHostName: target.endpoint,
  });
  return Client.fromAuthenticationProvider(provider, Mqtt);
}

async function answerMethod(
  request: DeviceMethodRequest,
  response: DeviceMethodResponse,
  handlers: SessionHandlers,
): Promise<void> {
  const answer = handlers.onMethod(request.payload as unknown);
  try {
    await response.send(answer.status, answer.payload);
  } catch {
    // The answer was lost with the connection: certfleet sees a timeout and asks again, and
    // the SDK (or the agent, once the SDK gives up) reconnects.
    return;
  }
  answer.afterAnswer?.();
}

class SdkHubSession implements HubSession {
  constructor(
    private readonly client: Client,
    private readonly twin: Twin,
    private readonly markClosing: () => void,
  ) {}

  reported(property: string): unknown {
    const reported = this.twin.properties.reported as Record<string, unknown>;
    return reported[property];
  }

  report(patch: Record<string, unknown>): Promise<void> {
    const reported = this.twin.properties.reported as {
      update(patch: unknown, done: (error?: Error) => void): void;
    };
    // The agent bounds the wait (DeviceAgent's REPORT_TIMEOUT_MS): the SDK never fails a twin
    // request whose answer was lost with the connection.
    return new Promise((resolve, reject) => {
      reported.update(patch, (error?: Error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    // The listeners stay: an 'error' event with none would be thrown; they ignore it now.
    this.markClosing();
    await this.client.close();
  }
}

function describeDisconnect(reason?: { reason?: unknown }): string {
  const cause = reason?.reason;
  if (cause instanceof Error) return cause.message;
  return cause !== undefined ? String(cause) : 'disconnected';
}
