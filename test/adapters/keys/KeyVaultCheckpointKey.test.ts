import { KeyObject, generateKeyPairSync, sign } from 'node:crypto';
import {
  KeyVaultCheckpointKey,
  KeyVaultKeyAccess,
} from '../../../shared/adapters/keys/KeyVaultCheckpointKey';

const VAULT = 'https://contoso-audit.vault.azure.net';
const NAME = 'checkpoints';
const V1 = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const V2 = 'f9e8d7c6b5a4938271605f4e3d2c1b0a';
const MESSAGE = Buffer.from('{"format":"certfleet-checkpoint/1","seq":7}', 'utf8');

type Jwk = { kty?: string; crv?: string; x?: Uint8Array; y?: Uint8Array };

/**
 * Key Vault as the adapter sees it: versions of one key, each a real key pair generated here,
 * the newest current. It signs as Key Vault's ES256 does (ECDSA P-256 over SHA-256, r || s)
 * and counts every call.
 */
class FakeVault implements KeyVaultKeyAccess {
  readonly versions = new Map<string, { privateKey: KeyObject; jwk: Jwk }>();
  current = V2;
  getKeyCalls: { name: string; version?: string }[] = [];
  failNextGetKey = false;

  constructor() {
    for (const version of [V1, V2]) this.addVersion(version);
  }

  addVersion(version: string, jwk?: Jwk): void {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const exported = publicKey.export({ format: 'jwk' });
    this.versions.set(version, {
      privateKey,
      jwk: jwk ?? {
        kty: 'EC',
        crv: 'P-256',
        x: Buffer.from(exported.x as string, 'base64url'),
        y: Buffer.from(exported.y as string, 'base64url'),
      },
    });
  }

  async getKey(name: string, version?: string) {
    this.getKeyCalls.push({ name, ...(version ? { version } : {}) });
    if (this.failNextGetKey) {
      this.failNextGetKey = false;
      throw new Error('Key Vault is unavailable');
    }
    const v = version ?? this.current;
    // Key Vault finds a key by its name in any case, and answers with the name as created.
    const found = name.toLowerCase() === NAME ? this.versions.get(v) : undefined;
    if (!found)
      throw Object.assign(new Error(`A key with (name/id) ${name}/${v} was not found`), {
        statusCode: 404,
        code: 'KeyNotFound',
      });
    return { id: `${VAULT}/keys/${NAME}/${v}`, key: found.jwk };
  }

  async signData(keyId: string, message: Buffer): Promise<Uint8Array> {
    const version = keyId.split('/').pop() as string;
    const found = this.versions.get(version);
    if (!found) throw new Error(`no key version ${version}`);
    return sign('sha256', message, { key: found.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  /** A signature by `version` directly, as Key Vault would have made it. */
  signedBy(version: string, message = MESSAGE): Buffer {
    const found = this.versions.get(version) as { privateKey: KeyObject };
    return sign('sha256', message, { key: found.privateKey, dsaEncoding: 'ieee-p1363' });
  }
}

const idOf = (version: string) => `${VAULT}/keys/${NAME}/${version}`;

describe('KeyVaultCheckpointKey', () => {
  it('signs each checkpoint with the key’s current version, a rotation taking effect at the next', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);

    const before = await key.keyId();
    vault.current = V1;
    const after = await key.keyId();

    expect(before).toBe(idOf(V2));
    expect(after).toBe(idOf(V1));
    expect(vault.getKeyCalls).toEqual([{ name: NAME }, { name: NAME }]);
  });

  it('asks again after a failed look-up, rather than keeping the failure', async () => {
    const vault = new FakeVault();
    vault.failNextGetKey = true;
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);

    await expect(key.keyId()).rejects.toThrow('Key Vault is unavailable');
    expect(await key.keyId()).toBe(idOf(V2));
  });

  it('uses a pinned version without asking Key Vault', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}/${V1}`, vault);

    expect(await key.keyId()).toBe(idOf(V1));
    expect(vault.getKeyCalls).toEqual([]);
  });

  it('verifies a signature made through signData, and finds one over other bytes invalid', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);
    const keyId = await key.keyId();

    const signature = await key.sign(keyId, MESSAGE);

    expect(signature).toHaveLength(64);
    expect(await key.verify(keyId, MESSAGE, signature)).toBe('valid');
    expect(await key.verify(keyId, Buffer.from('{"seq":8}'), signature)).toBe('invalid');
    expect(await key.verify(keyId, MESSAGE, vault.signedBy(V1))).toBe('invalid');
  });

  it('trusts every version of the configured key, pinned or not, in a vault URL of any case', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(
      `https://Contoso-Audit.vault.azure.net/keys/${NAME}/${V2}`,
      vault,
    );

