import {
  Chunks,
  csvText,
  jsonArrayText,
  jsonLinesText,
} from '../../../shared/domain/reports/reportText';

async function* rowsOf<T>(rows: T[]): AsyncIterable<T> {
  for (const row of rows) yield row;
}

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

const text = async (chunks: AsyncIterable<string>) => (await collect(chunks)).join('');

describe('streamed report text', () => {
  it.each([[[]], [[{ a: 1 }]], [[{ a: 1 }, { a: 2 }, { a: 3 }]]])(
    'writes %j as a JSON array that parses back',
    async (rows) => {
      expect(JSON.parse(await text(jsonArrayText(rowsOf(rows))))).toEqual(rows);
    },
  );

  it('writes JSON Lines, one object a line', async () => {
    expect(await text(jsonLinesText(rowsOf([{ a: 1 }, { b: 'x\ny' }])))).toBe(
      '{"a":1}\n{"b":"x\\ny"}\n',
    );
  });

  it('writes CSV records ending in CRLF after the header, even with no rows', async () => {
    expect(await text(csvText('a,b', rowsOf<string>([]), (r) => r))).toBe('a,b\r\n');
    expect(await text(csvText('a,b', rowsOf(['1,2', '3,4']), (r) => r))).toBe(
      'a,b\r\n1,2\r\n3,4\r\n',
    );
  });

  it('gathers pieces into chunks of about the given size, losing nothing', () => {
    const pieces = Array.from({ length: 100 }, (_, i) => `${i}`.padStart(10, '-'));
    const chunks = new Chunks(95);

    const full = pieces.map((p) => chunks.add(p)).filter((c) => c !== undefined);
    const all = [...full, ...chunks.rest()];

    expect(all.join('')).toBe(pieces.join(''));
    expect(full).toHaveLength(100 / 10);
    expect(full.every((c) => c.length === 100)).toBe(true);
    expect([...chunks.rest()]).toEqual([]);
  });

  it('ends with what is left when it is short of a chunk', () => {
    const chunks = new Chunks(95);
    chunks.add('abc');

    expect([...chunks.rest()]).toEqual(['abc']);
  });

  it('pulls rows only as chunks are taken, so a reader that stops early stops the reading', async () => {
    let pulled = 0;
    async function* endless(): AsyncIterable<{ n: number }> {
      for (;;) {
        pulled += 1;
        yield { n: pulled };
      }
    }

    for await (const chunk of jsonLinesText(endless())) {
      expect(chunk.length).toBeGreaterThanOrEqual(64 * 1024);
      break;
    }

    expect(pulled).toBeLessThan(10_000);
  });
});
