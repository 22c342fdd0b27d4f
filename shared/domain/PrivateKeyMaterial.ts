/**
 * Private key material reported by a device is never stored anywhere (ledger, audit, dead
 * letters). A device that puts its private key in the twin has leaked it to everyone who can
 * read twins: that is a security finding, and the key itself is redacted before anything else
 * sees the event.
 *
 * A key is recognised by what it is, not by what it is called: any armoured block whose label
 * says private, or whose body is a private key (the DER or OpenPGP structure, see
 * hasPrivateKeyStructure); base64, base64url, hex or a list of byte values that decode to one; a
 * JWK with private members; OpenSSH, PuTTY and OpenSSL text forms. Each text is also read as
 * JSON-unescaped (`\u0050RIVATE`), percent-decoded, and as JSON when it is JSON (strings inside
 * strings), a few layers deep. Property names are read like values.
 *
 * Redaction cuts out what it can recognise and keeps the rest readable; a text that still holds
 * key material after that (an escaped label in text that is not JSON, say) is replaced whole.
 */
import { hasPrivateKeyStructure } from './hasPrivateKeyStructure';

export const REDACTED = '[REDACTED PRIVATE KEY]';

/** JSON nested deeper than this is not a twin (IoT Hub allows 10 levels): it is cut, not walked. */
export const MAX_JSON_DEPTH = 64;
export const TOO_DEEP = `[REMOVED: nested deeper than ${MAX_JSON_DEPTH} levels]`;

/** Layers of encoding looked through: JSON in a string in JSON, base64 of a PEM text, and so on. */
const MAX_LAYERS = 4;
/** Fewer characters than this cannot hold a key (the shortest, Ed25519 PKCS#8, takes 64). */
const MIN_KEY_TEXT = 20;
const MIN_BASE64_RUN = 40;

// Armour: PEM (RFC 7468), OpenPGP (RFC 4880 6.2), and SSH2's four dashes and spaces.
const ARMOUR_BEGIN = /-{4,5} ?BEGIN ([^\r\n-]{1,64}?) ?-{4,5}/gi;
// PRIVATE KEY, RSA/EC/DSA/ENCRYPTED/OPENSSH PRIVATE KEY, PGP PRIVATE KEY BLOCK, PGP SECRET KEY BLOCK.
const PRIVATE_LABEL = /(PRIVATE|SECRET) KEY/i;
const PRIVATE_ARMOUR = /-{4,5} ?BEGIN [^\r\n-]{0,64}?(PRIVATE|SECRET) KEY/i;
/** Text forms that say what they are: PuTTY key files, `openssl pkey -text` dumps. */
const PRIVATE_TEXT_FORMS = [
  /\bPrivate-Lines:\s*\d/,
  /\b(priv|privateExponent|prime1)\s*:\s*([0-9a-f]{2}:\s*){16}/i,
];
// A JWK written as text that is not (or no longer) JSON: its type and a private member.
const JWK_TYPE_TEXT = /"kty"\s*:\s*"(EC|RSA|OKP|oct)"/;
const JWK_PRIVATE_TEXT = /"(d|p|q|dp|dq|qi|k)"\s*:\s*"[A-Za-z0-9_-]{16,}/;
/** JWK members that hold the private key (RFC 7518 6.2.2, 6.3.2, 6.4.1; RFC 8037 2). */
const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth'];

// Encoded bytes: base64 or base64url (line breaks allowed, also as JSON's \n), hex (colons
// allowed), and lists of byte values ([48, 130, ...], as a Buffer's JSON has them).
const BASE64_RUN = /(?:[A-Za-z0-9+/_-]|\r|\n|\\[rn])+/g;
const HEX_RUN = /[0-9A-Fa-f][0-9A-Fa-f:\s]{62,}[0-9A-Fa-f]/g;
const MIN_HEX_DIGITS = 64;
const BYTE_LIST = /(?:\b\d{1,3}\s*,\s*){31,}\d{1,3}\b/g;

// Property names that carry key material in the shapes devices are known to use, whatever the
// value looks like. Names that may as well hold a reference (secretKey, signingKey) are left to
// the structure of their value.
const PRIVATE_KEY_PROPERTY =
  /^(private[_-]?key([_-]?(pem|der|b64|base64|bytes|hex))?|priv[_-]?key|key[_-]?(pem|der|b64|base64|bytes|hex))$/i;