    expect(await key.verify(idOf(V1), MESSAGE, vault.signedBy(V1))).toBe('valid');
    expect(await key.verify(idOf(V2), MESSAGE, vault.signedBy(V2))).toBe('valid');
  });

  it('trusts what it signs when the setting spells the key’s name in another case than Key Vault', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/CheckPoints`, vault);
    const keyId = await key.keyId();

    const signature = await key.sign(keyId, MESSAGE);

    expect(keyId).toBe(idOf(V2));
    expect(await key.verify(keyId, MESSAGE, signature)).toBe('valid');
    expect(await key.verify(`${VAULT}/KEYS/CHECKPOINTS/${V1}`, MESSAGE, vault.signedBy(V1))).toBe(
      'valid',
    );
  });

  it.each([
    ['a key in another vault', `https://fabrikam-audit.vault.azure.net/keys/${NAME}/${V1}`],
    ['another key of the vault', `${VAULT}/keys/other-key/${V1}`],
    ['a secret of the same name', `${VAULT}/secrets/${NAME}/${V1}`],
    ['a certificate of the same name', `${VAULT}/certificates/${NAME}/${V1}`],
    ['the key without a version', `${VAULT}/keys/${NAME}`],
    ['the vault over plain HTTP', `http://contoso-audit.vault.azure.net/keys/${NAME}/${V1}`],
    ['a local key id', 'local:0123456789abcdef0123456789abcdef'],
    ['garbage', '%%% not a key id'],
    ['nothing', ''],
  ])('does not trust %s, and asks Key Vault nothing about it', async (_, keyId) => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);

    expect(await key.verify(keyId, MESSAGE, vault.signedBy(V1))).toBe('untrusted-key');
    expect(vault.getKeyCalls).toEqual([]);
  });

  it('fetches each version’s public key once, however many checkpoints it verifies', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);

    const checks = await Promise.all([
      key.verify(idOf(V1), MESSAGE, vault.signedBy(V1)),
      key.verify(idOf(V1), MESSAGE, vault.signedBy(V1)),
      key.verify(idOf(V2), MESSAGE, vault.signedBy(V2)),
    ]);
    checks.push(await key.verify(idOf(V1), MESSAGE, vault.signedBy(V1)));
    checks.push(await key.verify(idOf(V2), MESSAGE, vault.signedBy(V2)));

    expect(checks).toEqual(['valid', 'valid', 'valid', 'valid', 'valid']);
    expect(vault.getKeyCalls).toEqual([
      { name: NAME, version: V1 },
      { name: NAME, version: V2 },
    ]);
  });

  it('fetches a public key again after a failed fetch', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);
    vault.failNextGetKey = true;

    await expect(key.verify(idOf(V1), MESSAGE, vault.signedBy(V1))).rejects.toThrow(
      'Key Vault is unavailable',
    );
    expect(await key.verify(idOf(V1), MESSAGE, vault.signedBy(V1))).toBe('valid');
  });

  it.each([
    ['a P-384 key', { kty: 'EC', crv: 'P-384', x: new Uint8Array(48), y: new Uint8Array(48) }],
    ['an RSA key', { kty: 'RSA' }],
    ['an RSA-HSM key', { kty: 'RSA-HSM' }],
    ['an EC key without its point', { kty: 'EC', crv: 'P-256' }],
  ])('does not trust a version that is %s', async (_, jwk: Jwk) => {
    const vault = new FakeVault();
    const odd = '00112233445566778899aabbccddeeff';
    vault.addVersion(odd, jwk);
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);

    expect(await key.verify(idOf(odd), MESSAGE, vault.signedBy(odd))).toBe('untrusted-key');
  });

  it('trusts an HSM-backed P-256 version (kty EC-HSM)', async () => {
    const vault = new FakeVault();
    const hsm = '00112233445566778899aabbccddeeff';
    vault.addVersion(hsm);
    const entry = vault.versions.get(hsm) as { jwk: Jwk };
    entry.jwk = { ...entry.jwk, kty: 'EC-HSM' };
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);

    expect(await key.verify(idOf(hsm), MESSAGE, vault.signedBy(hsm))).toBe('valid');
  });

  it('judges a checkpoint naming a version the vault does not have as untrusted, not as a failure', async () => {
    const vault = new FakeVault();
    const key = new KeyVaultCheckpointKey(`${VAULT}/keys/${NAME}`, vault);

    const check = await key.verify(
      idOf('0000000000000000000000000000dead'),
      MESSAGE,
      Buffer.alloc(64),
    );

    expect(check).toBe('untrusted-key');
  });
});
