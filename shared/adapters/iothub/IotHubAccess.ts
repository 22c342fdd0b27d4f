import type { TokenCredential } from '@azure/identity';
import { azureCredential } from '../azureCredential';
import { MINUTE_MS } from '../../domain/Clock';
import { normalizeHubName } from '../../domain/DeviceKey';
import {
  IotHubCredentialSettings,
  IotHubSettings,
  IotHubTarget,
  LOCAL_DEVELOPMENT_POLICY,
} from '../../config/iotHubSettings';
import { makeSasToken } from './iotHubConnection';

/** The REST API version certfleet speaks (AZURE-FACTS.md, "IoT Hub direct methods"). */
export const IOT_HUB_API_VERSION = '2021-04-12';
/** The Entra ID scope of IoT Hub's data plane. */
export const IOT_HUB_SCOPE = 'https://iothubs.azure.net/.default';
/** A token is renewed this long before it expires, so none expires in flight. */
const TOKEN_RENEWAL_MARGIN_MS = 5 * MINUTE_MS;

export interface IotHubAccessOptions {
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
 * How certfleet reaches each hub's REST API: which hub a name means, the base URL (the hub's
 * host, or `CERTFLEET_IOTHUB_ENDPOINT/<hub>` locally) and the Authorization header (a SAS token
 * from the hub's policy, or an Entra ID bearer token), one cached token per hub. Shared by the
 * direct-method and twin-query adapters, so one process asks for one token per hub.
 */
export class IotHubAccess {
  readonly settings: IotHubSettings;
  readonly now: () => Date;
  private readonly credential?: TokenCredential;
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(options: IotHubAccessOptions) {
    this.settings = options.settings;
    if (options.credential) this.credential = options.credential;
    this.now = options.now ?? (() => new Date());
  }

  /** Access with a managed identity or DefaultAzureCredential, as the settings say. */
  static fromSettings(settings: IotHubSettings, now?: () => Date): IotHubAccess {
    return new IotHubAccess({
      settings,
      ...(settings.credential ? { credential: credentialFor(settings.credential) } : {}),
      ...(now ? { now } : {}),
    });
  }

  /** The configured hubs, by the name events carry (`hubName`). */
  get hubs(): string[] {
    return this.settings.hubs.map((t) => t.hub);
  }

  /** The target a hub name means, or undefined when certfleet has no connection for it. */
  targetOf(hub: string): IotHubTarget | undefined {
    const name = hubNameOf(hub);
    const configured = this.settings.hubs.find((t) => t.hub === name);
    if (configured || !this.settings.anyHubAtEndpoint || name === '') return configured;
    return {
      hub: name,
      hostName: `${name}.azure-devices.net`,
      auth: { kind: 'shared-access-key', ...LOCAL_DEVELOPMENT_POLICY },
    };
  }

  baseUrlOf(target: IotHubTarget): string {
    // Locally every hub shares one endpoint and is told apart by the first path segment.
    return this.settings.endpoint
      ? `${this.settings.endpoint}/${encodeURIComponent(target.hub)}`
      : `https://${target.hostName}`;
  }

  /** The URL of `path` (`/devices/query`, …) on a hub, at the API version certfleet speaks. */
  urlOf(target: IotHubTarget, path: string): string {
    return `${this.baseUrlOf(target)}${path}?api-version=${IOT_HUB_API_VERSION}`;
  }

  /**
   * The Authorization header for a hub. Throws when no Entra ID token can be had; the error's
   * name says whether that is configuration (`CredentialUnavailableError`) or a hiccup.
   */
  async authorizationFor(target: IotHubTarget): Promise<string> {
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
  return azureCredential({
    kind: settings.kind,
    ...(settings.clientId ? { clientId: settings.clientId } : {}),
  });
}

/** `contoso-hub`, `Contoso-Hub.azure-devices.net`, `contoso-hub.azure-devices.cn` -> `contoso-hub`. */
export function hubNameOf(hub: string): string {
  return normalizeHubName(hub).split('.')[0] ?? '';
}
