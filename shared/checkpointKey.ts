import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { parseKeyVaultKeyIdentifier } from '@azure/keyvault-keys';
import { KeyVaultCheckpointKey, keyVaultKeyAccess } from './adapters/keys/KeyVaultCheckpointKey';
import { LocalCheckpointKey } from './adapters/keys/LocalCheckpointKey';
import { CheckpointKeys, CheckpointSigner } from './app/ports';
import { Settings } from './config/settings';

/** The checkpoint key the settings name (a Key Vault key, or a local key file); none: undefined. */
export function checkpointKey(settings: Settings): (CheckpointSigner & CheckpointKeys) | undefined {
  const key = settings.checkpointKey;
  if (!key) return undefined;
  if (key.kind === 'file') return new LocalCheckpointKey(key.path);
  // The Function app's managed identity (a user-assigned one by its client id) in Azure; the
  // signed-in developer or auditor (Azure CLI, VS Code) elsewhere.
  const credential = key.clientId
    ? new ManagedIdentityCredential({ clientId: key.clientId })
    : new DefaultAzureCredential();
  const { vaultUrl } = parseKeyVaultKeyIdentifier(key.keyId);
  return new KeyVaultCheckpointKey(key.keyId, keyVaultKeyAccess(vaultUrl, credential));
}
