import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadEventHubSettings } from '../../shared/config/eventHubSettings';
import { Env } from '../../shared/config/settingSchemas';
import { SettingsError, loadSettings } from '../../shared/config/settings';
import { buildServices } from '../../shared/services';

/**
 * No settings message repeats a secret. A secret is fed into every setting
 * local.settings.sample.json lists, raw and inside each kind of connection string, SAS or PEM
 * it could be mistaken for, alone and beside valid settings (so the checks that run only when
 * IoT Hub or Event Hubs are configured run too). Every message start-up can print is collected:
 * the settings' own, the Event Hubs settings' (`certfleet listen`) and the composition root's.
 */
const KEY = Buffer.from(
  'a storage account key nobody may ever read in a log line, 64 bytes',
).toString('base64');
const SAS_SIGNATURE = encodeURIComponent(KEY);

/** Every way a secret reaches a setting: pasted alone, or inside what holds it. */
const SECRET_VALUES: readonly string[] = [
  KEY,
  `DefaultEndpointsProtocol=https;AccountName=fleetstore;AccountKey=${KEY};EndpointSuffix=core.windows.net`,
  `AccountName=fleetstore;AccountKey=${KEY}`,
  `BlobEndpoint=https://fleetstore.blob.core.windows.net/;SharedAccessSignature=sv=2024-11-04&ss=bt&sig=${SAS_SIGNATURE}`,
  `https://fleetstore.blob.core.windows.net/?sv=2024-11-04&ss=bt&sig=${SAS_SIGNATURE}`,
  `sv=2024-11-04&ss=bt&srt=sco&sp=rwl&sig=${SAS_SIGNATURE}`,
  `HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${KEY}`,
  `HostName=${KEY};SharedAccessKeyName=service;SharedAccessKey=${KEY}`,
  `HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=${KEY};SharedAccessKey=service`,
  `SharedAccessSignature sr=contoso-hub.azure-devices.net&sig=${SAS_SIGNATURE}&se=1795000000&skn=service`,
  `Endpoint=sb://contoso-events.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${KEY}`,
  `Endpoint=sb://contoso-events.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=${KEY};EntityPath=${KEY}`,
  `-----BEGIN CERTIFICATE-----\n${KEY}\n-----END CERTIFICATE-----`,
  `-----BEGIN CERTIFICATE-----\\nMII${KEY}\\n-----END CERTIFICATE-----`,
  `-----BEGIN PRIVATE KEY-----\n${KEY}\n-----END PRIVATE KEY-----`,
  `[{"cohort":"${KEY}","renewAtFraction":"${KEY}"}]`,
  `[{"${KEY}":0.5}]`,
  `${KEY}\n${KEY}`,
  `${KEY}|${KEY}`,
  `${KEY},${KEY}`,
  ` ${KEY} `,
];

/** Settings that switch on the checks of IoT Hub and Event Hubs, holding no secret of this test. */
const VALID_IOTHUB = `HostName=other-hub.azure-devices.net;SharedAccessKeyName=service;SharedAccessKey=${Buffer.from('not the secret of this test').toString('base64')}`;
const BASES: readonly Env[] = [
  {},
  { IotHub: VALID_IOTHUB, IotHubEvents__fullyQualifiedNamespace: 'events.servicebus.windows.net' },
  { CERTFLEET_IOTHUB_ENDPOINT: 'http://127.0.0.1:8443', CERTFLEET_EVENTHUB_NAME: 'iothub-events' },
];

const sampleSettings = Object.keys(
  (
    JSON.parse(readFileSync(join(__dirname, '..', '..', 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    }
  ).Values,
);

/** Every message start-up prints for `env`: the settings', the Event Hubs', the services'. */
function messagesFor(env: Env): string[] {
  const messages: string[] = [];
  const collect = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      messages.push((error as Error).message);
      if (error instanceof SettingsError) messages.push(...error.problems);
    }
  };
  collect(() => buildServices(loadSettings(env)));
  collect(() => loadEventHubSettings(env));
  return messages;
}

/** Any 10 characters in a row of the key, or of its URL-encoded form, is part of the key. */
function partOfTheKeyIn(message: string): string | undefined {
  for (const secret of [KEY, SAS_SIGNATURE]) {
    for (let i = 0; i + 10 <= secret.length; i += 1) {
      const part = secret.slice(i, i + 10);
      if (message.includes(part)) return part;
    }
  }
  return undefined;
}

describe('settings messages', () => {
  it('cover every setting the sample lists, the App Service authentication switch included', () => {
    expect(sampleSettings).toEqual(
      expect.arrayContaining([
        'FleetStorage',
        'IotHub',
        'IotHubEvents',
        'CERTFLEET_TRUST_BUNDLE',
        'CERTFLEET_TRUST_EASY_AUTH',
      ]),
    );
  });

  it('never repeat a key, a SAS or a connection string fed into any setting', () => {
    const leaks: string[] = [];
    let messages = 0;
    let cases = 0;
    for (const setting of sampleSettings) {
      for (const value of SECRET_VALUES) {
        for (const base of BASES) {
          cases += 1;
          for (const message of messagesFor({ ...base, [setting]: value })) {
            messages += 1;
            const part = partOfTheKeyIn(message);
            if (part) leaks.push(`${setting}: ${message}`);
          }
        }
      }
    }

    expect(leaks).toEqual([]);
    expect(cases).toBe(sampleSettings.length * SECRET_VALUES.length * BASES.length);
    // Most of them are refused, so the messages were really read.
    expect(messages).toBeGreaterThan(cases);
  });

  it('name the trust bundle setting and what is wrong, not the value, when it is neither PEM nor a file', () => {
    const error = (() => {
      try {
        loadSettings({ CERTFLEET_TRUST_BUNDLE: `/run/secrets/${KEY}.pem` });
      } catch (e) {
        return e as SettingsError;
      }
      throw new Error('expected a SettingsError');
    })();

    expect(error.problems).toEqual([
      'CERTFLEET_TRUST_BUNDLE: neither PEM text nor the path of an existing file',
    ]);
  });
});
