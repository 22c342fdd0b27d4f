import { EventHubSettings, loadEventHubSettings } from './eventHubSettings';
import { Env } from './settingSchemas';
import { SettingsError } from './SettingsError';

/**
 * The Functions host's own storage account (`AzureWebJobsStorage`), where the Event Hubs trigger
 * keeps its checkpoints. certfleet only reads it, for the health check's lag by partition. As the
 * host reads it (AZURE-FACTS.md, "Host storage by identity"; Microsoft Learn, "Connecting to host
 * storage with an identity"):
 * - `AzureWebJobsStorage`: a connection string (`UseDevelopmentStorage=true` locally);
 * - or `AzureWebJobsStorage__accountName` (the account's public-cloud blob endpoint) or
 *   `AzureWebJobsStorage__blobServiceUri`, with Entra ID: a managed identity
 *   (`AzureWebJobsStorage__credential=managedidentity`, optionally `__clientId`) or, without
 *   `__credential`, DefaultAzureCredential (in Azure, the app's managed identity).
 * A connection string wins over the identity settings, as the host's configuration reads it.
 */
export type HostStorageSettings =
  | { kind: 'connection-string'; connectionString: string }
  | {
      kind: 'identity';
      blobServiceUri: string;
      credential: 'managedidentity' | 'default';
      clientId?: string;
    };

// A storage account name (Microsoft Learn, "Storage account overview"): 3-24 lower-case letters
// and digits.
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

/**
 * Reads the host storage settings, or undefined when none is set. Throws `SettingsError` naming
 * every problem, each by its setting, never by its value: an account key never appears in one.
 */
export function loadHostStorageSettings(env: Env): HostStorageSettings | undefined {
  const connectionString = text(env.AzureWebJobsStorage);
  const accountName = text(env.AzureWebJobsStorage__accountName);
  const blobServiceUri = text(env.AzureWebJobsStorage__blobServiceUri);
  const credential = text(env.AzureWebJobsStorage__credential);
  const clientId = text(env.AzureWebJobsStorage__clientId);

  if (connectionString) {
    if (!/AccountName=|BlobEndpoint=|UseDevelopmentStorage=true/i.test(connectionString)) {
      throw new SettingsError([
        'AzureWebJobsStorage: not a storage connection string (expected AccountName=… or BlobEndpoint=…, or UseDevelopmentStorage=true)',
      ]);
    }
    return { kind: 'connection-string', connectionString };
  }
  if (!accountName && !blobServiceUri) return undefined;

  const problems: string[] = [];
  let uri: string | undefined;
  if (blobServiceUri) {
    if (isHttpUrl(blobServiceUri)) uri = blobServiceUri.replace(/\/+$/, '');
    else
      problems.push(
        'AzureWebJobsStorage__blobServiceUri: must be an http(s) URL such as https://account.blob.core.windows.net',
      );
  } else if (accountName) {
    if (ACCOUNT_NAME.test(accountName)) uri = `https://${accountName}.blob.core.windows.net`;
    else
      problems.push(
        'AzureWebJobsStorage__accountName: must be a storage account name (3-24 lower-case letters and digits)',
      );
  }
  if (credential !== undefined && credential !== 'managedidentity') {
    problems.push('AzureWebJobsStorage__credential: must be managedidentity or empty');
  }
  if (problems.length > 0 || uri === undefined) throw new SettingsError(problems);
  return {
    kind: 'identity',
    blobServiceUri: uri,
    credential: credential === 'managedidentity' ? 'managedidentity' : 'default',
    ...(clientId ? { clientId } : {}),
  };
}

/**
 * What the health check needs to measure the event stream: the Event Hubs connection the
 * trigger binds to (eventHubSettings.ts) and the host storage its checkpoints are in; or what
 * is wrong with them.
 */
export type EventStreamCheckSettings =
  | { kind: 'configured'; eventHub: EventHubSettings; hostStorage: HostStorageSettings }
  | { kind: 'invalid'; eventHub?: string; consumerGroup?: string; problems: string[] };

/**
 * The event stream's settings for the health check; undefined when no Event Hubs connection is
 * set (`IotHubEvents` or `IotHubEvents__fullyQualifiedNamespace`: local runs, the CLI). Never
 * throws: the Functions host binds the trigger itself, so a problem here is the health check's
 * to report (degraded, naming the settings), not a reason to stop certfleet starting.
 */
export function loadEventStreamCheckSettings(env: Env): EventStreamCheckSettings | undefined {
  if (!text(env.IotHubEvents) && !text(env.IotHubEvents__fullyQualifiedNamespace)) return undefined;
  const problems: string[] = [];
  let eventHub: EventHubSettings | undefined;
  let hostStorage: HostStorageSettings | undefined;
  try {
    eventHub = loadEventHubSettings(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  try {
    hostStorage = loadHostStorageSettings(env);
    if (!hostStorage) {
      problems.push(
        "AzureWebJobsStorage: required to read the trigger's checkpoints (a connection string, or AzureWebJobsStorage__accountName or __blobServiceUri)",
      );
    }
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  if (eventHub && hostStorage && problems.length === 0) {
    return { kind: 'configured', eventHub, hostStorage };
  }
  return {
    kind: 'invalid',
    ...(eventHub ? { eventHub: eventHub.eventHubName, consumerGroup: eventHub.consumerGroup } : {}),
    problems,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '';
  } catch {
    return false;
  }
}

function text(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
