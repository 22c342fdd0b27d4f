import { azureCredential } from './adapters/azureCredential';
import { LocalCheckpointKey } from './adapters/keys/LocalCheckpointKey';
import { CheckpointKeys, CheckpointSigner } from './app/ports';
import { Settings } from './config/settings';

type VaultModule = typeof import('./adapters/keys/KeyVaultCheckpointKey');

/** The checkpoint key the settings name (a Key Vault key, or a local key file); none: undefined. */
export function checkpointKey(settings: Settings): (CheckpointSigner & CheckpointKeys) | undefined {
  const key = settings.checkpointKey;
  if (!key) return undefined;
  if (key.kind === 'file') return new LocalCheckpointKey(key.path);
  // The Function app's managed identity (a user-assigned one by its client id) in Azure; the
  // signed-in developer or auditor (Azure CLI, VS Code) elsewhere. The Key Vault SDK loads only
  // for a deployment whose checkpoints it signs.
  const credential = azureCredential(
    key.clientId ? { kind: 'managedidentity', clientId: key.clientId } : { kind: 'default' },
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
  const vault: VaultModule = require('./adapters/keys/KeyVaultCheckpointKey');
  return vault.KeyVaultCheckpointKey.fromKeyId(key.keyId, credential);
}
