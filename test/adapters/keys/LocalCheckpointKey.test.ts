import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCheckpointKey } from '../../../shared/adapters/keys/LocalCheckpointKey';

const MESSAGE = Buffer.from('{"format":"certfleet-checkpoint/1","seq":1}', 'utf8');

function aDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'certfleet-key-test-'));
}

/** The message from `keyId()` (or whatever it rejects with). */
async function failureOf(key: LocalCheckpointKey): Promise<string> {
  try {
    await key.keyId();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the key loaded');
}

describe('LocalCheckpointKey', () => {
  it('creates the key file, readable by its owner only, in a directory it creates', async () => {
    const path = join(aDirectory(), 'keys', 'checkpoint.pem');

    const keyId = await new LocalCheckpointKey(path).keyId();

    expect(keyId).toMatch(/^local:[0-9a-f]{32}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('reuses the key file it finds: another instance has the same key id and verifies its signatures', async () => {
    const path = join(aDirectory(), 'checkpoint.pem');
    const first = new LocalCheckpointKey(path);
    const keyId = await first.keyId();
    const pem = readFileSync(path, 'utf8');
    const signature = await first.sign(keyId, MESSAGE);

    const second = new LocalCheckpointKey(path);

    expect(await second.keyId()).toBe(keyId);
    expect(await second.verify(keyId, MESSAGE, signature)).toBe('valid');
    expect(readFileSync(path, 'utf8')).toBe(pem);
  });

  it('signs ES256: a 64-byte r || s signature that verifies', async () => {
    const key = new LocalCheckpointKey(join(aDirectory(), 'checkpoint.pem'));
    const keyId = await key.keyId();

    const signature = await key.sign(keyId, MESSAGE);

    expect(signature).toHaveLength(64);
    expect(await key.verify(keyId, MESSAGE, signature)).toBe('valid');
  });

  it('finds a signature over other bytes, or a damaged or empty one, invalid', async () => {
    const key = new LocalCheckpointKey(join(aDirectory(), 'checkpoint.pem'));
    const keyId = await key.keyId();
    const signature = await key.sign(keyId, MESSAGE);
    const flipped = Buffer.from(signature);
    flipped[10] = (flipped[10] as number) ^ 0x01;

    expect(await key.verify(keyId, Buffer.from(`${MESSAGE.toString()} `), signature)).toBe(
      'invalid',
    );
    expect(await key.verify(keyId, MESSAGE, flipped)).toBe('invalid');
    expect(await key.verify(keyId, MESSAGE, signature.subarray(0, 63))).toBe('invalid');
    expect(await key.verify(keyId, MESSAGE, Buffer.alloc(0))).toBe('invalid');
  });

  it('does not trust another key id, not even another local key’s', async () => {
    const key = new LocalCheckpointKey(join(aDirectory(), 'checkpoint.pem'));
    const other = new LocalCheckpointKey(join(aDirectory(), 'checkpoint.pem'));
    const otherId = await other.keyId();
    const signature = await other.sign(otherId, MESSAGE);

    expect(otherId).not.toBe(await key.keyId());
    expect(await key.verify(otherId, MESSAGE, signature)).toBe('untrusted-key');
    expect(await key.verify('https://contoso.vault.azure.net/keys/k/v1', MESSAGE, signature)).toBe(
      'untrusted-key',
    );
  });

  it('refuses to sign for a key id it does not hold', async () => {
    const key = new LocalCheckpointKey(join(aDirectory(), 'checkpoint.pem'));

    await expect(key.sign('local:0123456789abcdef0123456789abcdef', MESSAGE)).rejects.toThrow(
      /is not the local key/,
    );
  });

  it('says a file that is not a PEM key is not one, without quoting it', async () => {
    const path = join(aDirectory(), 'checkpoint.pem');
    writeFileSync(path, 'password=hunter2-do-not-print\n');

    const message = await failureOf(new LocalCheckpointKey(path));

    expect(message).toBe(`${path} does not hold a PEM private key for signing checkpoints`);
    expect(message).not.toContain('hunter2');
  });

  it.each([
    ['an EC P-384 key', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
    ['an RSA key', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ['an Ed25519 key', () => generateKeyPairSync('ed25519').privateKey],
  ])('says a file holding %s must hold a P-256 key, without quoting it', async (_, make) => {
    const path = join(aDirectory(), 'checkpoint.pem');
    const pem = make().export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(path, pem);
    const body = pem.split('\n')[1] as string;

    const message = await failureOf(new LocalCheckpointKey(path));

    expect(message).toBe(`${path} must hold an EC P-256 key (checkpoints are signed ES256)`);
    expect(message).not.toContain(body.slice(0, 16));
  });

  it('never makes a key to verify with: a missing file is an error', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'certfleet-key-')), 'missing.pem');

    await expect(
      new LocalCheckpointKey(path).verify('local:0', Buffer.from('m'), Buffer.alloc(64)),
    ).rejects.toThrow(`${path}: no checkpoint key file there to verify with`);
    expect(existsSync(path)).toBe(false);
  });
});
