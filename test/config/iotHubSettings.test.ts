import { LOCAL_DEVELOPMENT_POLICY, loadIotHubSettings } from '../../shared/config/iotHubSettings';
import { SettingsError } from '../../shared/config/settings';

type Env = Record<string, string | undefined>;

const KEY_A = Buffer.from('key of hub a, 32 bytes long.....').toString('base64');
const KEY_B = Buffer.from('key of hub b, 32 bytes long.....').toString('base64');
const HUB_A = `HostName=hub-a.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY_A}`;
const HUB_B = `HostName=Hub-B.azure-devices.net;SharedAccessKeyName=certfleet;SharedAccessKey=${KEY_B}`;

function problemsOf(env: Env): string[] {
  try {
    loadIotHubSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as SettingsError).problems;
  }
  throw new Error(`expected a SettingsError for ${JSON.stringify(Object.keys(env))}`);
}

describe('loadIotHubSettings', () => {
  it('disables renewal requests, without failing, when no hub and no endpoint is set', () => {
    expect(loadIotHubSettings({})).toBeUndefined();
    expect(loadIotHubSettings({ IotHub: ' ', IotHub__fullyQualifiedName: '' })).toBeUndefined();
    expect(loadIotHubSettings({ CERTFLEET_RENEWAL_METHOD: 'renew' })).toBeUndefined();
  });

  it('reads one connection string with the documented defaults', () => {
    expect(loadIotHubSettings({ IotHub: HUB_A })).toStrictEqual({
      hubs: [
        {
          hub: 'hub-a',
          hostName: 'hub-a.azure-devices.net',
          auth: { kind: 'shared-access-key', keyName: 'service', key: KEY_A },
        },
      ],
      anyHubAtEndpoint: false,
      methodName: 'renewCertificate',
      responseTimeoutSeconds: 30,
      connectTimeoutSeconds: 0,
      requestTimeoutMs: 40_000,
    });
  });

  it('reads several connection strings separated by newlines or |, naming each hub in lower case', () => {
    for (const IotHub of [`${HUB_A}\n${HUB_B}`, `${HUB_A}\r\n${HUB_B}\n`, `${HUB_A}|${HUB_B}`]) {
      const settings = loadIotHubSettings({ IotHub });
      expect(settings?.hubs.map((h) => [h.hub, h.hostName])).toEqual([
        ['hub-a', 'hub-a.azure-devices.net'],
        ['hub-b', 'Hub-B.azure-devices.net'],
      ]);
    }
  });

  it('reads host names with a managed identity and its client id', () => {
    const settings = loadIotHubSettings({
      IotHub__fullyQualifiedName: 'hub-a.azure-devices.net, Hub-B.azure-devices.net',
      IotHub__credential: 'managedidentity',
      IotHub__clientId: '00000000-0000-0000-0000-000000000001',
    });
    expect(settings?.hubs).toEqual([
      { hub: 'hub-a', hostName: 'hub-a.azure-devices.net', auth: { kind: 'entra-id' } },
      { hub: 'hub-b', hostName: 'Hub-B.azure-devices.net', auth: { kind: 'entra-id' } },
    ]);
    expect(settings?.credential).toEqual({
      kind: 'managedidentity',
      clientId: '00000000-0000-0000-0000-000000000001',
    });
  });

  it('uses DefaultAzureCredential for host names when no credential is named', () => {
    expect(
      loadIotHubSettings({ IotHub__fullyQualifiedName: 'hub-a.azure-devices.net' })?.credential,
    ).toEqual({ kind: 'default' });
  });

  it('reads the method name and both timeouts, and waits for IoT Hub their sum plus a margin', () => {
    const settings = loadIotHubSettings({
      IotHub: HUB_A,
      CERTFLEET_RENEWAL_METHOD: ' renew-cert_v2 ',
      CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS: '300',
      CERTFLEET_METHOD_CONNECT_TIMEOUT_SECONDS: '15',
    });
    expect(settings).toMatchObject({
      methodName: 'renew-cert_v2',
      responseTimeoutSeconds: 300,
      connectTimeoutSeconds: 15,
      requestTimeoutMs: 325_000,
    });
  });

  it('sends every hub to the endpoint override, without its trailing slash', () => {
    const settings = loadIotHubSettings({
      IotHub: HUB_A,
      CERTFLEET_IOTHUB_ENDPOINT: 'http://127.0.0.1:8443/',
    });
    expect(settings).toMatchObject({ endpoint: 'http://127.0.0.1:8443', anyHubAtEndpoint: false });
  });

  it('accepts any hub at the endpoint when only the endpoint is set, for local runs', () => {
    const settings = loadIotHubSettings({ CERTFLEET_IOTHUB_ENDPOINT: 'http://127.0.0.1:8443' });
    expect(settings).toMatchObject({ hubs: [], anyHubAtEndpoint: true });
    expect(LOCAL_DEVELOPMENT_POLICY.keyName).toBe('certfleet-local');
  });

  describe('problems', () => {
    it('names a connection string that is not one, by its place, without its key', () => {
      const broken = `HostName=hub-c.azure-devices.net;SharedAccessKey=${KEY_B}`;
      const problems = problemsOf({ IotHub: `${HUB_A}|${broken}` });
      expect(problems).toEqual([
        'IotHub (connection string 2): not an IoT Hub service connection string: missing SharedAccessKeyName',
      ]);
      expect(problems.join()).not.toContain(KEY_B);
    });

    it('names a host name that is not one by its place, not its text (it may be a key pasted there)', () => {
      expect(
        problemsOf({ IotHub__fullyQualifiedName: 'hub-a.azure-devices.net,https://x' }),
      ).toEqual([
        'IotHub__fullyQualifiedName (host name 2): not a host name such as contoso-hub.azure-devices.net',
      ]);
    });

    it('refuses the same hub twice, which would make routing ambiguous', () => {
      expect(problemsOf({ IotHub: `${HUB_A}\n${HUB_A.replace('hub-a', 'HUB-A')}` })).toEqual([
        'IotHub: hub hub-a is named twice',
      ]);
    });

    it('refuses connection strings and host names together', () => {
      expect(
        problemsOf({ IotHub: HUB_A, IotHub__fullyQualifiedName: 'hub-b.azure-devices.net' }),
      ).toEqual(['IotHub, IotHub__fullyQualifiedName: set one, not both']);
    });

    it.each([
      ['CERTFLEET_RENEWAL_METHOD', 'renew certificate'],
      ['CERTFLEET_RENEWAL_METHOD', 'renew/cert'],
      ['CERTFLEET_RENEWAL_METHOD', 'x'.repeat(129)],
      ['CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS', '4'],
      ['CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS', '301'],
      ['CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS', '30.5'],
      ['CERTFLEET_METHOD_CONNECT_TIMEOUT_SECONDS', '-1'],
      ['CERTFLEET_METHOD_CONNECT_TIMEOUT_SECONDS', '301'],
      ['CERTFLEET_IOTHUB_ENDPOINT', 'ftp://127.0.0.1'],
      ['CERTFLEET_IOTHUB_ENDPOINT', '127.0.0.1:8443'],
      ['IotHub__credential', 'serviceprincipal'],
    ])('names %s when it is %j', (setting, value) => {
      const problems = problemsOf({ IotHub: HUB_A, [setting]: value });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^${setting}: `));
    });

    it('names every problem at once', () => {
      const problems = problemsOf({
        IotHub: 'HostName=hub-a.azure-devices.net',
        CERTFLEET_RENEWAL_METHOD: 'a b',
        CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS: '0',
        CERTFLEET_IOTHUB_ENDPOINT: 'nope',
      });
      expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
        'CERTFLEET_IOTHUB_ENDPOINT',
        'CERTFLEET_METHOD_RESPONSE_TIMEOUT_SECONDS',
        'CERTFLEET_RENEWAL_METHOD',
        'IotHub',
      ]);
    });
  });
});
