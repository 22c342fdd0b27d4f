import { ContainerClient, RequestPolicyFactory, newPipeline } from '@azure/storage-blob';
import { BlobAuditTrail } from '../../../shared/adapters/storage/BlobAuditTrail';
import { ChainedAuditRecord } from '../../../shared/domain/AuditChain';
import { AUDIT_DAY, anAuditEntry } from '../../support/auditEntries';
import { blobService, containerClient, freshPrefix } from '../../support/rawStorage';

/**
 * The audit trail remembers where each blob ended after its own append, and appends there next
 * time without reading the tail; another writer's append in between makes the service refuse
 * that position, and the tail is read as before.
 */

const DAY = AUDIT_DAY;
/** One shard: every entry of the day goes to this blob. */
const BLOB = `${DAY.replaceAll('-', '/')}/shard-00.jsonl`;

/** `GET ?comp=...`-style names of the requests a client sent, in order. */
interface RequestLog {
  requests: string[];
  clear(): void;
}

/** A container client on the run's Azurite whose every request is logged. */
function countingContainer(name: string): { container: ContainerClient; log: RequestLog } {
  const service = blobService();
  const requests: string[] = [];
  const counter: RequestPolicyFactory = {
    create: (next) => ({
      sendRequest: (request) => {
        const comp = new URL(request.url).searchParams.get('comp');
        requests.push(`${request.method}${comp ? ` ${comp}` : ''}`);
        return next.sendRequest(request);
      },
    }),
  };
  const pipeline = newPipeline(service.credential);
  pipeline.factories.push(counter);
  const log = {
    requests,
    clear: () => {
      requests.length = 0;
    },
  };
  return { container: new ContainerClient(service.getContainerClient(name).url, pipeline), log };
}

async function recordsOf(container: string, name = BLOB): Promise<ChainedAuditRecord[]> {
  const text = (await containerClient(container).getBlobClient(name).downloadToBuffer()).toString(
    'utf8',
  );
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ChainedAuditRecord);
}

const appendNew = (trail: BlobAuditTrail, entries = [anAuditEntry()]) =>
  trail.append(entries, { mayAlreadyBeWritten: false });

describe('BlobAuditTrail remembering where its blobs end, on Azurite', () => {
  it('appends again to a blob it appended to in one request, reading nothing', async () => {
    const name = `${freshPrefix()}-audit`;
    const { container, log } = countingContainer(name);
    const trail = new BlobAuditTrail(container, 1);
    await appendNew(trail, [anAuditEntry(), anAuditEntry()]);
    // A new blob: looked for, created, its length read, then the append.
    expect(log.requests).toContain('HEAD');

    log.clear();
    await appendNew(trail);
    await appendNew(trail, [anAuditEntry(), anAuditEntry()]);

    expect(log.requests).toEqual(['PUT appendblock', 'PUT appendblock']);
    const verification = await trail.verifyDate(DAY);
    expect(verification.blobs.map((b) => b.result)).toEqual([
      expect.objectContaining({ ok: true, records: 5 }),
    ]);
  });

  it('keeps one unbroken chain, every entry once, when two trails take turns on one blob', async () => {
    const name = `${freshPrefix()}-audit`;
    const first = new BlobAuditTrail(containerClient(name), 1);
    const second = new BlobAuditTrail(containerClient(name), 1);
    const batches = Array.from({ length: 8 }, () => [anAuditEntry(), anAuditEntry()]);

    // Each remembers where the blob ended after its own append: the other has appended since.
    for (const [i, batch] of batches.entries())
      expect(await appendNew(i % 2 === 0 ? first : second, batch)).toBe(2);

    const verification = await second.verifyDate(DAY);
    expect(verification.blobs.map((b) => b.result)).toEqual([
      expect.objectContaining({ ok: true, records: 16 }),
    ]);
    const records = await recordsOf(name);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(records.map((r) => r.id)).toEqual(batches.flat().map((e) => e.id));
  });

  it('reads the tail again, once, after another writer moved the end it remembers', async () => {
    const name = `${freshPrefix()}-audit`;
    const { container, log } = countingContainer(name);
    const trail = new BlobAuditTrail(container, 1);
    await appendNew(trail);
    await appendNew(new BlobAuditTrail(containerClient(name), 1));

    log.clear();
    await appendNew(trail);
    const afterRefusal = [...log.requests];
    log.clear();
    await appendNew(trail);

    // Refused where it remembered the end, it reads the tail and appends there.
    expect(afterRefusal[0]).toBe('PUT appendblock');
    expect(afterRefusal).toContain('GET');
    expect(afterRefusal.at(-1)).toBe('PUT appendblock');
    expect(afterRefusal.filter((r) => r === 'PUT appendblock')).toHaveLength(2);
    // And then remembers the new end.
    expect(log.requests).toEqual(['PUT appendblock']);
    expect((await trail.verifyDate(DAY)).blobs[0]?.result).toMatchObject({ ok: true, records: 4 });
  });

  it('creates the blob again when it was deleted between two appends, and appends there', async () => {
    const name = `${freshPrefix()}-audit`;
    const trail = new BlobAuditTrail(containerClient(name), 1);
    await appendNew(trail, [anAuditEntry(), anAuditEntry()]);
    await containerClient(name).getBlobClient(BLOB).delete();
    const after = [anAuditEntry(), anAuditEntry()];

    expect(await appendNew(trail, after)).toBe(2);

    const records = await recordsOf(name);
    expect(records.map((r) => r.id)).toEqual(after.map((e) => e.id));
    expect(records.map((r) => r.seq)).toEqual([1, 2]);
    expect((await trail.verifyDate(DAY)).blobs[0]?.result).toMatchObject({ ok: true, records: 2 });
    // And it remembers the new blob's end.
    const next = anAuditEntry();
    await appendNew(trail, [next]);
    expect((await recordsOf(name)).map((r) => r.id)).toEqual([...after, next].map((e) => e.id));
  });

  it('creates the container again when it was deleted between two appends', async () => {
    const name = `${freshPrefix()}-audit`;
    const trail = new BlobAuditTrail(containerClient(name), 1);
    await appendNew(trail);
    await containerClient(name).delete();
    const after = anAuditEntry();

    expect(await appendNew(trail, [after])).toBe(1);

    expect((await recordsOf(name)).map((r) => r.id)).toEqual([after.id]);
  });

  it('writes an entry appended twice in a row once, knowing it from the ids it remembers', async () => {
    const name = `${freshPrefix()}-audit`;
    const { container, log } = countingContainer(name);
    const trail = new BlobAuditTrail(container, 1);
    const entry = anAuditEntry();
    const other = anAuditEntry();
    await appendNew(trail, [entry]);

    log.clear();
    expect(await appendNew(trail, [entry])).toBe(0);
    expect(log.requests).toEqual([]);
    expect(await appendNew(trail, [entry, other])).toBe(1);

    expect((await recordsOf(name)).map((r) => r.id)).toEqual([entry.id, other.id]);
    expect(log.requests).toEqual(['PUT appendblock']);
  });

  it('still knows an entry that went in several appends ago, as a tail read would', async () => {
    const name = `${freshPrefix()}-audit`;
    const trail = new BlobAuditTrail(containerClient(name), 1);
    const early = anAuditEntry();
    await appendNew(trail, [early]);
    for (let i = 0; i < 5; i += 1) await appendNew(trail, [anAuditEntry(), anAuditEntry()]);

    expect(await appendNew(trail, [early])).toBe(0);

    expect((await recordsOf(name)).filter((r) => r.id === early.id)).toHaveLength(1);
  });
});
