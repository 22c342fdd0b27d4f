import { isAbsolute, resolve } from 'node:path';
import { KeyVaultCheckpointKey } from '../../shared/adapters/keys/KeyVaultCheckpointKey';
import { loadCheckpointKeySettings } from '../../shared/config/checkpointSettings';
import { SettingsError } from '../../shared/config/SettingsError';

const KEY_URL = 'https://contoso-audit.vault.azure.net/keys/checkpoints';
const NOT_A_KEY_URL =
  'CERTFLEET_CHECKPOINT_KEY_ID: must be a Key Vault key URL, https://VAULT.vault.azure.net/keys/NAME (optionally /VERSION)';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadCheckpointKeySettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('the settings loaded');
}

describe('the checkpoint key settings', () => {
  it('are absent when neither a Key Vault key nor a key file is set, blank counting as unset', () => {
    expect(loadCheckpointKeySettings({})).toBeUndefined();
    expect(
      loadCheckpointKeySettings({
        CERTFLEET_CHECKPOINT_KEY_ID: '  ',
        CERTFLEET_CHECKPOINT_KEY_FILE: '',
        CERTFLEET_CHECKPOINT_KEY_CLIENT_ID: '0f1e2d3c-0000-4000-8000-000000000000',
      }),
    ).toBeUndefined();
  });

  it('refuse both a Key Vault key and a key file, naming both', () => {
    expect(
      problemsOf({
        CERTFLEET_CHECKPOINT_KEY_ID: KEY_URL,
        CERTFLEET_CHECKPOINT_KEY_FILE: 'key.pem',
      }),
    ).toEqual([
      'CERTFLEET_CHECKPOINT_KEY_ID and CERTFLEET_CHECKPOINT_KEY_FILE: set one of them, not both',
    ]);
  });

  it.each([
    ['plain HTTP', 'http://contoso-audit.vault.azure.net/keys/checkpoints'],
    ['a secret', 'https://contoso-audit.vault.azure.net/secrets/checkpoints'],
    ['a certificate', 'https://contoso-audit.vault.azure.net/certificates/checkpoints'],
    ['the vault alone', 'https://contoso-audit.vault.azure.net/'],
    ['a key name with a dot', 'https://contoso-audit.vault.azure.net/keys/check.points'],
    ['a path past the version', `${KEY_URL}/0a1b2c3d/extra`],
    ['a query', `${KEY_URL}?api-version=7.4`],
    ['a fragment', `${KEY_URL}#v1`],
    ['a bare key name', 'checkpoints'],
  ])('refuse a key id that is %s, naming the setting', (_, keyId) => {
    expect(problemsOf({ CERTFLEET_CHECKPOINT_KEY_ID: keyId })).toEqual([NOT_A_KEY_URL]);
  });

  it('name every problem at once', () => {
    expect(
      problemsOf({
        CERTFLEET_CHECKPOINT_KEY_ID: 'http://contoso-audit.vault.azure.net/keys/checkpoints',
        CERTFLEET_CHECKPOINT_KEY_FILE: 'key.pem',
      }),
    ).toHaveLength(2);
  });

  it.each([
    ['without a version', KEY_URL, KEY_URL],
    [
      'with a version',
      `${KEY_URL}/0a1b2c3d4e5f60718293a4b5c6d7e8f9`,
      `${KEY_URL}/0a1b2c3d4e5f60718293a4b5c6d7e8f9`,
    ],
    ['with a trailing slash', `${KEY_URL}/`, KEY_URL],
    ['with a version and a trailing slash', `${KEY_URL}/0a1b2c3d/`, `${KEY_URL}/0a1b2c3d`],
  ])('take a Key Vault key URL %s, one the Key Vault adapter can use', async (_, given, keyId) => {
    const settings = loadCheckpointKeySettings({ CERTFLEET_CHECKPOINT_KEY_ID: ` ${given} ` });
    const access = {
      getKey: async () => ({ id: `${KEY_URL}/current` }),
      signData: async () => new Uint8Array(64),
    };

    const taken = (settings as { keyId: string }).keyId;

    expect(() => new KeyVaultCheckpointKey(taken, access)).not.toThrow();
    expect(settings).toEqual({ kind: 'key-vault', keyId });
  });

  it('carry the client id of a user-assigned identity with the Key Vault key', () => {
    const clientId = '0f1e2d3c-0000-4000-8000-000000000000';

    expect(
      loadCheckpointKeySettings({
        CERTFLEET_CHECKPOINT_KEY_ID: KEY_URL,
        CERTFLEET_CHECKPOINT_KEY_CLIENT_ID: ` ${clientId} `,
      }),
    ).toEqual({ kind: 'key-vault', keyId: KEY_URL, clientId });
  });

  it('resolve a relative key file path against the working directory, and keep an absolute one', () => {
    const relative = loadCheckpointKeySettings({
      CERTFLEET_CHECKPOINT_KEY_FILE: '.certfleet/checkpoint-key.pem',
    });
    const absolute = loadCheckpointKeySettings({
      CERTFLEET_CHECKPOINT_KEY_FILE: '/var/lib/certfleet/key.pem',
    });

    expect(relative).toEqual({
      kind: 'file',
      path: resolve(process.cwd(), '.certfleet/checkpoint-key.pem'),
    });
    expect(isAbsolute((relative as { path: string }).path)).toBe(true);
    expect(absolute).toEqual({ kind: 'file', path: '/var/lib/certfleet/key.pem' });
  });
});
