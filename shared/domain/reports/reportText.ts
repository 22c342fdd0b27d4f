import { CSV_RECORD_END } from './csvRecord';

/**
 * Reports as text, streamed: each takes an AsyncIterable of rows and yields text chunks as the
 * rows come, so a million devices never sit in memory. Rows are gathered into chunks of about
 * CHUNK_CHARS, so a writer (standard output, an HTTP body) is called per chunk, not per row.
 */
export const CHUNK_CHARS = 64 * 1024;

export type ReportFormat = 'json' | 'jsonl' | 'csv';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'jsonl', 'csv'];

/** What each format is served as over HTTP. */
export const REPORT_CONTENT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** A JSON array, one element per line: `[`, the rows separated by `,`, then `]`. */
export async function* jsonArrayText<T>(rows: AsyncIterable<T>): AsyncIterable<string> {
  const chunks = new Chunks();
  let first = true;
  chunks.add('[');
  for await (const row of rows) {
    const full = chunks.add(`${first ? '\n' : ',\n'}${JSON.stringify(row)}`);
    first = false;
    if (full !== undefined) yield full;
  }
  chunks.add(first ? ']\n' : '\n]\n');
  yield* chunks.rest();
}

/** JSON Lines: one JSON object per line, LF-terminated. */
export async function* jsonLinesText<T>(rows: AsyncIterable<T>): AsyncIterable<string> {
  const chunks = new Chunks();
  for await (const row of rows) {
    const full = chunks.add(`${JSON.stringify(row)}\n`);
    if (full !== undefined) yield full;
  }
  yield* chunks.rest();
}

/** CSV (RFC 4180): the header record, then one record per row, each ending in CRLF. */
export async function* csvText<T>(
  header: string,
  rows: AsyncIterable<T>,
  recordOf: (row: T) => string,
): AsyncIterable<string> {
  const chunks = new Chunks();
  chunks.add(`${header}${CSV_RECORD_END}`);
  for await (const row of rows) {
    const full = chunks.add(`${recordOf(row)}${CSV_RECORD_END}`);
    if (full !== undefined) yield full;
  }
  yield* chunks.rest();
}

/**
 * Gathers pieces of text into chunks of about `size` characters. Done in each writer's own loop
 * rather than by another generator around it: every generator a row passes through costs a
 * promise and a turn of the event loop, which for a million rows is most of the export's time.
 */
export class Chunks {
  private pieces: string[] = [];
  private length = 0;

  constructor(private readonly size = CHUNK_CHARS) {}

  /** Adds a piece; returns a chunk once there are `size` characters or more, else undefined. */
  add(piece: string): string | undefined {
    this.pieces.push(piece);
    this.length += piece.length;
    if (this.length < this.size) return undefined;
    const chunk = this.pieces.join('');
    this.pieces = [];
    this.length = 0;
    return chunk;
  }

  /** What is left, as one last chunk (none when nothing is). */
  *rest(): Iterable<string> {
    if (this.length > 0) yield this.pieces.join('');
    this.pieces = [];
    this.length = 0;
  }
}
