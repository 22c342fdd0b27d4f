import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { credentialOf, DeviceCredential } from './DeviceCredential';
import { certificatePemBlocks, certificatePemOfBase64Der } from './x509';

/**
 * The agent's state directory:
 *
 *   current.json                 {"credential": "<id>"}: the credential in use
 *   credentials/<id>/key.pem     its private key, PKCS#8 PEM, mode 0600
 *   credentials/<id>/chain.pem   the chain DPS issued, PEM, leaf first
 *   credentials/<id>/assignment.json  {"assignedHub", "deviceId", "installedAt"}
 *
 * Every file is written to a temporary name, flushed and renamed, so a power cut leaves either
 * the old file or the new one. A new credential is written whole before `current.json` names
 * it: switching is one rename. Older credentials stay until `removeAllBut` (the agent calls it
 * once the new certificate is connected and reported, and, keeping the one it replaces, when it
 * installs a new one).
 */
export class CredentialStore {
  constructor(readonly directory: string) {}

  private get pointer(): string {
    return path.join(this.directory, 'current.json');
  }

  private get credentialsDirectory(): string {
    return path.join(this.directory, 'credentials');
  }

  /** The credential in use, or undefined when there is none yet (first run). */
  async load(): Promise<DeviceCredential | undefined> {
    let pointer: string;
    try {
      pointer = await fs.readFile(this.pointer, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let id: unknown;
    try {
      id = (JSON.parse(pointer) as { credential?: unknown } | null)?.credential;
    } catch {
      // An empty or half-written pointer (a crash, a full disk): corrupt, not a crash of its own.
      throw new CredentialStoreCorrupt(`${this.pointer} is not JSON`);
    }
    if (typeof id !== 'string' || !/^[A-Za-z0-9-]+$/.test(id)) {
      throw new CredentialStoreCorrupt(`${this.pointer} names no credential`);
    }
    const folder = path.join(this.credentialsDirectory, id);
    try {
      const [privateKeyPem, chainPem, assignmentText] = await Promise.all([
        fs.readFile(path.join(folder, 'key.pem'), 'utf8'),
        fs.readFile(path.join(folder, 'chain.pem'), 'utf8'),
        fs.readFile(path.join(folder, 'assignment.json'), 'utf8'),
      ]);
      const assignment = JSON.parse(assignmentText) as { assignedHub: string; deviceId: string };
      return await credentialOf({
        id,
        privateKeyPem,
        issuedChain: base64Blocks(chainPem),
        assignedHub: assignment.assignedHub,
        deviceId: assignment.deviceId,
      });
    } catch (error) {
      throw new CredentialStoreCorrupt(`credential ${id}: ${(error as Error).message}`);
    }
  }

  /**
   * Writes a new credential and makes it the one in use. The key is written first, with mode
   * 0600, and only then does anything name it.
   */
  async install(
    parts: Omit<DeviceCredential, 'id' | 'certificateChainPem' | 'leaf'>,
    now: Date,
  ): Promise<DeviceCredential> {
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const credential = await credentialOf({
      ...parts,
      id: `${stamp}-${randomBytes(4).toString('hex')}`,
    });
    const folder = path.join(this.credentialsDirectory, credential.id);
    await fs.mkdir(folder, { recursive: true, mode: 0o700 });
    await fs.chmod(this.directory, 0o700);
    await writeAtomically(path.join(folder, 'key.pem'), credential.privateKeyPem, 0o600);
    await writeAtomically(
      path.join(folder, 'chain.pem'),
      parts.issuedChain.map(certificatePemOfBase64Der).join(''),
      0o644,
    );
    await writeAtomically(
      path.join(folder, 'assignment.json'),
      JSON.stringify(
        {
          assignedHub: parts.assignedHub,
          deviceId: parts.deviceId,
          installedAt: now.toISOString(),
        },
        null,
        2,
      ) + '\n',
      0o644,
    );
    await writeAtomically(
      this.pointer,
      JSON.stringify({ credential: credential.id }) + '\n',
      0o644,
    );
    return credential;
  }

  /** The ids of every credential on disk, the one in use included. */
  async credentialIds(): Promise<string[]> {
    try {
      return (await fs.readdir(this.credentialsDirectory)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** Deletes every credential but those named (older keys, any left by an interrupted renewal). */
  async removeAllBut(...keep: string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const id of await this.credentialIds()) {
      if (keep.includes(id)) continue;
      await fs.rm(path.join(this.credentialsDirectory, id), { recursive: true, force: true });
      removed.push(id);
    }
    return removed;
  }
}

export class CredentialStoreCorrupt extends Error {
  readonly code = 'credential-store-corrupt';
}

function base64Blocks(pem: string): string[] {
  return certificatePemBlocks(pem).map((block) =>
    block
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
      .replace(/\s+/g, '')
      .trim(),
  );
}

/** Writes a file under a temporary name with `mode`, flushes it, renames it into place. */
async function writeAtomically(target: string, content: string, mode: number): Promise<void> {
  const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await fs.open(temporary, 'wx', mode);
  try {
    await handle.chmod(mode); // the process umask may have taken bits off the mode
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(path.dirname(target));
}

async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await fs.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform lets a directory be opened and flushed (Windows); the rename stands.
  }
}
