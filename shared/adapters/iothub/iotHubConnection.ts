import { createHmac } from 'node:crypto';
import { HOUR_MS } from '../../domain/Clock';

/**
 * IoT Hub service connection strings and the SAS tokens made from them (AZURE-FACTS.md, "IoT Hub
 * direct methods"). A shared access key is a secret: no error message, log line or `describe`
 * here ever contains one.
 */
export interface IotHubConnectionString {
  /** `contoso-hub.azure-devices.net` (as written, trimmed). */
  hostName: string;
  /** The first DNS label of the host name, lower-cased: `contoso-hub`. */
  hubName: string;
  /** The shared access policy: `iothubowner`, `service`, … */
  sharedAccessKeyName: string;
  /** The policy's key, base64, as the portal shows it. */
  sharedAccessKey: string;
}

export class IotHubConnectionStringError extends Error {
  readonly code = 'IOTHUB_CONNECTION_STRING_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'IotHubConnectionStringError';
  }
}

/** A DNS host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Whether `value` is a fully qualified host name such as `contoso-hub.azure-devices.net`. */
export function isHostName(value: string): boolean {
  return HOST_NAME.test(value);
}

/** `Contoso-Hub.azure-devices.net` -> `contoso-hub`: the name events carry in `hubName`. */
export function hubNameOfHost(hostName: string): string {
  return (hostName.trim().split('.')[0] ?? '').toLowerCase();
}

/**
 * Parses `HostName=…;SharedAccessKeyName=…;SharedAccessKey=…` (any order, keys
 * case-insensitive). Throws `IotHubConnectionStringError` naming what is wrong, never the key.
 * Device connection strings (`DeviceId=…`) are refused: they cannot call direct methods.
 */
export function parseIotHubConnectionString(text: string): IotHubConnectionString {
  const parts = new Map<string, string>();
  for (const segment of text.split(';')) {
    if (segment.trim() === '') continue;
    const equals = segment.indexOf('=');
    // A segment without `=` is not `Name=value`; say so without echoing it (it may be a key).
    if (equals <= 0) throw new IotHubConnectionStringError('a part is not Name=value');
    // Only the first `=` separates: base64 keys end in `=` padding.
    parts.set(segment.slice(0, equals).trim().toLowerCase(), segment.slice(equals + 1).trim());
  }
  if (parts.has('deviceid') || parts.has('moduleid')) {
    throw new IotHubConnectionStringError(
      'a device connection string; direct methods need a service policy (SharedAccessKeyName=…)',
    );
  }
  const hostName = parts.get('hostname') ?? '';
  const sharedAccessKeyName = parts.get('sharedaccesskeyname') ?? '';
  const sharedAccessKey = parts.get('sharedaccesskey') ?? '';
  const missing = [
    hostName ? undefined : 'HostName',
    sharedAccessKeyName ? undefined : 'SharedAccessKeyName',
    sharedAccessKey ? undefined : 'SharedAccessKey',
  ].filter((name): name is string => name !== undefined);
  if (missing.length > 0) throw new IotHubConnectionStringError(`missing ${missing.join(', ')}`);
  if (!isHostName(hostName)) {
    throw new IotHubConnectionStringError(`HostName ${hostName} is not a host name`);
  }
  if (!BASE64.test(sharedAccessKey) || Buffer.from(sharedAccessKey, 'base64').length === 0) {
    throw new IotHubConnectionStringError(
      `the SharedAccessKey of policy ${sharedAccessKeyName} is not base64`,
    );
  }
  return { hostName, hubName: hubNameOfHost(hostName), sharedAccessKeyName, sharedAccessKey };
}

export interface SasToken {
  /** The whole Authorization header value: `SharedAccessSignature sr=…&sig=…&se=…&skn=…`. */
  header: string;
  expiresAt: Date;
}

export const DEFAULT_SAS_LIFETIME_MS = HOUR_MS;

/**
 * Makes an IoT Hub SAS token for the hub's host name, valid from `now` for `lifetimeMs`:
 * `sig` is HMAC-SHA256, keyed with the base64-decoded policy key, of
 * `<url-encoded resource uri>\n<expiry in epoch seconds>`, then base64 and url-encoded
 * (Microsoft Learn, "Control access to IoT Hub with shared access signatures"). Pure: the time
 * is a parameter.
 */
export function makeSasToken(
  policy: { hostName: string; sharedAccessKeyName: string; sharedAccessKey: string },
  now: Date,
  lifetimeMs: number = DEFAULT_SAS_LIFETIME_MS,
): SasToken {
  const expirySeconds = Math.floor((now.getTime() + lifetimeMs) / 1000);
  const resource = encodeURIComponent(policy.hostName);
  const signature = createHmac('sha256', Buffer.from(policy.sharedAccessKey, 'base64'))
    .update(`${resource}\n${expirySeconds}`)
    .digest('base64');
  return {
    header:
      `SharedAccessSignature sr=${resource}&sig=${encodeURIComponent(signature)}` +
      `&se=${expirySeconds}&skn=${encodeURIComponent(policy.sharedAccessKeyName)}`,
    expiresAt: new Date(expirySeconds * 1000),
  };
}

/** The fields of a `SharedAccessSignature …` header, decoded; undefined when it is not one. */
export function parseSasToken(
  header: string,
): { sr: string; sig: string; se: number; skn?: string } | undefined {
  const match = /^SharedAccessSignature\s+(.+)$/.exec(header.trim());
  if (!match?.[1]) return undefined;
  const fields = new Map<string, string>();
  for (const pair of match[1].split('&')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) return undefined;
    try {
      fields.set(pair.slice(0, equals), decodeURIComponent(pair.slice(equals + 1)));
    } catch {
      return undefined;
    }
  }
  const [sr, sig, se, skn] = ['sr', 'sig', 'se', 'skn'].map((k) => fields.get(k));
  if (!sr || !sig || !se || !/^\d+$/.test(se)) return undefined;
  return { sr, sig, se: Number(se), ...(skn ? { skn } : {}) };
}