/** Whether this text holds private key material in any form recognised here. */
export function containsPrivateKeyMaterial(text: string): boolean {
  return textHoldsKey(text, 0);
}

/**
 * The text with each recognisable key cut out: armoured blocks (a private label up to its own
 * END line, or the end of the text when there is none) and encoded key bytes. What this cannot
 * cut out (an escaped label) is left: redactPrivateKeys replaces such a text whole.
 */
export function redactPrivateKeyBlocks(text: string): string {
  return cutKeysOut(text, 0);
}

export interface RedactionResult<T> {
  value: T;
  found: boolean;
}

/**
 * Deep copy of a JSON value with every private key redacted: in strings, property names, JWKs,
 * key-bearing properties, Buffers and their serialized form. Anything nested deeper than
 * MAX_JSON_DEPTH is replaced, so hostile input cannot exhaust the stack (and what is not read
 * cannot leak).
 */
export function redactPrivateKeys<T>(value: T): RedactionResult<T> {
  const state: State = { found: false, cut: false };
  const redacted = redactNode(value, 0, 0, state) as T;
  return { value: redacted, found: state.found };
}

interface State {
  found: boolean;
  /** Something was nested too deep to be read. */
  cut: boolean;
}

function redactNode(node: unknown, depth: number, layer: number, state: State): unknown {
  if (depth > MAX_JSON_DEPTH && node !== null && typeof node === 'object') {
    state.cut = true;
    return TOO_DEEP;
  }
  if (typeof node === 'string') return redactText(node, layer, state);
  if (node === null || typeof node !== 'object' || node instanceof Date) return node;
  if (node instanceof Uint8Array) return bytesHoldKey(node, layer, false) ? found(state) : node;
  if (Array.isArray(node)) {
    const bytes = byteList(node);
    if (bytes) return bytesHoldKey(bytes, layer, false) ? found(state) : [...node];
    return node.map((child) => redactNode(child, depth + 1, layer, state));
  }
  const object = node as Record<string, unknown>;
  const bytes = serializedBuffer(object);
  if (bytes) return bytesHoldKey(bytes, layer, false) ? found(state) : { ...object };
  const jwk = isJwk(object);
  const out: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(object)) {
    const redactedName = redactText(name, layer, state);
    let kept = redactedName;
    for (let n = 2; kept !== name && Object.prototype.hasOwnProperty.call(out, kept); n += 1) {
      kept = `${redactedName} (${n})`;
    }
    const keyBearing =
      PRIVATE_KEY_PROPERTY.test(name) ||
      (jwk && (JWK_PRIVATE_MEMBERS.includes(name) || (name === 'k' && object['kty'] === 'oct')));
    out[kept] =
      keyBearing && child !== null && child !== undefined && child !== ''
        ? found(state)
        : redactNode(child, depth + 1, layer, state);
  }
  return out;
}

function found(state: State): string {
  state.found = true;
  return REDACTED;
}

function redactText(text: string, layer: number, state: State): string {
  if (!textHoldsKey(text, layer)) return text;
  state.found = true;
  const kept = cutKeysOut(text, layer);
  return textHoldsKey(kept, layer) ? REDACTED : kept;
}

function cutKeysOut(text: string, layer: number): string {
  if (layer < MAX_LAYERS) {
    const parsed = parseJsonText(text);
    if (parsed !== undefined) {
      return JSON.stringify(redactNode(parsed, 0, layer + 1, { found: false, cut: false }));
    }
  }
  return cutEncodedKeys(cutArmouredKeys(text, layer), layer);
}

