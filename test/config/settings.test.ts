import { DEFAULT_ALERT_SETTINGS } from '../../shared/domain/alerts/AlertSettings';
import { DEFAULT_AUDIT_CHECK_SETTINGS } from '../../shared/domain/audit/FleetAuditChecks';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SettingsError, loadSettings } from '../../shared/config/settings';
import { HOUR_MS } from '../../shared/domain/Clock';
import { DEFAULT_RENEWAL_POLICY } from '../../shared/domain/RenewalPolicy';
import { DEFAULT_RENEWAL_TIMING } from '../../shared/domain/renewal/RenewalTiming';
import { createRootCa, privateKeyPem, toPem } from '../../shared/local/LocalCa';

type Env = Record<string, string | undefined>;

/** The SettingsError loadSettings throws for `env`; fails the test when it does not throw. */
function settingsErrorOf(env: Env): SettingsError {
  try {
    loadSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return error as SettingsError;
  }
  throw new Error(`expected a SettingsError for ${JSON.stringify(env)}`);
}

describe('loadSettings', () => {
  let rootPem: string;
  let keyPem: string;
  let dir: string;

  beforeAll(async () => {
    const root = await createRootCa('settings test root', {
      notBefore: '2026-01-01T00:00:00Z',
      notAfter: '2036-01-01T00:00:00Z',
    });
    rootPem = toPem(root.certificate);
    keyPem = await privateKeyPem(root.keys);
    dir = mkdtempSync(join(tmpdir(), 'certfleet-settings-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('defaults', () => {
    it('runs on development storage with the documented defaults when nothing is set', () => {
      expect(loadSettings({})).toStrictEqual({
        storage: { kind: 'development' },
        storagePrefix: 'certfleet',
        certificatePath: 'certificate',
        renewalPolicy: DEFAULT_RENEWAL_POLICY,
        auditShards: 8,
        maxBodyBytes: 256 * 1024,
        maxPemBytes: 4 * 1024,
        renewal: {
          cohortTag: 'cohort',
          cohortPolicies: [],
          renewalsPerMinute: 400,
          methodCallsPerSecond: 10,
          horizonMs: 12 * HOUR_MS,
          timing: DEFAULT_RENEWAL_TIMING,
        },
        reconcile: { twinQueriesPerMinute: 10 },
        alerts: { rules: DEFAULT_ALERT_SETTINGS },
        auditChecks: DEFAULT_AUDIT_CHECK_SETTINGS,
      });
    });

    it('reads cohort policies, first match wins, naming what is wrong in each', () => {
      const settings = loadSettings({
        CERTFLEET_RENEWAL_POLICIES:
          '[{"cohort":"rsa-legacy","renewAtFraction":0.7},{"issuer":"CN=Partner CA","renewBeforeHours":72}]',
      });
      expect(settings.renewal.cohortPolicies).toEqual([
        { cohort: 'rsa-legacy', policy: { kind: 'fraction', fraction: 0.7 } },
        { issuer: 'CN=Partner CA', policy: { kind: 'before', renewBeforeMs: 72 * HOUR_MS } },
      ]);
      const error = settingsErrorOf({
        CERTFLEET_RENEWAL_POLICIES: '[{"cohort":"a","renewAtFraction":1.5},{"renewBeforeHours":2}]',
      });
      expect(error.problems.join('\n')).toMatch(/CERTFLEET_RENEWAL_POLICIES\[0\.renewAtFraction\]/);
      expect(error.problems.join('\n')).toMatch(
        /CERTFLEET_RENEWAL_POLICIES\[1\]: name a cohort or an issuer/,
      );
      expect(settingsErrorOf({ CERTFLEET_RENEWAL_POLICIES: 'rsa=0.7' }).problems).toEqual([
        'CERTFLEET_RENEWAL_POLICIES: not JSON (a JSON array of policies)',
      ]);
    });

    it('names renewal pacing settings out of range', () => {
      const error = settingsErrorOf({
        CERTFLEET_RENEWALS_PER_MINUTE: '5000',
        CERTFLEET_METHOD_CALLS_PER_SECOND: '0',
        CERTFLEET_RENEWAL_DEADLINE_MINUTES: '1',
      });
      expect(error.problems.map((p) => p.split(':')[0]).sort()).toEqual([
        'CERTFLEET_METHOD_CALLS_PER_SECOND',
        'CERTFLEET_RENEWALS_PER_MINUTE',
        'CERTFLEET_RENEWAL_DEADLINE_MINUTES',
      ]);
    });

    it('renews at 85% of the lifetime by default', () => {
      expect(loadSettings({}).renewalPolicy).toEqual({ kind: 'fraction', fraction: 0.85 });
    });

    it('treats blank settings as unset', () => {
      const blank = {
        FleetStorage: '',
        CERTFLEET_STORAGE_PREFIX: '   ',
        CERTFLEET_AUDIT_SHARDS: '',
        CERTFLEET_TRUST_BUNDLE: ' ',
        CERTFLEET_RENEW_AT_FRACTION: '',
        CERTFLEET_RENEW_BEFORE_HOURS: '',
      };
      expect(loadSettings(blank)).toStrictEqual(loadSettings({}));
    });

    it('ignores settings it does not know', () => {
      expect(loadSettings({ PATH: '/usr/bin', WEBSITE_SITE_NAME: 'certfleet-prod' })).toEqual(
        loadSettings({}),
      );
    });

    it('reads every number and name it is given, trimmed', () => {
      const settings = loadSettings({
        CERTFLEET_STORAGE_PREFIX: ' fleet2 ',
        CERTFLEET_CERTIFICATE_PROPERTY: 'security.certificate',
        CERTFLEET_AUDIT_SHARDS: '16',
        CERTFLEET_MAX_EVENT_BYTES: '1024',
        CERTFLEET_MAX_PEM_BYTES: '262144',
      });
      expect(settings).toMatchObject({
        storagePrefix: 'fleet2',
        certificatePath: 'security.certificate',
        auditShards: 16,
        maxBodyBytes: 1024,
        maxPemBytes: 262144,
      });
    });
  });

  describe('invalid settings', () => {
    it.each([
      ['CERTFLEET_STORAGE_PREFIX', 'Cert-Fleet'],
      ['CERTFLEET_STORAGE_PREFIX', '1fleet'],
      ['CERTFLEET_STORAGE_PREFIX', 'ab'],
      ['CERTFLEET_CERTIFICATE_PROPERTY', 'certificate..pem'],
      ['CERTFLEET_CERTIFICATE_PROPERTY', 'properties/reported'],
      ['CERTFLEET_RENEW_AT_FRACTION', '1'],
      ['CERTFLEET_RENEW_AT_FRACTION', '0'],
      ['CERTFLEET_RENEW_AT_FRACTION', '85%'],
      ['CERTFLEET_RENEW_BEFORE_HOURS', '0'],
      ['CERTFLEET_RENEW_BEFORE_HOURS', '2161'],
      ['CERTFLEET_RENEW_BEFORE_HOURS', 'two days'],
      ['CERTFLEET_AUDIT_SHARDS', '0'],
      ['CERTFLEET_AUDIT_SHARDS', '65'],
      ['CERTFLEET_AUDIT_SHARDS', '2.5'],
      ['CERTFLEET_MAX_EVENT_BYTES', '1023'],
      ['CERTFLEET_MAX_EVENT_BYTES', '4194305'],
      ['CERTFLEET_MAX_PEM_BYTES', '262145'],
      ['CERTFLEET_MAX_PEM_BYTES', '-4096'],
      ['FleetStorage', 'not a connection string'],
      ['FleetStorage__blobServiceUri', 'ftp://fleet.blob.core.windows.net'],
      ['FleetStorage__tableServiceUri', 'fleet.table.core.windows.net'],
      ['FleetStorage__credential', 'azurecli'],
    ])('names %s when it is %j', (name, value) => {
      const env: Env = { [name]: value };
      if (name === 'FleetStorage__blobServiceUri')
        env.FleetStorage__tableServiceUri = 'https://fleet.table.core.windows.net';
      if (name === 'FleetStorage__tableServiceUri')
        env.FleetStorage__blobServiceUri = 'https://fleet.blob.core.windows.net';
      const error = settingsErrorOf(env);
      expect(error.code).toBe('SETTINGS_INVALID');
      expect(error.name).toBe('SettingsError');
      expect(error.problems).toEqual([expect.stringMatching(new RegExp(`^${name}: \\S`))]);
      expect(error.message).toContain(name);
    });

    it('names every invalid setting at once', () => {
      const error = settingsErrorOf({
        CERTFLEET_STORAGE_PREFIX: 'CertFleet',
        CERTFLEET_AUDIT_SHARDS: '0',
        CERTFLEET_MAX_PEM_BYTES: 'lots',
        FleetStorage__credential: 'azurecli',
      });
      for (const name of [
        'CERTFLEET_STORAGE_PREFIX',
        'CERTFLEET_AUDIT_SHARDS',
        'CERTFLEET_MAX_PEM_BYTES',
        'FleetStorage__credential',
      ]) {
        expect(error.message).toContain(`${name}:`);
      }
      expect(error.problems).toHaveLength(4);
    });

    it('names problems between settings together with invalid values', () => {
      const error = settingsErrorOf({
        CERTFLEET_AUDIT_SHARDS: '0',
        FleetStorage__blobServiceUri: 'https://fleet.blob.core.windows.net',
        CERTFLEET_RENEW_AT_FRACTION: '0.8',
        CERTFLEET_RENEW_BEFORE_HOURS: '48',
        CERTFLEET_TRUST_BUNDLE: join(dir, 'absent.pem'),
      });
      expect(error.message).toContain('CERTFLEET_AUDIT_SHARDS:');
      expect(error.message).toContain('FleetStorage__tableServiceUri:');
      expect(error.message).toContain(
        'CERTFLEET_RENEW_AT_FRACTION, CERTFLEET_RENEW_BEFORE_HOURS: set one, not both',
      );
      expect(error.message).toContain('CERTFLEET_TRUST_BUNDLE:');
    });
  });

  describe('fleet storage', () => {
    it('uses a FleetStorage connection string', () => {
      const connectionString =
        'DefaultEndpointsProtocol=https;AccountName=fleet;AccountKey=a2V5;EndpointSuffix=core.windows.net';
      expect(loadSettings({ FleetStorage: connectionString }).storage).toEqual({
        kind: 'connection-string',
        connectionString,
      });
    });

    it.each([
      'UseDevelopmentStorage=true',
      'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
    ])('accepts the connection string %j', (connectionString) => {
      expect(loadSettings({ FleetStorage: connectionString }).storage.kind).toBe(
        'connection-string',
      );
    });

    it('uses identity-based service URIs', () => {
      const settings = loadSettings({
        FleetStorage__blobServiceUri: 'https://fleet.blob.core.windows.net',
        FleetStorage__tableServiceUri: 'https://fleet.table.core.windows.net',
      });
      expect(settings.storage).toStrictEqual({
        kind: 'identity',
        blobServiceUri: 'https://fleet.blob.core.windows.net',
        tableServiceUri: 'https://fleet.table.core.windows.net',
      });
    });

    it('passes on credential=managedidentity and a user-assigned identity client id', () => {
      const settings = loadSettings({
        FleetStorage__blobServiceUri: 'https://fleet.blob.core.windows.net',
        FleetStorage__tableServiceUri: 'https://fleet.table.core.windows.net',
        FleetStorage__credential: 'managedidentity',
        FleetStorage__clientId: '00000000-0000-0000-0000-00000000c11d',
      });
      expect(settings.storage).toEqual({
        kind: 'identity',
        blobServiceUri: 'https://fleet.blob.core.windows.net',
        tableServiceUri: 'https://fleet.table.core.windows.net',
        credential: 'managedidentity',
        clientId: '00000000-0000-0000-0000-00000000c11d',
      });
    });

    it('names FleetStorage__tableServiceUri when only the blob URI is set', () => {
      const error = settingsErrorOf({
        FleetStorage__blobServiceUri: 'https://fleet.blob.core.windows.net',
      });
      expect(error.problems).toEqual([
        'FleetStorage__tableServiceUri: required with FleetStorage__blobServiceUri',
      ]);
    });

    it('names FleetStorage__blobServiceUri when only the table URI is set', () => {
      const error = settingsErrorOf({
        FleetStorage__tableServiceUri: 'https://fleet.table.core.windows.net',
      });
      expect(error.problems).toEqual([
        'FleetStorage__blobServiceUri: required with FleetStorage__tableServiceUri',
      ]);
    });
  });

  describe('renewal policy', () => {
    it('renews at the fraction CERTFLEET_RENEW_AT_FRACTION gives', () => {
      expect(loadSettings({ CERTFLEET_RENEW_AT_FRACTION: '0.7' }).renewalPolicy).toEqual({
        kind: 'fraction',
        fraction: 0.7,
      });
    });

    it('renews CERTFLEET_RENEW_BEFORE_HOURS before expiry', () => {
      expect(loadSettings({ CERTFLEET_RENEW_BEFORE_HOURS: '36' }).renewalPolicy).toEqual({
        kind: 'before',
        renewBeforeMs: 36 * HOUR_MS,
      });
    });

    it('accepts the longest lead time a 90-day certificate allows', () => {
      expect(loadSettings({ CERTFLEET_RENEW_BEFORE_HOURS: '2160' }).renewalPolicy).toEqual({
        kind: 'before',
        renewBeforeMs: 2160 * HOUR_MS,
      });
    });

    it('refuses both policies at once, naming both settings', () => {
      const error = settingsErrorOf({
        CERTFLEET_RENEW_AT_FRACTION: '0.8',
        CERTFLEET_RENEW_BEFORE_HOURS: '48',
      });
      expect(error.problems).toEqual([
        'CERTFLEET_RENEW_AT_FRACTION, CERTFLEET_RENEW_BEFORE_HOURS: set one, not both',
      ]);
    });
  });

  describe('trust bundle', () => {
    it('reads PEM text given in the setting itself', () => {
      expect(loadSettings({ CERTFLEET_TRUST_BUNDLE: rootPem }).trustBundlePem).toBe(rootPem);
    });

    it('turns literal \\n escapes in an inline PEM into new lines', () => {
      const escaped = rootPem.replace(/\n/g, '\\n');
      expect(escaped).not.toContain('\n');
      const settings = loadSettings({ CERTFLEET_TRUST_BUNDLE: escaped });
      expect(settings.trustBundlePem).toBe(rootPem.trim());
    });

    it('reads a PEM file when the setting is a path', () => {
      const path = join(dir, 'bundle.pem');
      writeFileSync(path, `${rootPem}\n`);
      expect(loadSettings({ CERTFLEET_TRUST_BUNDLE: path }).trustBundlePem).toBe(`${rootPem}\n`);
    });

    it('names a trust bundle path that is a folder instead of failing with a raw error', () => {
      const error = settingsErrorOf({ CERTFLEET_TRUST_BUNDLE: dir });
      expect(error.problems).toEqual([
        'CERTFLEET_TRUST_BUNDLE: cannot read the file it names (EISDIR)',
      ]);
    });

    it('names a trust bundle file that does not exist without repeating the value', () => {
      const path = join(dir, 'missing.pem');
      const error = settingsErrorOf({ CERTFLEET_TRUST_BUNDLE: path });
      expect(error.problems).toEqual([
        'CERTFLEET_TRUST_BUNDLE: neither PEM text nor the path of an existing file',
      ]);
    });

    it('refuses an inline bundle that holds a private key', () => {
      const error = settingsErrorOf({ CERTFLEET_TRUST_BUNDLE: `${rootPem}\n${keyPem}` });
      expect(error.problems).toEqual([
        'CERTFLEET_TRUST_BUNDLE: holds a private key; it must hold certificates only',
      ]);
      expect(error.message).not.toContain(keyPem.split('\n')[1]);
    });

    it('refuses a bundle file that holds a private key', () => {
      const path = join(dir, 'with-key.pem');
      writeFileSync(path, `${rootPem}\n${keyPem}`);
      expect(settingsErrorOf({ CERTFLEET_TRUST_BUNDLE: path }).problems).toEqual([
        'CERTFLEET_TRUST_BUNDLE: holds a private key; it must hold certificates only',
      ]);
    });

    it('refuses a bundle without a CERTIFICATE block', () => {
      const path = join(dir, 'empty.pem');
      writeFileSync(path, 'no certificates here\n');
      expect(settingsErrorOf({ CERTFLEET_TRUST_BUNDLE: path }).problems).toEqual([
        'CERTFLEET_TRUST_BUNDLE: holds no CERTIFICATE block',
      ]);
    });
  });
  describe('App Service authentication', () => {
    it('does not trust x-ms-client-principal-name unless CERTFLEET_TRUST_EASY_AUTH says Easy Auth is on', () => {
      expect(loadSettings({}).trustEasyAuth).toBeUndefined();
      expect(loadSettings({ CERTFLEET_TRUST_EASY_AUTH: 'false' }).trustEasyAuth).toBeUndefined();
      expect(loadSettings({ CERTFLEET_TRUST_EASY_AUTH: 'true' }).trustEasyAuth).toBe(true);
      expect(loadSettings({ CERTFLEET_TRUST_EASY_AUTH: ' True ' }).trustEasyAuth).toBe(true);
    });

    it('names CERTFLEET_TRUST_EASY_AUTH when it is neither true nor false', () => {
      expect(settingsErrorOf({ CERTFLEET_TRUST_EASY_AUTH: 'yes' }).problems).toEqual([
        'CERTFLEET_TRUST_EASY_AUTH: must be true or false: whether App Service authentication is on',
      ]);
    });
  });
});
