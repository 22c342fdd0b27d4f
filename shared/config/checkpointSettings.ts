import { isAbsolute, resolve } from 'node:path';
import { Env } from './settingSchemas';
import { SettingsError } from './SettingsError';

/**
 * Which key signs the audit trail's checkpoints (docs/auditing.md):
 * - `CERTFLEET_CHECKPOINT_KEY_ID`: an EC P-256 key in Azure Key Vault,
 *   `https://VAULT.vault.azure.net/keys/NAME[/VERSION]`, used by the Function app's identity
 *   (`CERTFLEET_CHECKPOINT_KEY_CLIENT_ID`: a user-assigned identity's client id);
 * - `CERTFLEET_CHECKPOINT_KEY_FILE`: a local PEM key file, created when missing (local runs).
 * Neither: checkpoints are not taken, and verification says so.
 */
export type CheckpointKeySettings =
  { kind: 'key-vault'; keyId: string; clientId?: string } | { kind: 'file'; path: string };

export function loadCheckpointKeySettings(
  env: Env = process.env,
): CheckpointKeySettings | undefined {
  const keyId = env.CERTFLEET_CHECKPOINT_KEY_ID?.trim() ?? '';
  const file = env.CERTFLEET_CHECKPOINT_KEY_FILE?.trim() ?? '';
  const clientId = env.CERTFLEET_CHECKPOINT_KEY_CLIENT_ID?.trim() ?? '';
  const problems: string[] = [];
  if (keyId && file) {
    problems.push(
      'CERTFLEET_CHECKPOINT_KEY_ID and CERTFLEET_CHECKPOINT_KEY_FILE: set one of them, not both',
    );
  }
  if (keyId && !isKeyVaultKeyUrl(keyId)) {
    problems.push(
      'CERTFLEET_CHECKPOINT_KEY_ID: must be a Key Vault key URL, https://VAULT.vault.azure.net/keys/NAME (optionally /VERSION)',
    );
  }
  if (problems.length > 0) throw new SettingsError(problems);
  // Without its trailing slash: the Key Vault SDK refuses `/keys/NAME/VERSION/` as an identifier.
  if (keyId)
    return {
      kind: 'key-vault',
      keyId: keyId.replace(/\/+$/, ''),
      ...(clientId ? { clientId } : {}),
    };
  if (file) return { kind: 'file', path: isAbsolute(file) ? file : resolve(file) };
  return undefined;
}

function isKeyVaultKeyUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    url.search === '' &&
    url.hash === '' &&
    /^\/keys\/[0-9A-Za-z-]{1,127}(\/[0-9A-Za-z]{1,64})?\/?$/.test(url.pathname)
  );
}
