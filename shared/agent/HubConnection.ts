import { TlsClientCredential } from './DeviceCredential';
import { MethodAnswer } from './RenewalRequest';

/**
 * The agent's view of IoT Hub's device endpoint: connect with a certificate, answer one direct
 * method, patch reported properties. `AzureIotHubConnection` implements it with the Azure IoT
 * device SDK over MQTT; tests use a hand-written double.
 */
export interface HubConnection {
  open(target: HubTarget, handlers: SessionHandlers): Promise<HubSession>;
}

export interface HubTarget {
  /** The hub's host name as DPS assigned it (`registrationState.assignedHub`). */
  hubHostName: string;
  deviceId: string;
  credential: TlsClientCredential;
  /** Every CA to trust for the hub's TLS certificate (PEM; replaces Node's built-in roots); those roots when absent. */
  caPem?: string;
  /**
   * `host:port` to connect to instead of the hub's own name on 8883 (a stand-in hub on
   * loopback, or a gateway). The MQTT user name still names `hubHostName`.
   */
  endpoint?: string;
  /** The direct method certfleet invokes (docs/device-contract.md). */
  methodName: string;
}

/**
 * Answers a direct method at once. `afterAnswer`, when given, runs once the answer is sent:
 * the work the answer promised (a renewal) starts only then.
 */
export type MethodHandler = (payload: unknown) => MethodAnswer & { afterAnswer?: () => void };

export interface SessionHandlers {
  onMethod: MethodHandler;
  /** The connection was lost and the SDK gave up re-establishing it. */
  onDisconnect(reason: string): void;
}

export interface HubSession {
  /** What the twin holds under `property` in its reported properties, if anything. */
  reported(property: string): unknown;
  /** Sends a reported-properties patch (a JSON merge patch); resolves once IoT Hub accepted it. */
  report(patch: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}
