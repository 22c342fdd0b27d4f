/** Where JSON text stops being JSON: 1-based, the column counted in UTF-16 code units. */
export interface JsonPosition {
  line: number;
  column: number;
}

/**
 * The position of the first character that makes `text` not JSON (RFC 8259), or undefined when
 * it is JSON. For reporting a broken file without quoting it: V8's own message sometimes quotes
 * the text around the error and sometimes gives no position at all, and a settings file's text
 * may be a key. Nesting deeper than `maxDepth` is reported where it goes too deep.
 */
export function jsonSyntaxErrorAt(text: string, maxDepth = 512): JsonPosition | undefined {
  const offset = new JsonScanner(text, maxDepth).firstErrorOffset();
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

class Stop {
  constructor(readonly offset: number) {}
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** A recursive-descent reading of the JSON grammar that only finds where it breaks. */
class JsonScanner {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  firstErrorOffset(): number | undefined {
    try {
      this.value(0);
      this.whitespace();
      if (this.at < this.text.length) throw new Stop(this.at);
      return undefined;
    } catch (stop) {
      if (stop instanceof Stop) return stop.offset;
      throw stop;
    }
  }

  private value(depth: number): void {
    this.whitespace();
    const c = this.text[this.at];
    if (c === '{') return this.object(depth + 1);
    if (c === '[') return this.array(depth + 1);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const literal of ['true', 'false', 'null']) {
      if (this.text.startsWith(literal, this.at)) {
        this.at += literal.length;
        return;
      }
    }
    // Point at the first character that departs from the literal it begins, if any.
    for (const literal of ['true', 'false', 'null']) {
      if (c === literal[0]) {
        let i = 0;
        while (this.text[this.at + i] === literal[i]) i += 1;
        throw new Stop(this.at + i);
      }
    }
    throw new Stop(this.at);
  }

  private object(depth: number): void {
    if (depth > this.maxDepth) throw new Stop(this.at);
    this.at += 1; // {
    this.whitespace();
    if (this.text[this.at] === '}') {
      this.at += 1;
      return;
    }
    for (;;) {
      this.whitespace();
      if (this.text[this.at] !== '"') throw new Stop(this.at);
      this.string();
      this.whitespace();
      if (this.text[this.at] !== ':') throw new Stop(this.at);
      this.at += 1;
      this.value(depth);
      this.whitespace();
      const c = this.text[this.at];
      this.at += 1;
      if (c === '}') return;
      if (c !== ',') throw new Stop(this.at - 1);
    }
  }

  private array(depth: number): void {
    if (depth > this.maxDepth) throw new Stop(this.at);
    this.at += 1; // [
    this.whitespace();
    if (this.text[this.at] === ']') {
      this.at += 1;
      return;
    }
    for (;;) {
      this.value(depth);
      this.whitespace();
      const c = this.text[this.at];
      this.at += 1;
      if (c === ']') return;
      if (c !== ',') throw new Stop(this.at - 1);
    }
  }

  private string(): void {
    this.at += 1; // "
    for (;;) {
      const c = this.text[this.at];
      if (c === undefined) throw new Stop(this.at);
      if (c === '"') {
        this.at += 1;
        return;
      }
      if (c < ' ') throw new Stop(this.at); // a control character must be escaped
      if (c === '\\') {
        const e = this.text[this.at + 1];
        if (e === 'u') {
          for (let i = 2; i < 6; i += 1) {
            if (!/^[0-9A-Fa-f]$/.test(this.text[this.at + i] ?? '')) throw new Stop(this.at + i);
          }
          this.at += 6;
        } else if (e !== undefined && ESCAPES.has(e)) this.at += 2;
        else throw new Stop(this.at + 1);
      } else this.at += 1;
    }
  }

  private number(): void {
    if (this.text[this.at] === '-') this.at += 1;
    if (this.text[this.at] === '0') this.at += 1;
    else if (!this.digits()) throw new Stop(this.at);
    if (this.text[this.at] === '.') {
      this.at += 1;
      if (!this.digits()) throw new Stop(this.at);
    }
    if (this.text[this.at] === 'e' || this.text[this.at] === 'E') {
      this.at += 1;
      if (this.text[this.at] === '+' || this.text[this.at] === '-') this.at += 1;
      if (!this.digits()) throw new Stop(this.at);
    }
  }

  /** Reads a run of digits; false when there was none. */
  private digits(): boolean {
    const start = this.at;
    while (/^[0-9]$/.test(this.text[this.at] ?? '')) this.at += 1;
    return this.at > start;
  }

  private whitespace(): void {
    while (WHITESPACE.has(this.text[this.at] ?? '')) this.at += 1;
  }
}
