import { createHash } from 'node:crypto';
import { ReportArchive, ReportChanged } from '../../shared/app/ports';
import { ReportFileDigest } from '../../shared/domain/AuditEntry';

/** The report archive as BlobReportArchive keeps it: files by day and name, written once. */
export class InMemoryReportArchive implements ReportArchive {
  readonly files = new Map<string, Buffer>();
  /** Files whose content was produced (read from the source) by a write. */
  written: string[] = [];

  async write(
    date: string,
    name: string,
    content: AsyncIterable<string>,
  ): Promise<ReportFileDigest & { existed: boolean }> {
    const key = `${date}/${name}`;
    const stored = this.files.get(key);
    if (stored) return { ...digest(name, stored), existed: true };
    const chunks: Buffer[] = [];
    for await (const text of content) chunks.push(Buffer.from(text, 'utf8'));
    const body = Buffer.concat(chunks);
    this.files.set(key, body);
    this.written.push(key);
    return { ...digest(name, body), existed: false };
  }

  async read(
    date: string,
    name: string,
    options: { ifMatch?: string } = {},
  ): Promise<{ content: AsyncIterable<Buffer>; etag?: string } | undefined> {
    const body = this.files.get(`${date}/${name}`);
    if (!body) return undefined;
    // The version is the content's hash, as good as an ETag here.
    const etag = digest(name, body).sha256;
    if (options.ifMatch !== undefined && options.ifMatch !== etag)
      throw new ReportChanged(`reports/${date}/${name} changed while it was being read`);
    const content = (async function* () {
      // In two pieces, as a stream would give it.
      yield body.subarray(0, Math.floor(body.length / 2));
      yield body.subarray(Math.floor(body.length / 2));
    })();
    return { content, etag };
  }

  async dates(): Promise<string[]> {
    return [...new Set([...this.files.keys()].map((k) => k.slice(0, 10)))].sort();
  }
}

function digest(name: string, body: Buffer): ReportFileDigest {
  return { name, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}
