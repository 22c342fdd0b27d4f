import fc from 'fast-check';
import { jsonSyntaxErrorAt } from '../../shared/cli/jsonSyntaxErrorAt';

/** The offset `jsonSyntaxErrorAt` names, as V8 would count it (0-based). */
function offsetOf(text: string): number | undefined {
  const at = jsonSyntaxErrorAt(text);
  if (!at) return undefined;
  const lines = text.split('\n');
  return lines.slice(0, at.line - 1).reduce((n, l) => n + l.length + 1, 0) + at.column - 1;
}

describe('jsonSyntaxErrorAt', () => {
  it('finds nothing wrong in JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(jsonSyntaxErrorAt(text)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with JSON.parse on whether text is JSON, and on the position wherever V8 names one', () => {
    const damaged = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'replace'),
        fc.constantFrom('"', ',', '}', ']', ':', '\\', '\n', 'x', '0', '-', '.', 'e', ' ', 't'),
      )
      .map(([text, at, edit, c]) => {
        const i = text.length === 0 ? 0 : at % text.length;
        if (edit === 'insert') return text.slice(0, i) + c + text.slice(i);
        if (edit === 'delete') return text.slice(0, i) + text.slice(i + 1);
        return text.slice(0, i) + c + text.slice(i + 1);
      });
    fc.assert(
      fc.property(damaged, (text) => {
        let v8: number | 'valid' | 'no position' = 'valid';
        try {
          JSON.parse(text);
        } catch (error) {
          const message = (error as Error).message;
          const position = /at position (\d+)/.exec(message)?.[1];
          if (position !== undefined) v8 = Number(position);
          else if (/end of JSON input/.test(message)) v8 = text.length;
          else v8 = 'no position';
        }
        const ours = offsetOf(text);
        if (v8 === 'valid') expect(ours).toBeUndefined();
        else if (v8 === 'no position') expect(ours).toEqual(expect.any(Number));
        else expect(ours).toBe(v8);
      }),
      { numRuns: 3000 },
    );
  });

  it('names the line and the column, counting from 1', () => {
    expect(jsonSyntaxErrorAt('{\n  "a": 1,\n  "b": tru\n}')).toEqual({ line: 3, column: 11 });
    expect(jsonSyntaxErrorAt('')).toEqual({ line: 1, column: 1 });
  });

  it('stops at a nesting too deep instead of overflowing the stack', () => {
    expect(jsonSyntaxErrorAt('['.repeat(100_000))).toEqual({ line: 1, column: 513 });
  });
});
