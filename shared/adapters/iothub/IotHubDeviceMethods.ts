import { TokenCredential } from '@azure/identity';
import { DeviceMethods } from '../../app/ports';
import { DAY_MS } from '../../domain/Clock';
import { DeviceKey } from '../../domain/DeviceKey';
import { MethodOutcome, RenewalRequest } from '../../domain/renewal/MethodOutcome';
import { IotHubSettings } from '../../config/iotHubSettings';
import { IotHubAccess } from './IotHubAccess';
import { ERROR_NAMES_BY_CODE, iotHubErrorCode } from './iotHubErrors';
import { iotHubRequest, networkFault, retryAfterOf, tokenFailure } from './iotHubHttp';

// Still exported here, where they were first defined; they now live in IotHubAccess.
export { IOT_HUB_API_VERSION, IOT_HUB_SCOPE } from './IotHubAccess';

export interface IotHubDeviceMethodsOptions {
  settings: IotHubSettings;
  /** Needed when a hub is reached with Entra ID; `fromSettings` builds it from the settings. */
  credential?: TokenCredential;
  /** The clock of SAS expiry and token caching. */
  now?: () => Date;
  /** Routing and tokens shared with other IoT Hub adapters; built from the above if absent. */
  access?: IotHubAccess;
}

/**
 * Asks a device to renew its certificate by invoking the renewal direct method through its
 * hub's REST API, and classifies every answer as a `MethodOutcome`: it never throws for what
 * a hub, the network or a device does. One instance per process; it caches one token per hub.
 */
export class IotHubDeviceMethods implements DeviceMethods {
  private readonly settings: IotHubSettings;
  private readonly access: IotHubAccess;
  private readonly now: () => Date;

  constructor(options: IotHubDeviceMethodsOptions) {
    this.settings = options.settings;
    this.access =
      options.access ??
      new IotHubAccess({
        settings: options.settings,
        ...(options.credential ? { credential: options.credential } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
    this.now = this.access.now;
  }

  /** The adapter for the settings, with a managed identity or DefaultAzureCredential as set. */
  static fromSettings(settings: IotHubSettings, now?: () => Date): IotHubDeviceMethods {
    return new IotHubDeviceMethods({ settings, access: IotHubAccess.fromSettings(settings, now) });
  }

  async requestRenewal(device: DeviceKey, request: RenewalRequest): Promise<MethodOutcome> {
    const target = this.access.targetOf(device.hub);
    if (!target) {
      return {
        kind: 'error',
        transient: false,
        reason: `no connection configured for hub ${device.hub}`,
      };
    }
    // A `.` or `..` segment is resolved away by every URL parser, escaped or not (WHATWG URL:
    // `%2e%2e` is a double-dot segment), so such a device cannot be addressed over REST.
    if (device.deviceId === '' || device.deviceId === '.' || device.deviceId === '..') {
      return {
        kind: 'error',
        transient: false,
        reason: `device id '${device.deviceId}' cannot be addressed in IoT Hub's REST API`,
      };
    }

    let authorization: string;
    try {
      authorization = await this.access.authorizationFor(target);
    } catch (error) {
      return { kind: 'error', ...tokenFailure(error, target.hub) };
    }

    // IoT Hub device ids may hold # ? % + $ and more (AZURE-FACTS.md): escape the segment.
    const url = this.access.urlOf(target, `/twins/${encodeURIComponent(device.deviceId)}/methods`);
    let response: Response;
    let body: string;
    try {
      response = await fetch(
        url,
        iotHubRequest(
          authorization,
          {
            methodName: this.settings.methodName,
            payload: request,
            responseTimeoutInSeconds: this.settings.responseTimeoutSeconds,
            connectTimeoutInSeconds: this.settings.connectTimeoutSeconds,
          },
          this.settings.requestTimeoutMs,
        ),
      );
      body = await response.text();
    } catch (error) {
      return {
        kind: 'error',
        transient: true,
        reason: `hub ${target.hub}: ${networkFault(error)}`,
      };
    }
    return classify(response.status, body, response.headers, target.hub, this.now());
  }
}

/**
 * What an IoT Hub answer means for the renewal (MethodOutcome.ts). The error code decides
 * where there is one; the HTTP status decides the rest.
 */
function classify(
  status: number,
  body: string,
  headers: Headers,
  hub: string,
  now: Date,
): MethodOutcome {
  if (status === 200) return deviceAnswer(body);

  const errorCode = iotHubErrorCode(body, headers.get('iothub-errorcode'));
  const code = errorCode !== undefined ? { errorCode } : {};
  const name = errorCode !== undefined ? ERROR_NAMES_BY_CODE.get(errorCode) : undefined;
  const described = [status, errorCode, name].filter((part) => part !== undefined).join(' ');
  const error = (transient: boolean, what: string): MethodOutcome => ({
    kind: 'error',
    transient,
    status,
    ...code,
    reason: `hub ${hub}: ${what} (${described})`,
  });

  switch (errorCode) {
    case 404103:
      return { kind: 'offline', errorCode };
    case 404001:
    case 403012: // DeviceDisabled: "not found" covers deleted and disabled devices alike.
      return { kind: 'not-found', errorCode };
    case 504101:
      return { kind: 'timeout', errorCode };
    case 403002: {
      // IotHubQuotaExceeded: the daily message quota is spent until the next UTC day.
      const midnight = (Math.floor(now.getTime() / DAY_MS) + 1) * DAY_MS;
      return { kind: 'throttled', errorCode, retryAfterMs: midnight - now.getTime() };
    }
  }
  if (status === 429 || (errorCode !== undefined && Math.floor(errorCode / 1000) === 429)) {
    const retryAfterMs = retryAfterOf(headers, now);
    return {
      kind: 'throttled',
      ...code,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  if (status === 504) return { kind: 'timeout', ...code };
  if (status === 401 || status === 403)
    return error(false, "IoT Hub refused certfleet's credentials or role");
  if (status === 400)
    return error(false, 'IoT Hub rejected the request: check the method settings');
  if (status === 404) return error(false, 'IoT Hub answered not found without a device error code');
  if (status >= 500) return error(true, 'IoT Hub is unavailable');
  return error(false, 'unexpected answer from IoT Hub');
}

/** A 200 carries the device's own answer: `{status, payload}`. */
function deviceAnswer(body: string): MethodOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const answer = parsed as { status?: unknown; payload?: unknown } | undefined;
  if (
    typeof answer !== 'object' ||
    answer === null ||
    typeof answer.status !== 'number' ||
    !Number.isInteger(answer.status)
  ) {
    return {
      kind: 'error',
      transient: false,
      status: 200,
      reason: 'IoT Hub answered 200 without the device status',
    };
  }
  const payload = answer.payload !== undefined ? { payload: answer.payload } : {};
  return answer.status === 200 || answer.status === 202
    ? { kind: 'accepted', status: answer.status, ...payload }
    : { kind: 'refused', status: answer.status, ...payload };
}
