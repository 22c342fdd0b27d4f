/**
 * Text a person typed that goes into log lines and audit records as it is (who asked for a
 * manual renewal, and why). It must hold nothing that lets one line pose as several or rewrite
 * what a terminal shows: C0 and C1 control characters (new lines, NUL, the ESC of ANSI
 * sequences, the single-character CSI U+009B), DEL, the Unicode line and paragraph separators,
 * and the bidirectional embeddings, overrides and isolates (which reorder what a reader sees).
 * A lone surrogate is not text at all.
 */
function forges(unit: number): boolean {
  return (
    unit <= 0x1f || // C0
    (unit >= 0x7f && unit <= 0x9f) || // DEL, C1
    unit === 0x2028 || // line separator
    unit === 0x2029 || // paragraph separator
    (unit >= 0x202a && unit <= 0x202e) || // embeddings and overrides
    (unit >= 0x2066 && unit <= 0x2069) // isolates
  );
}

/**
 * Why `text` is not plain text, or undefined when it is: the first offending character by its
 * code point and 1-based position, never quoted (quoting it would print what it does).
 */
export function plainTextProblem(text: string): string | undefined {
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
      return `holds a lone surrogate (${codePoint(unit)}) at position ${i + 1}`;
    }
    if (unit >= 0xdc00 && unit <= 0xdfff) {
      return `holds a lone surrogate (${codePoint(unit)}) at position ${i + 1}`;
    }
    if (forges(unit)) {
      const kind = unit < 0x2000 ? 'a control character' : 'a line separator or direction control';
      return `holds ${codePoint(unit)} (${kind}) at position ${i + 1}`;
    }
  }
  return undefined;
}

function codePoint(value: number): string {
  return `U+${value.toString(16).toUpperCase().padStart(4, '0')}`;
}