function textHoldsKey(text: string, layer: number): boolean {
  if (text.length < MIN_KEY_TEXT) return false;
  // JSON text is read as the value it is: each of its strings and names, each in every view;
  // as text too when part of it was too deep to read.
  const parsed = layer < MAX_LAYERS ? parseJsonText(text) : undefined;
  if (parsed !== undefined) {
    const state: State = { found: false, cut: false };
    redactNode(parsed, 0, layer + 1, state);
    if (state.found || !state.cut) return state.found;
  }
  for (const [i, view] of viewsOf(text).entries()) {
    if (PRIVATE_ARMOUR.test(view) || PRIVATE_TEXT_FORMS.some((form) => form.test(view)))
      return true;
    if (JWK_TYPE_TEXT.test(view) && JWK_PRIVATE_TEXT.test(view)) return true;
    if (armouredBlocks(view).some((block) => blockIsKey(block, layer))) return true;
    if (encodedRuns(view).some((run) => run.candidates().some((b) => bytesHoldKey(b, layer))))
      return true;
    // JSON once unescaped or decoded: a string taken out of its JSON.
    if (i > 0 && layer < MAX_LAYERS && valueHoldsKey(parseJsonText(view), layer)) return true;
  }
  return false;
}

function valueHoldsKey(parsed: unknown, layer: number): boolean {
  if (parsed === undefined) return false;
  const state: State = { found: false, cut: false };
  redactNode(parsed, 0, layer + 1, state);
  return state.found;
}

/**
 * Bytes that are a key, or text holding one. Bytes decoded from a run of text must be text to be
 * read as text (most alignments of a base64 run are noise); a body's bytes are read either way.
 */
function bytesHoldKey(bytes: Uint8Array, layer: number, mustBeText = true): boolean {
  if (hasPrivateKeyStructure(bytes)) return true;
  if (layer >= MAX_LAYERS || bytes.length < MIN_KEY_TEXT) return false;
  if (mustBeText && !isPrintableAscii(bytes)) return false;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return textHoldsKey(text, layer + 1);
}

/** Key texts (PEM, JWK JSON, base64) are printable ASCII; noise fails within a few bytes. */
function isPrintableAscii(bytes: Uint8Array): boolean {
  for (const byte of bytes) {
    if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte > 0x7e)
      return false;
  }
  return true;
}

/** The text as written, JSON-unescaped (layer by layer), and percent-decoded. */
function viewsOf(text: string): string[] {
  const views = [text];
  let current = text;
  for (let i = 0; i < 8 && current.includes('\\'); i += 1) {
    const next = unescapeJson(current);
    if (next === current) break;
    views.push(next);
    current = next;
  }
  if (/%[0-9A-Fa-f]{2}/.test(text)) views.push(percentDecoded(text));
  return views;
}

const JSON_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

