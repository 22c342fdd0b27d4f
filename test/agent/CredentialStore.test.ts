import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createCertificateRequest } from '../../shared/agent/CertificateRequest';
import { CredentialStore, CredentialStoreCorrupt } from '../../shared/agent/CredentialStore';
import { CredentialMismatch } from '../../shared/agent/DeviceCredential';
import { x509 } from '../../shared/agent/x509';
import { Issuer, issueLeaf } from '../../shared/local/LocalCa';
import { base64Der, operationalCa } from './support/agentPki';

describe("the agent's state directory", () => {
  let issuing: Issuer;
  let directory: string;
  let store: CredentialStore;
  const now = new Date('2026-11-01T00:00:00Z');

  beforeAll(async () => {
    ({ issuing } = await operationalCa());
  });

  beforeEach(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'certfleet-agent-store-'));
    store = new CredentialStore(directory);
  });

  afterEach(() => rm(directory, { recursive: true, force: true }));

  /** A key and CSR as a renewal makes them, and what DPS would issue for it. */
  async function issued() {
    const request = await createCertificateRequest('thermostat-0001');
    const csr = new x509.Pkcs10CertificateRequest(Buffer.from(request.csr, 'base64'));
    const leaf = await issueLeaf(issuing, {
      commonName: 'thermostat-0001',
      publicKey: await csr.publicKey.export(),
      notBefore: now,
      notAfter: '2026-12-01T00:00:00Z',
    });
    return {
      privateKeyPem: request.privateKeyPem,
      issuedChain: [base64Der(leaf), base64Der(issuing.certificate)],
      assignedHub: 'contoso-hub.azure-devices.net',
      deviceId: 'thermostat-0001',
    };
  }

  it('holds nothing before the first provisioning', async () => {
    expect(await store.load()).toBeUndefined();
  });

  it('writes the private key readable by its owner alone (0600), in a 0700 folder', async () => {
    const credential = await store.install(await issued(), now);
    const folder = path.join(directory, 'credentials', credential.id);
    expect((await stat(path.join(folder, 'key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    expect((await stat(directory)).mode & 0o777).toBe(0o700);
  });

  it('leaves no temporary file behind', async () => {
    const credential = await store.install(await issued(), now);
    const files = [
      ...(await readdir(directory)),
      ...(await readdir(path.join(directory, 'credentials', credential.id))),
    ];
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('gives back, after a restart, the credential it stored', async () => {
    const parts = await issued();
    const installed = await store.install(parts, now);
    const loaded = await new CredentialStore(directory).load();
    expect(loaded).toEqual(installed);
    expect(loaded!.issuedChain).toEqual(parts.issuedChain);
    expect(loaded!.leaf.validUntil.toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('switches to a new credential and keeps the old one until told to remove it', async () => {
    const first = await store.install(await issued(), now);
    const second = await store.install(await issued(), new Date('2026-11-25T00:00:00Z'));
    expect((await store.load())!.id).toBe(second.id);
    expect(await store.credentialIds()).toEqual([first.id, second.id].sort());

    expect(await store.removeAllBut(second.id)).toEqual([first.id]);
    expect(await store.credentialIds()).toEqual([second.id]);
    expect((await store.load())!.leaf.thumbprint).toBe(second.leaf.thumbprint);
  });

  it('refuses a certificate that is not for the key', async () => {
    const [one, other] = [await issued(), await issued()];
    await expect(
      store.install({ ...one, privateKeyPem: other.privateKeyPem }, now),
    ).rejects.toThrow(CredentialMismatch);
    expect(await store.load()).toBeUndefined();
  });

  it('says so when the state names a credential that is not there', async () => {
    await writeFile(path.join(directory, 'current.json'), '{"credential":"gone"}');
    await expect(store.load()).rejects.toThrow(CredentialStoreCorrupt);
  });

  it.each(['', '{"credential":', 'null'])(
    'says the state is corrupt, not crashing, when its pointer is %j (an interrupted write)',
    async (text) => {
      await writeFile(path.join(directory, 'current.json'), text);
      await expect(store.load()).rejects.toThrow(CredentialStoreCorrupt);
    },
  );

  it('keeps the chain as PEM, leaf first, ready for TLS', async () => {
    const credential = await store.install(await issued(), now);
    const chainPem = await readFile(
      path.join(directory, 'credentials', credential.id, 'chain.pem'),
      'utf8',
    );
    expect(chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(chainPem).not.toMatch(/PRIVATE KEY/);
  });
});
