import { createPublicKey, JsonWebKey as NodeJsonWebKey, KeyObject, verify } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { CryptographyClient, KeyClient, parseKeyVaultKeyIdentifier } from '@azure/keyvault-keys';
import { CheckpointKeys, CheckpointSigner, SignatureCheck } from '../../app/ports';

/** The parts of the Key Vault SDK this adapter uses: small enough to stand in for in tests. */
export interface KeyVaultKeyAccess {
  /** The key's current version (no `version`) or a given one: its id and public JWK. */
  getKey(
    name: string,
    version?: string,
  ): Promise<{ id?: string; key?: { kty?: string; crv?: string; x?: Uint8Array; y?: Uint8Array } }>;
  /** Signs with the key version `keyId` names; Key Vault hashes nothing: the SDK sends SHA-256. */
  signData(keyId: string, message: Buffer): Promise<Uint8Array>;
}

export function keyVaultKeyAccess(
  vaultUrl: string,
  credential: TokenCredential,
): KeyVaultKeyAccess {
  const keys = new KeyClient(vaultUrl, credential);
  return {
    getKey: async (name, version) => keys.getKey(name, version ? { version } : {}),
    signData: async (keyId, message) =>
      (await new CryptographyClient(keyId, credential).signData('ES256', message)).result,
  };
}

/**
 * Signs checkpoints with an EC P-256 key in Azure Key Vault, used by the Function app's managed
 * identity (Key Vault Crypto User on that key): the private key never leaves the vault, so a
 * writer of the storage account cannot sign a rewritten history. `CERTFLEET_CHECKPOINT_KEY_ID`
 * names the key (`https://VAULT.vault.azure.net/keys/NAME`, optionally with a version). Each
 * checkpoint names the key version it was signed with; verification trusts every version of
 * that key in that vault and nothing else (a checkpoint signed by another vault's key, however
 * valid, is untrusted), and checks signatures with the version's public key, fetched once.
 */
export class KeyVaultCheckpointKey implements CheckpointSigner, CheckpointKeys {
  private readonly vaultUrl: string;
  private readonly name: string;
  private readonly pinnedVersion?: string;
  private readonly publicKeys = new Map<string, Promise<KeyObject | undefined>>();

  /** The key the setting names, used through Key Vault with `credential`. */
  static fromKeyId(configuredKeyId: string, credential: TokenCredential): KeyVaultCheckpointKey {
    const { vaultUrl } = parseKeyVaultKeyIdentifier(configuredKeyId);
    return new KeyVaultCheckpointKey(configuredKeyId, keyVaultKeyAccess(vaultUrl, credential));
  }

  constructor(
    configuredKeyId: string,
    private readonly access: KeyVaultKeyAccess,
  ) {
    const parsed = parseKeyVaultKeyIdentifier(configuredKeyId);
    this.vaultUrl = parsed.vaultUrl.replace(/\/+$/, '').toLowerCase();
    this.name = parsed.name;
    this.pinnedVersion = parsed.version || undefined;
  }

  /**
   * Asked of Key Vault for every checkpoint (one call an hour): after the key is rotated, the
   * next checkpoint is signed with the new version, with no restart.
   */
  async keyId(): Promise<string> {
    if (this.pinnedVersion) return `${this.vaultUrl}/keys/${this.name}/${this.pinnedVersion}`;
    const key = await this.access.getKey(this.name);
    if (!key.id) throw new Error(`Key Vault key ${this.name} has no id`);
    return key.id;
  }

  async sign(keyId: string, message: Buffer): Promise<Buffer> {
    return Buffer.from(await this.access.signData(keyId, message));
  }

  async verify(keyId: string, message: Buffer, signature: Buffer): Promise<SignatureCheck> {
    const version = this.versionOf(keyId);
    if (!version) return 'untrusted-key';
    let key = this.publicKeys.get(version);
    if (!key) {
      key = this.fetchPublicKey(version);
      this.publicKeys.set(version, key);
      key.catch(() => this.publicKeys.delete(version));
    }
    const publicKey = await key;
    if (!publicKey) return 'untrusted-key';
    const ok = verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    return ok ? 'valid' : 'invalid';
  }

  /** The version, when `keyId` is a version of the configured key in the configured vault. */
  private versionOf(keyId: string): string | undefined {
    let parsed;
    try {
      parsed = parseKeyVaultKeyIdentifier(keyId);
    } catch {
      return undefined;
    }
    // Key Vault identifiers are compared as case-insensitive strings (its docs, "Object
    // identifiers"): the id it answers may spell the name otherwise than the setting does.
    const sameKey =
      parsed.vaultUrl.replace(/\/+$/, '').toLowerCase() === this.vaultUrl &&
      parsed.name.toLowerCase() === this.name.toLowerCase() &&
      /^\/keys\//i.test(new URL(keyId).pathname);
    return sameKey && parsed.version ? parsed.version : undefined;
  }

  private async fetchPublicKey(version: string): Promise<KeyObject | undefined> {
    let found;
    try {
      found = await this.access.getKey(this.name, version);
    } catch (error) {
      // A version the vault does not have (made up, or purged): no key of ours signed it. Any
      // other failure (throttling, the network) is thrown, and verification can be run again.
      const { statusCode, code } = error as { statusCode?: number; code?: string };
      if (statusCode === 404 || code === 'KeyNotFound') return undefined;
      throw error;
    }
    const jwk = found.key;
    if (
      !jwk ||
      !jwk.x ||
      !jwk.y ||
      (jwk.kty !== 'EC' && jwk.kty !== 'EC-HSM') ||
      jwk.crv !== 'P-256'
    )
      return undefined;
    const key: NodeJsonWebKey = {
      kty: 'EC',
      crv: 'P-256',
      x: Buffer.from(jwk.x).toString('base64url'),
      y: Buffer.from(jwk.y).toString('base64url'),
    };
    return createPublicKey({ key, format: 'jwk' });
  }
}
