import {
  DefaultAzureCredential,
  ManagedIdentityCredential,
  TokenCredential,
} from '@azure/identity';
import { DeviceMethods } from '../../app/ports';
import { DAY_MS, MINUTE_MS } from '../../domain/Clock';
import { DeviceKey, normalizeHubName } from '../../domain/DeviceKey';
import { MethodOutcome, RenewalRequest } from '../../domain/renewal/MethodOutcome';
import {
  IotHubCredentialSettings,
  IotHubSettings,
  IotHubTarget,
  LOCAL_DEVELOPMENT_POLICY,
} from '../../config/iotHubSettings';
import { ERROR_NAMES_BY_CODE, iotHubErrorCode } from './iotHubErrors';
import { makeSasToken } from './iotHubConnection';

/** The REST API version certfleet speaks (AZURE-FACTS.md, "IoT Hub direct methods"). */
export const IOT_HUB_API_VERSION = '2021-04-12';
/** The Entra ID scope of IoT Hub's data plane. */
export const IOT_HUB_SCOPE = 'https://iothubs.azure.net/.default';
/** A token is renewed this long before it expires, so none expires in flight. */
const TOKEN_RENEWAL_MARGIN_MS = 5 * MINUTE_MS;

export interface IotHubDeviceMethodsOptions {
  settings: IotHubSettings;
  /** Needed when a hub is reached with Entra ID; `fromSettings` builds it from the settings. */
  credential?: TokenCredential;
  /** The clock of SAS expiry and token caching. */
  now?: () => Date;
}

interface CachedToken {
  header: string;
  renewAt: number;
}

/**
 * Asks a device to renew its certificate by invoking the renewal direct method through its
 * hub's REST API, and classifies every answer as a `MethodOutcome`: it never throws for what
 * a hub, the network or a device does. One instance per process; it caches one token per hub.
 */
export class IotHubDeviceMethods implements DeviceMethods {
  private readonly settings: IotHubSettings;
  private readonly credential?: TokenCredential;
  private readonly now: () => Date;
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(options: IotHubDeviceMethodsOptions) {
    this.settings = options.settings;
    if (options.credential) this.credential = options.credential;
    this.now = options.now ?? (() => new Date());
  }

  /** The adapter for the settings, with a managed identity or DefaultAzureCredential as set. */
  static fromSettings(settings: IotHubSettings, now?: () => Date): IotHubDeviceMethods {
    return new IotHubDeviceMethods({
      settings,
      ...(settings.credential ? { credential: credentialFor(settings.credential) } : {}),
      ...(now ? { now } : {}),
    });
  }

  async requestRenewal(device: DeviceKey, request: RenewalRequest): Promise<MethodOutcome> {
    const target = this.targetOf(device.hub);
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
      authorization = await this.authorizationFor(target);
    } catch (error) {
      // CredentialUnavailableError: no identity here to use; configuration, not a hiccup.
      const name = (error as Error | undefined)?.name ?? 'Error';
      return {
        kind: 'error',
        transient: name !== 'CredentialUnavailableError',
        reason: `no Entra ID token for hub ${target.hub}: ${name}: ${shorten((error as Error | undefined)?.message)}`,
      };
    }

    // IoT Hub device ids may hold # ? % + $ and more (AZURE-FACTS.md): escape the segment.
    const url =
      `${this.baseUrlOf(target)}/twins/${encodeURIComponent(device.deviceId)}/methods` +
      `?api-version=${IOT_HUB_API_VERSION}`;
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/json; charset=utf-8',
          accept: 'application/json',
          'user-agent': 'certfleet',
        },
        body: JSON.stringify({
          methodName: this.settings.methodName,
          payload: request,
          responseTimeoutInSeconds: this.settings.responseTimeoutSeconds,
          connectTimeoutInSeconds: this.settings.connectTimeoutSeconds,
        }),
        // IoT Hub is not known to redirect; following one would hand the token to another host.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.settings.requestTimeoutMs),
      });
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

  private targetOf(hub: string): IotHubTarget | undefined {
    const name = hubNameOf(hub);
    const configured = this.settings.hubs.find((t) => t.hub === name);
    if (configured || !this.settings.anyHubAtEndpoint || name === '') return configured;
    return {
      hub: name,
      hostName: `${name}.azure-devices.net`,
      auth: { kind: 'shared-access-key', ...LOCAL_DEVELOPMENT_POLICY },
    };
  }

  private baseUrlOf(target: IotHubTarget): string {
    // Locally every hub shares one endpoint and is told apart by the first path segment.
    return this.settings.endpoint
      ? `${this.settings.endpoint}/${encodeURIComponent(target.hub)}`
      : `https://${target.hostName}`;
  }

  private async authorizationFor(target: IotHubTarget): Promise<string> {
    const cached = this.tokens.get(target.hub);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.renewAt > this.now().getTime()) return token.header;
    }
    // One token request per hub at a time: calls that find the same stale token share the new one.
    let pending = this.tokens.get(target.hub);
    if (!pending || pending === cached) {
      pending = this.newToken(target, this.now().getTime());
      this.tokens.set(target.hub, pending);
    }
    try {
      return (await pending).header;
    } catch (error) {
      // A failed token request is not cached: the next call asks again.
      if (this.tokens.get(target.hub) === pending) this.tokens.delete(target.hub);
      throw error;
    }
  }

  private async newToken(target: IotHubTarget, now: number): Promise<CachedToken> {
    if (target.auth.kind === 'shared-access-key') {
      const sas = makeSasToken(
        {
          hostName: target.hostName,
          sharedAccessKeyName: target.auth.keyName,
          sharedAccessKey: target.auth.key,
        },
        new Date(now),
      );
      return { header: sas.header, renewAt: sas.expiresAt.getTime() - TOKEN_RENEWAL_MARGIN_MS };
    }
    if (!this.credential) throw new Error('no TokenCredential was given for Entra ID hubs');
    const token = await this.credential.getToken(IOT_HUB_SCOPE);
    if (!token) throw new Error('the credential returned no token');
    return {
      header: `Bearer ${token.token}`,
      renewAt: Math.min(
        token.expiresOnTimestamp - TOKEN_RENEWAL_MARGIN_MS,
        token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY,
      ),
    };
  }
}

function credentialFor(settings: IotHubCredentialSettings): TokenCredential {
  if (settings.kind === 'managedidentity') {
    return settings.clientId
      ? new ManagedIdentityCredential({ clientId: settings.clientId })
      : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(
    settings.clientId ? { managedIdentityClientId: settings.clientId } : {},
  );
}

/** `contoso-hub`, `Contoso-Hub.azure-devices.net`, `contoso-hub.azure-devices.cn` -> `contoso-hub`. */
function hubNameOf(hub: string): string {
  return normalizeHubName(hub).split('.')[0] ?? '';
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

/** `Retry-After` as seconds or an HTTP date, or Azure's `retry-after-ms`; undefined if absent. */
function retryAfterOf(headers: Headers, now: Date): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = headers.get(name)?.trim();
    if (ms && /^\d+$/.test(ms)) return Number(ms);
  }
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** Names a failed fetch: its own timeout, or the network error code under `cause`. */
function networkFault(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time (certfleet timed out)';
  if (e?.name === 'AbortError') return 'request aborted';
  const cause = e?.cause?.code ?? e?.cause?.name;
  return `network error (${cause ?? e?.name ?? 'unknown'}${e?.message ? `: ${shorten(e.message)}` : ''})`;
}

function shorten(text: string | undefined): string {
  if (!text) return '';
  const line = text.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
