import { isHostName } from './hostName';
import { Env } from './settingSchemas';
import { SettingsError } from './SettingsError';

/**
 * Where `certfleet listen` reads IoT Hub's routed events: the Event Hubs settings the Functions
 * trigger binds to (`IotHubEvents`, `CERTFLEET_EVENTHUB_NAME`,
 * `CERTFLEET_EVENTHUB_CONSUMER_GROUP`; AZURE-FACTS.md, "Azure Functions, Node v4 model"), read
 * by certfleet itself since no Functions host is there to read them. One of:
 * - `IotHubEvents`: an Event Hubs connection string (a policy with Listen), with or without
 *   `EntityPath`;
 * - `IotHubEvents__fullyQualifiedNamespace` (`<namespace>.servicebus.windows.net`) with Entra ID:
 *   a managed identity (`IotHubEvents__credential=managedidentity`, optionally
 *   `IotHubEvents__clientId`) or DefaultAzureCredential.
 */
export type EventHubConnection =
  | { kind: 'connection-string'; connectionString: string; entityPath?: string }
  | {
      kind: 'identity';
      fullyQualifiedNamespace: string;
      credential: 'managedidentity' | 'default';
      clientId?: string;
    };

export interface EventHubSettings {
  connection: EventHubConnection;
  eventHubName: string;
  consumerGroup: string;
}

/** Event Hubs' own default consumer group. */
export const DEFAULT_CONSUMER_GROUP = '$Default';

// Event Hubs naming rules (Microsoft Learn, "Naming rules and restrictions for Azure
// resources", Microsoft.EventHub): an event hub 1-256 and a consumer group 1-50 alphanumerics,
// periods, hyphens and underscores, starting and ending with an alphanumeric.
const EVENT_HUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$/;
const CONSUMER_GROUP = /^(?:\$Default|[A-Za-z0-9](?:[A-Za-z0-9._-]{0,48}[A-Za-z0-9])?)$/;

/**
 * Reads and checks the Event Hubs settings. Throws `SettingsError` naming every problem at once,
 * each by its setting and what is wrong, never by its value: a key never appears in a problem,
 * even one pasted into the wrong setting.
 */
export function loadEventHubSettings(env: Env): EventHubSettings {
  const problems: string[] = [];
  const connectionString = text(env.IotHubEvents);
  const namespace = text(env.IotHubEvents__fullyQualifiedNamespace);
  const credential = text(env.IotHubEvents__credential);
  const clientId = text(env.IotHubEvents__clientId);
  const configuredName = text(env.CERTFLEET_EVENTHUB_NAME);
  const consumerGroup = text(env.CERTFLEET_EVENTHUB_CONSUMER_GROUP) ?? DEFAULT_CONSUMER_GROUP;

  let connection: EventHubConnection | undefined;
  if (connectionString && namespace) {
    problems.push('IotHubEvents, IotHubEvents__fullyQualifiedNamespace: set one, not both');
  } else if (connectionString) {
    const parsed = parseConnectionString(connectionString);
    if ('problem' in parsed) problems.push(`IotHubEvents: ${parsed.problem}`);
    else connection = { kind: 'connection-string', connectionString, ...parsed };
  } else if (namespace) {
    if (!isHostName(namespace)) {
      problems.push(
        'IotHubEvents__fullyQualifiedNamespace: not a host name such as contoso-events.servicebus.windows.net',
      );
    }
    if (credential !== undefined && credential !== 'managedidentity') {
      problems.push(`IotHubEvents__credential: must be managedidentity or empty`);
    }
    connection = {
      kind: 'identity',
      fullyQualifiedNamespace: namespace,
      credential: credential === 'managedidentity' ? 'managedidentity' : 'default',
      ...(clientId ? { clientId } : {}),
    };
  } else {
    problems.push(
      'IotHubEvents or IotHubEvents__fullyQualifiedNamespace: required (an Event Hubs connection string, or the namespace host name for Entra ID)',
    );
  }

  const entityPath = connection?.kind === 'connection-string' ? connection.entityPath : undefined;
  if (configuredName !== undefined && !EVENT_HUB_NAME.test(configuredName)) {
    problems.push(
      'CERTFLEET_EVENTHUB_NAME: must be an Event Hub name (letters, digits, . _ -; up to 256)',
    );
  } else if (configuredName && entityPath && configuredName !== entityPath) {
    problems.push("CERTFLEET_EVENTHUB_NAME: differs from the connection string's EntityPath");
  } else if (!configuredName && !entityPath) {
    problems.push(
      'CERTFLEET_EVENTHUB_NAME: required (the Event Hub IoT Hub routes to), unless the connection string has EntityPath',
    );
  }
  if (!CONSUMER_GROUP.test(consumerGroup)) {
    problems.push(
      'CERTFLEET_EVENTHUB_CONSUMER_GROUP: must be $Default or a consumer group name (letters, digits, . _ -; up to 50)',
    );
  }

  if (problems.length > 0 || !connection) throw new SettingsError(problems);
  return { connection, eventHubName: configuredName ?? entityPath ?? '', consumerGroup };
}

/**
 * `Endpoint=sb://<namespace>/;SharedAccessKeyName=…;SharedAccessKey=…[;EntityPath=…]`, or with
 * `SharedAccessSignature=…` instead of the key (Event Hubs' emulator adds
 * `UseDevelopmentEmulator=true`). Only the shape is checked; the SDK parses it again.
 */
function parseConnectionString(value: string): { entityPath?: string } | { problem: string } {
  const parts = new Map<string, string>();
  for (const part of value.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const endpoint = parts.get('endpoint');
  if (!endpoint || !/^sb:\/\/[^/\s]+\/?$/i.test(endpoint)) {
    return {
      problem:
        'not an Event Hubs connection string (expected Endpoint=sb://<namespace>/;SharedAccessKeyName=…;SharedAccessKey=…)',
    };
  }
  const keyed = parts.get('sharedaccesskeyname') && parts.get('sharedaccesskey');
  if (!keyed && !parts.get('sharedaccesssignature')) {
    return {
      problem:
        'the connection string has no SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature)',
    };
  }
  const entityPath = parts.get('entitypath');
  return entityPath ? { entityPath } : {};
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
