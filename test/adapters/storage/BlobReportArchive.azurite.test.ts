import { createHash } from 'node:crypto';
import { BlobReportArchive } from '../../../shared/adapters/storage/BlobReportArchive';
import { containerClient, freshPrefix } from '../../support/rawStorage';

async function* lines(count: number, mark = ''): AsyncIterable<string> {
  for (let i = 0; i < count; i += 1) yield `device-${i}${mark},2026-12-01T00:00:00.000Z\r\n`;
}

async function bytesOf(stored: { content: AsyncIterable<Buffer> } | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stored?.content ?? []) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('BlobReportArchive, on Azurite', () => {
  it('streams a file of several blocks into reports/DAY/, with its length and SHA-256', async () => {
    const container = `${freshPrefix()}-reports`;
    const archive = new BlobReportArchive(containerClient(container));

    // About 6 MiB: more than one 4 MiB block.
    const written = await archive.write('2026-11-23', 'devices.csv', lines(150_000), 'text/csv');
    const stored = await containerClient(container)
      .getBlockBlobClient('reports/2026-11-23/devices.csv')
      .downloadToBuffer();

    expect(stored.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(written).toEqual({
      name: 'devices.csv',
      bytes: stored.length,
      sha256: createHash('sha256').update(stored).digest('hex'),
      existed: false,
    });
    // Buffer.equals: jest's toEqual walks a 6 MiB buffer byte by byte, for minutes.
    expect((await bytesOf(await archive.read('2026-11-23', 'devices.csv'))).equals(stored)).toBe(
      true,
    );
  });

  it('never rewrites a file: a second write keeps the first and gives its digest', async () => {
    const archive = new BlobReportArchive(containerClient(`${freshPrefix()}-reports`));

    const first = await archive.write('2026-11-23', 'summary.json', lines(3), 'application/json');
    const second = await archive.write(
      '2026-11-23',
      'summary.json',
      lines(5, 'x'),
      'application/json',
    );

    expect(second).toEqual({ ...first, existed: true });
    expect(
      (await bytesOf(await archive.read('2026-11-23', 'summary.json'))).toString(),
    ).not.toContain('x');
  });

  it('lists the days with a report, and reads nothing for a day or file it does not have', async () => {
    const archive = new BlobReportArchive(containerClient(`${freshPrefix()}-reports`));
    for (const day of ['2026-11-24', '2026-11-22', '2026-11-23'])
      await archive.write(day, 'summary.json', lines(1), 'application/json');

    expect(await archive.dates()).toEqual(['2026-11-22', '2026-11-23', '2026-11-24']);
    expect(await archive.read('2026-11-21', 'summary.json')).toBeUndefined();
    expect(await archive.read('2026-11-22', 'devices.csv')).toBeUndefined();
  });

  it('reads a version again only while it is the same (If-Match), so what was checked is what is sent', async () => {
    const container = containerClient(`${freshPrefix()}-reports`);
    const archive = new BlobReportArchive(container);
    await archive.write('2026-11-23', 'summary-r1.json', lines(2), 'application/json');
    const first = await archive.read('2026-11-23', 'summary-r1.json');
    await bytesOf(first);

    const again = await bytesOf(
      await archive.read('2026-11-23', 'summary-r1.json', { ifMatch: first!.etag! }),
    );
    const forged = 'forged\n';
    await container
      .getBlockBlobClient('reports/2026-11-23/summary-r1.json')
      .upload(forged, forged.length);

    expect(again.toString()).toContain('device-1');
    await expect(
      archive.read('2026-11-23', 'summary-r1.json', { ifMatch: first!.etag! }),
    ).rejects.toThrow('reports/2026-11-23/summary-r1.json changed while it was being read');
  });
});
