import { z } from 'zod';
import { isHostName } from './hostName';
import {
  hubNameOfHost,
  IotHubConnectionStringError,
  parseIotHubConnectionString,
} from './iotHubConnectionString';
import { Env, optionalText } from './settingSchemas';
import { SettingsError } from './SettingsError';

/**
 * How certfleet reaches IoT Hub to ask devices to renew by direct method (docs/operations.md,
 * "IoT Hub direct methods"). Several hubs may feed one certfleet; each device's requests go to
 * its own hub. Read from:
 * - `IotHub`: one or more service connection strings (a shared access policy with Service
 *   connect), separated by newlines or `|`;
 * - or `IotHub__fullyQualifiedName`: one or more host names, comma separated, with Entra ID: a
 *   managed identity (`IotHub__credential=managedidentity`, optionally `IotHub__clientId`) or
 *   DefaultAzureCredential;
 * - `CERTFLEET_IOTHUB_ENDPOINT`: for local runs and tests only, one http(s) base URL that
 *   receives every hub's calls, at `<endpoint>/<hub>/twins/…` (a local server cannot tell hubs
 *   apart by host name). Alone, it accepts any hub and signs with LOCAL_DEVELOPMENT_POLICY.
 * With none of the three set, renewal requests are disabled: `loadIotHubSettings` returns
 * undefined.
 */
export type IotHubAuth =
  { kind: 'shared-access-key'; keyName: string; key: string } | { kind: 'entra-id' };

export interface IotHubTarget {
  /** Hub name as events carry it (`hubName`): the host name's first label, lower-cased. */
  hub: string;
  hostName: string;
  auth: IotHubAuth;
}

export type IotHubCredentialSettings =
  { kind: 'managedidentity'; clientId?: string } | { kind: 'default'; clientId?: string };

export interface IotHubSettings {
  hubs: IotHubTarget[];
  /** Set with IotHub__fullyQualifiedName: how certfleet gets its Entra ID tokens. */
  credential?: IotHubCredentialSettings;
  /** CERTFLEET_IOTHUB_ENDPOINT, without a trailing slash. */
  endpoint?: string;
  /** True when only the endpoint is set: any hub is reached there, with the local policy. */
  anyHubAtEndpoint: boolean;
  methodName: string;
  responseTimeoutSeconds: number;
  connectTimeoutSeconds: number;
  /**
   * How long certfleet waits for IoT Hub's answer before giving up on its own. IoT Hub answers
   * 504101 after the connect and response timeouts; the margin covers the network. Tests set it
   * lower.
   */
  requestTimeoutMs: number;
}

/**
 * The policy certfleet signs with when only CERTFLEET_IOTHUB_ENDPOINT is set. Not a secret: a
 * published development key, like Azurite's, for the stand-in hub and the fleet simulator.
 */
export const LOCAL_DEVELOPMENT_POLICY = {
  keyName: 'certfleet-local',
  key: Buffer.from('certfleet local development key, not a secret').toString('base64'),
} as const;

export const DEFAULT_RENEWAL_METHOD = 'renewCertificate';
/** Beyond IoT Hub's own timeouts, how long certfleet waits for the HTTP answer. */
export const REQUEST_TIMEOUT_MARGIN_MS = 10_000;

function wholeSeconds(min: number, max: number, fallback: number) {
  return optionalText
    .refine(
      (v) => v === undefined || (/^\d+$/.test(v) && Number(v) >= min && Number(v) <= max),
      `must be whole seconds from ${min} to ${max}`,
    )
    .transform((v) => (v === undefined ? fallback : Number(v)));
}

