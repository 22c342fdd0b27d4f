/**
 * Escaping for HTML certfleet writes. Device ids, hubs, issuers and cohorts are text devices
 * chose: every one of them goes through `text` (element content and quoted attribute values
 * alike) and, in a link, through `uriComponent` first.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes the five characters that can end text or a quoted attribute value in HTML. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * Characters that would not show, or would show text other than what is stored: C0 and C1
 * controls and the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069: an
 * issuer could otherwise read backwards), and lone surrogates.
 */
const INVISIBLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text for an element or a quoted attribute: HTML-escaped, and with invisible characters shown
 * as `\u{…}` so an auditor sees what was stored rather than what it pretends to be.
 */
export function text(value: string): string {
  return escapeHtml(
    value.replace(INVISIBLE, (c) => `\\u{${c.charCodeAt(0).toString(16).padStart(4, '0')}}`),
  );
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` as `\u` escapes so no
 * value can close the element or open a comment, and U+2028/U+2029 so the text stays valid
 * JavaScript too. JSON.stringify already writes lone surrogates as `\u` escapes.
 */
export function jsonInScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * A URL path segment or query value, percent-encoded; undefined for a string that is not text
 * (a lone surrogate, which encodeURIComponent refuses): no link beats a wrong link.
 */
export function uriComponent(value: string): string | undefined {
  try {
    return encodeURIComponent(value);
  } catch {
    return undefined;
  }
}
