import { SettingsError, loadSettings } from '../../shared/config/settings';
import {
  loadEventStreamCheckSettings,
  loadHostStorageSettings,
} from '../../shared/config/hostStorageSettings';
import { Env } from '../../shared/config/settingSchemas';

/**
 * The host storage (`AzureWebJobsStorage`, where the Event Hubs trigger checkpoints) and the
 * event stream's settings as the health check reads them: every form the Functions host takes,
 * each problem named by its setting, never by its value, and never a reason to stop start-up.
 */
const KEY = Buffer.from('host storage key that must never be echoed, 64 bytes long......').toString(
  'base64',
);
const EVENTS = `Endpoint=sb://contoso-events.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${KEY}`;

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as SettingsError).problems;
  }
  throw new Error('expected a SettingsError');
}

describe('loadHostStorageSettings', () => {
  it('is undefined when no host storage setting is set', () => {
    expect(loadHostStorageSettings({})).toBeUndefined();
  });

  it('reads a connection string, Azurite development storage included', () => {
    expect(loadHostStorageSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' })).toEqual({
      kind: 'connection-string',
      connectionString: 'UseDevelopmentStorage=true',
    });
  });

  it("reads an account name as the account's blob endpoint, with the app's managed identity", () => {
    expect(
      loadHostStorageSettings({
        AzureWebJobsStorage__accountName: 'certfleethost',
        AzureWebJobsStorage__credential: 'managedidentity',
        AzureWebJobsStorage__clientId: '6f1a9b8e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
      }),
    ).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://certfleethost.blob.core.windows.net',
      credential: 'managedidentity',
      clientId: '6f1a9b8e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
    });
  });

  it('prefers the blob service URI to the account name, and DefaultAzureCredential without __credential', () => {
    expect(
      loadHostStorageSettings({
        AzureWebJobsStorage__accountName: 'certfleethost',
        AzureWebJobsStorage__blobServiceUri: 'https://certfleethost.blob.core.usgovcloudapi.net/',
      }),
    ).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://certfleethost.blob.core.usgovcloudapi.net',
      credential: 'default',
    });
  });

  it('takes the connection string when identity settings are set beside it, as the host does', () => {
    expect(
      loadHostStorageSettings({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AzureWebJobsStorage__accountName: 'certfleethost',
      }),
    ).toMatchObject({ kind: 'connection-string' });
  });

  it('names each setting that is wrong, never repeating what it holds', () => {
    expect(problemsOf(() => loadHostStorageSettings({ AzureWebJobsStorage: KEY }))).toEqual([
      'AzureWebJobsStorage: not a storage connection string (expected AccountName=… or BlobEndpoint=…, or UseDevelopmentStorage=true)',
    ]);
    const problems = problemsOf(() =>
      loadHostStorageSettings({
        AzureWebJobsStorage__accountName: KEY,
        AzureWebJobsStorage__credential: KEY,
      }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'AzureWebJobsStorage__accountName',
      'AzureWebJobsStorage__credential',
    ]);
    expect(
      problemsOf(() =>
        loadHostStorageSettings({ AzureWebJobsStorage__blobServiceUri: `https://x/?sig=${KEY}` }),
      ),
    ).toEqual([
      'AzureWebJobsStorage__blobServiceUri: must be an http(s) URL such as https://account.blob.core.windows.net',
    ]);
    expect(JSON.stringify(problems)).not.toContain(KEY.slice(0, 20));
  });
});

describe('loadEventStreamCheckSettings', () => {
  const configured: Env = {
    IotHubEvents: EVENTS,
    CERTFLEET_EVENTHUB_NAME: 'iothub-events',
    CERTFLEET_EVENTHUB_CONSUMER_GROUP: 'certfleet',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  };

  it('is undefined when no Event Hubs connection is set: the event stream is not configured', () => {
    expect(
      loadEventStreamCheckSettings({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }),
    ).toBe(undefined);
  });

  it('holds the Event Hubs connection and the host storage when both are usable', () => {
    expect(loadEventStreamCheckSettings(configured)).toEqual({
      kind: 'configured',
      eventHub: {
        connection: { kind: 'connection-string', connectionString: EVENTS },
        eventHubName: 'iothub-events',
        consumerGroup: 'certfleet',
      },
      hostStorage: { kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true' },
    });
  });

  it('names what is missing or wrong on both sides at once, without a value', () => {
    const settings = loadEventStreamCheckSettings({
      IotHubEvents: KEY,
      AzureWebJobsStorage__accountName: KEY,
    });

    expect(settings?.kind).toBe('invalid');
    const problems = settings?.kind === 'invalid' ? settings.problems : [];
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'IotHubEvents',
      'CERTFLEET_EVENTHUB_NAME',
      'AzureWebJobsStorage__accountName',
    ]);
    expect(JSON.stringify(settings)).not.toContain(KEY.slice(0, 20));
  });

  it('needs the host storage to read the checkpoints', () => {
    const settings = loadEventStreamCheckSettings({ ...configured, AzureWebJobsStorage: '' });

    expect(settings).toEqual({
      kind: 'invalid',
      eventHub: 'iothub-events',
      consumerGroup: 'certfleet',
      problems: [
        "AzureWebJobsStorage: required to read the trigger's checkpoints (a connection string, or AzureWebJobsStorage__accountName or __blobServiceUri)",
      ],
    });
  });

  it('comes with the settings, and an unusable one does not stop start-up', () => {
    expect(loadSettings(configured).eventStream?.kind).toBe('configured');
    expect(loadSettings({ IotHubEvents: 'not a connection string' }).eventStream?.kind).toBe(
      'invalid',
    );
    expect(loadSettings({}).eventStream).toBeUndefined();
  });
});