const schema = z.object({
  IotHub__credential: optionalText.pipe(z.enum(['managedidentity']).optional()),
  IotHub__clientId: optionalText,
  // Direct-method names follow the rule for property names (Microsoft Learn, "Understand and
  // invoke direct methods"): printable US-ASCII without $ ( ) < > @ , ; : \ " / [ ] ? = { }
  // and blanks. The 128-character bound is certfleet's own.
  CERTFLEET_RENEWAL_METHOD: optionalText.pipe(
    z
      .string()
      .regex(
        /^[A-Za-z0-9!#%&'*+\-.^_`|~]{1,128}$/,
        "must be a direct method name: up to 128 letters, digits and ! # % & ' * + - . ^ _ ` | ~",
      )
      .default(DEFAULT_RENEWAL_METHOD),
  ),
  // Limits of the IoT Hub REST API (AZURE-FACTS.md, "IoT Hub direct methods").
  CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS: wholeSeconds(5, 300, 30),
  CERTFLEET_METHOD_CONNECT_TIMEOUT_SECONDS: wholeSeconds(0, 300, 0),
  CERTFLEET_IOTHUB_ENDPOINT: optionalText.pipe(z.url({ protocol: /^https?$/ }).optional()),
});

/**
 * Reads the IoT Hub settings, or undefined when no hub is configured. Throws `SettingsError`
 * naming every problem at once, each by its setting. Keys never appear in a problem.
 */
export function loadIotHubSettings(env: Env = process.env): IotHubSettings | undefined {
  const connectionStrings = splitList(env.IotHub, /\r?\n|\|/);
  const hostNames = splitList(env.IotHub__fullyQualifiedName, /,/);
  const endpointText = env.CERTFLEET_IOTHUB_ENDPOINT?.trim() ?? '';
  if (connectionStrings.length === 0 && hostNames.length === 0 && endpointText === '') {
    return undefined;
  }

  const problems: string[] = [];
  const parsed = schema.safeParse(env);
  let v: z.output<typeof schema>;
  if (parsed.success) v = parsed.data;
  else {
    problems.push(...parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    // Every setting is optional: without the invalid ones the rest parses, and is checked too.
    const invalid = new Set(parsed.error.issues.map((i) => String(i.path[0])));
    v = schema.parse(Object.fromEntries(Object.entries(env).filter(([k]) => !invalid.has(k))));
  }

  const hubs: IotHubTarget[] = [];
  if (connectionStrings.length > 0 && hostNames.length > 0) {
    problems.push('IotHub, IotHub__fullyQualifiedName: set one, not both');
  }
  connectionStrings.forEach((text, index) => {
    try {
      const c = parseIotHubConnectionString(text);
      hubs.push({
        hub: c.hubName,
        hostName: c.hostName,
        auth: { kind: 'shared-access-key', keyName: c.sharedAccessKeyName, key: c.sharedAccessKey },
      });
    } catch (error) {
      if (!(error instanceof IotHubConnectionStringError)) throw error;
      const which = connectionStrings.length > 1 ? ` (connection string ${index + 1})` : '';
      problems.push(`IotHub${which}: not an IoT Hub service connection string: ${error.message}`);
    }
  });
  hostNames.forEach((hostName, index) => {
    if (!isHostName(hostName)) {
      // By its place, not its text: what is not a host name may be a key pasted here.
      const which = hostNames.length > 1 ? ` (host name ${index + 1})` : '';
      problems.push(
        `IotHub__fullyQualifiedName${which}: not a host name such as contoso-hub.azure-devices.net`,
      );
    } else {
      hubs.push({ hub: hubNameOfHost(hostName), hostName, auth: { kind: 'entra-id' } });
    }
  });
  const seen = new Set<string>();
  for (const { hub } of hubs) {
    if (seen.has(hub)) {
      problems.push(
        `${connectionStrings.length > 0 ? 'IotHub' : 'IotHub__fullyQualifiedName'}: hub ${hub} is named twice`,
      );
    }
    seen.add(hub);
  }

  if (problems.length > 0) throw new SettingsError(problems);
  const credential: IotHubCredentialSettings | undefined =
    hostNames.length > 0
      ? {
          kind: v.IotHub__credential ?? 'default',
          ...(v.IotHub__clientId ? { clientId: v.IotHub__clientId } : {}),
        }
      : undefined;
  const endpoint = v.CERTFLEET_IOTHUB_ENDPOINT?.replace(/\/+$/, '');
  return {
    hubs,
    ...(credential ? { credential } : {}),
    ...(endpoint ? { endpoint } : {}),
    anyHubAtEndpoint: hubs.length === 0,
    methodName: v.CERTFLEET_RENEWAL_METHOD,
    responseTimeoutSeconds: v.CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS,
    connectTimeoutSeconds: v.CERTFLEET_METHOD_CONNECT_TIMEOUT_SECONDS,
    requestTimeoutMs:
      (v.CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS + v.CERTFLEET_METHOD_CONNECT_TIMEOUT_SECONDS) *
        1000 +
      REQUEST_TIMEOUT_MARGIN_MS,
  };
}

function splitList(value: string | undefined, separator: RegExp): string[] {
  return (value ?? '')
    .split(separator)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}
