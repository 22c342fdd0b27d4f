import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { CheckpointKeys, CheckpointSigner, SignatureCheck } from '../../app/ports';

/**
 * The checkpoint key of a local run: an EC P-256 private key in a PEM file, created (readable by
 * its owner only) the first time it is needed. It stands in for the Key Vault key of a
 * deployment: whoever can write the storage account but not read this file cannot sign. The
 * key is named `local:` and the first 32 hex digits of its public key's SHA-256.
 */
export class LocalCheckpointKey implements CheckpointSigner, CheckpointKeys {
  private key?: { privateKey: KeyObject; publicKey: KeyObject; id: string };

  constructor(private readonly path: string) {}

  async keyId(): Promise<string> {
    return this.load().id;
  }

  async sign(keyId: string, message: Buffer): Promise<Buffer> {
    const key = this.load();
    if (keyId !== key.id) throw new Error(`checkpoint key ${keyId} is not the local key ${key.id}`);
    return sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  async verify(keyId: string, message: Buffer, signature: Buffer): Promise<SignatureCheck> {
    // Verifying never makes a key: a mistyped path is an error, not every checkpoint untrusted.
    if (!this.key && !existsSync(this.path))
      throw new Error(`${this.path}: no checkpoint key file there to verify with`);
    const key = this.load();
    if (keyId !== key.id) return 'untrusted-key';
    const ok = verify(
      'sha256',
      message,
      { key: key.publicKey, dsaEncoding: 'ieee-p1363' },
      signature,
    );
    return ok ? 'valid' : 'invalid';
  }

  private load(): { privateKey: KeyObject; publicKey: KeyObject; id: string } {
    if (this.key) return this.key;
    if (!existsSync(this.path)) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      mkdirSync(dirname(this.path), { recursive: true });
      // Written aside, then linked into place: another process never reads a half-written key,
      // and a key another process has just put there is never overwritten (EEXIST).
      const aside = `${this.path}.${process.pid}.${Date.now()}.tmp`;
      writeFileSync(aside, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
        mode: 0o600,
        flag: 'wx',
      });
      try {
        chmodSync(aside, 0o600);
        linkSync(aside, this.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        unlinkSync(aside);
      }
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(readFileSync(this.path));
    } catch {
      // Never the file's content: it is a private key.
      throw new Error(`${this.path} does not hold a PEM private key for signing checkpoints`);
    }
    const details = privateKey.asymmetricKeyDetails;
    if (privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'prime256v1') {
      throw new Error(`${this.path} must hold an EC P-256 key (checkpoints are signed ES256)`);
    }
    const publicKey = createPublicKey(privateKey);
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const id = `local:${createHash('sha256').update(spki).digest('hex').slice(0, 32)}`;
    this.key = { privateKey, publicKey, id };
    return this.key;
  }
}
