import { createHmac } from 'node:crypto';
import { HOUR_MS } from '../../domain/Clock';

/**
 * A SAS token certfleet signs IoT Hub calls with, made from a service policy's key
 * (AZURE-FACTS.md, "IoT Hub direct methods"). The connection string the policy comes from is
 * parsed in config/iotHubConnectionString.ts. A shared access key is a secret: no error
 * message, log line or `describe` here ever contains one.
 */
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