function unescapeJson(text: string): string {
  return text.replace(/\\(?:u([0-9A-Fa-f]{4})|(["\\/bfnrt]))/g, (_all, hex?: string, c?: string) =>
    hex !== undefined ? String.fromCharCode(parseInt(hex, 16)) : JSON_ESCAPES[c!]!,
  );
}

function percentDecoded(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
    Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'),
  );
}

function parseJsonText(text: string): unknown {
  if (!/^\s*[{[]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

interface ArmouredBlock {
  start: number;
  end: number;
  label: string;
  body: string;
}

/**
 * Each armoured block: a private label runs to its own END line or the end of the text (a key
 * whose END line is missing or wrong is still a key); any other block to its END line or the
 * next BEGIN, so that no text is read twice.
 */
function armouredBlocks(text: string): ArmouredBlock[] {
  const begins = [...text.matchAll(ARMOUR_BEGIN)];
  const blocks: ArmouredBlock[] = [];
  let consumed = 0;
  for (const [i, begin] of begins.entries()) {
    if (begin.index < consumed) continue;
    const label = begin[1]!;
    const bodyStart = begin.index + begin[0].length;
    const limit = PRIVATE_LABEL.test(label) ? text.length : (begins[i + 1]?.index ?? text.length);
    const endLine = new RegExp(`-{4,5} ?END ${escapeRegExp(label)} ?-{4,5}`, 'i');
    const end = endLine.exec(text.slice(bodyStart, limit));
    const bodyEnd = end ? bodyStart + end.index : limit;
    const blockEnd = end ? bodyEnd + end[0].length : limit;
    blocks.push({ start: begin.index, end: blockEnd, label, body: text.slice(bodyStart, bodyEnd) });
    consumed = blockEnd;
  }
  return blocks;
}

function blockIsKey(block: ArmouredBlock, layer: number): boolean {
  if (PRIVATE_LABEL.test(block.label)) return true;
  const base64 = block.body
    .replace(/\\[rn]/g, '\n')
    .split(/\r?\n/)
    // Armour headers (Proc-Type:, Version:, Comment:) and OpenPGP's CRC line are not the body.
    .filter((line) => !line.includes(':') && !/^=[A-Za-z0-9+/]{4}\s*$/.test(line))
    .join('')
    .replace(/\s/g, '');
  return base64.length > 0 && bytesHoldKey(Buffer.from(base64, 'base64'), layer);
}

function cutArmouredKeys(text: string, layer: number): string {
  let out = '';
  let from = 0;
  for (const block of armouredBlocks(text)) {
    if (!blockIsKey(block, layer)) continue;
    out += text.slice(from, block.start) + REDACTED;
    from = block.end;
  }
  return out + text.slice(from);
}

interface EncodedRun {
  start: number;
  end: number;
  /** The bytes it may stand for (a base64 run at each of its four alignments). */
  candidates(): Uint8Array[];
}

function encodedRuns(text: string): EncodedRun[] {
  const runs: EncodedRun[] = [];
  for (const match of text.matchAll(BASE64_RUN)) {
    const base64 = match[0].replace(/\\[rn]|[\r\n]/g, '');
    if (base64.length < MIN_BASE64_RUN) continue;
    const trimmed = trimRun(match[0], match.index);
    runs.push({
      ...trimmed,
      candidates: () => [0, 1, 2, 3].map((skip) => Buffer.from(base64.slice(skip), 'base64')),
    });
  }
  for (const match of text.matchAll(HEX_RUN)) {
    const hex = match[0].replace(/[^0-9A-Fa-f]/g, '');
    if (hex.length < MIN_HEX_DIGITS) continue;
    runs.push({
      ...trimRun(match[0], match.index),
      candidates: () => [Buffer.from(hex, 'hex'), Buffer.from(hex.slice(1), 'hex')],
    });
  }
  for (const match of text.matchAll(BYTE_LIST)) {
    const values = match[0].split(',').map((n) => Number(n.trim()));
    if (values.some((n) => n > 255)) continue;
    runs.push({
      start: match.index,
      end: match.index + match[0].length,
      candidates: () => [Uint8Array.from(values)],
    });
  }
  return runs;
}

/** A run without the line breaks around it, which belong to the text, not the key. */
function trimRun(run: string, at: number): { start: number; end: number } {
  const escapedBreak = (i: number) => run[i] === '\\' && (run[i + 1] === 'r' || run[i + 1] === 'n');
  let start = 0;
  let end = run.length;
  for (;;) {
    if (start < end && /\s/.test(run[start]!)) start += 1;
    else if (start + 2 <= end && escapedBreak(start)) start += 2;
    else break;
  }
  for (;;) {
    if (end > start && /\s/.test(run[end - 1]!)) end -= 1;
    else if (end - 2 >= start && escapedBreak(end - 2)) end -= 2;
    else break;
  }
  return { start: at + start, end: at + end };
}

function cutEncodedKeys(text: string, layer: number): string {
  const keys = encodedRuns(text)
    .filter((run) => run.candidates().some((bytes) => bytesHoldKey(bytes, layer)))
    .sort((a, b) => a.start - b.start);
  let out = '';
  let from = 0;
  for (const run of keys) {
    if (run.start < from) continue;
    out += text.slice(from, run.start) + REDACTED;
    from = run.end;
  }
  return out + text.slice(from);
}

/** Node's JSON form of a Buffer: `{"type": "Buffer", "data": [bytes]}`. */
function serializedBuffer(object: Record<string, unknown>): Uint8Array | undefined {
  const data = object['data'];
  if (object['type'] !== 'Buffer' || !Array.isArray(data) || Object.keys(object).length !== 2)
    return undefined;
  return byteList(data, 0);
}

/** An array of byte values long enough to hold a key. */
function byteList(array: unknown[], minLength = 32): Uint8Array | undefined {
  if (array.length < minLength) return undefined;
  if (!array.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255))
    return undefined;
  return Uint8Array.from(array as number[]);
}

/** A JWK (RFC 7517): it names its key type, or it has `d` beside a curve or a public part. */
function isJwk(object: Record<string, unknown>): boolean {
  if (typeof object['kty'] === 'string') return true;
  return typeof object['d'] === 'string' && ['crv', 'x', 'n'].some((m) => m in object);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
