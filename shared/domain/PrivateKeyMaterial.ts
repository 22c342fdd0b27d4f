/**
 * Private key material reported by a device is never stored anywhere (ledger, audit, dead
 * letters). A device that puts its private key in the twin has leaked it to everyone who can
 * read twins: that is a security finding, and the key itself is redacted before anything else
 * sees the event.
 */

// Any PEM block whose label ends in PRIVATE KEY: PRIVATE KEY, RSA/EC/DSA/ENCRYPTED/OPENSSH
// PRIVATE KEY. An unterminated block is redacted to the end of the string.
const PRIVATE_KEY_BLOCK = /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----[\s\S]*?(-----END \1-----|$)/g;
const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
// Property names that carry key material in the shapes devices are known to use.
const PRIVATE_KEY_PROPERTY = /^(private[_-]?key|privkey|key[_-]?pem)$/i;

export const REDACTED = '[REDACTED PRIVATE KEY]';

export function containsPrivateKeyBlock(text: string): boolean {
  return PRIVATE_KEY_MARKER.test(text);
}

export function redactPrivateKeyBlocks(text: string): string {
  return text.replace(PRIVATE_KEY_BLOCK, REDACTED);
}

export interface RedactionResult<T> {
  value: T;
  found: boolean;
}

/** JSON nested deeper than this is not a twin (IoT Hub allows 10 levels): it is cut, not walked. */
export const MAX_JSON_DEPTH = 64;
export const TOO_DEEP = `[REMOVED: nested deeper than ${MAX_JSON_DEPTH} levels]`;

/**
 * Deep copy of a JSON value with every private key block and key-bearing property redacted.
 * Anything nested deeper than MAX_JSON_DEPTH is replaced, so hostile input cannot exhaust the
 * stack (and what is not read cannot leak).
 */
export function redactPrivateKeys<T>(value: T): RedactionResult<T> {
  let found = false;
  const walk = (node: unknown, depth = 0): unknown => {
    if (depth > MAX_JSON_DEPTH && node !== null && typeof node === 'object') return TOO_DEEP;
    if (typeof node === 'string') {
      if (!containsPrivateKeyBlock(node)) return node;
      found = true;
      return redactPrivateKeyBlocks(node);
    }
    if (Array.isArray(node)) return node.map((child) => walk(child, depth + 1));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(node as Record<string, unknown>)) {
        if (PRIVATE_KEY_PROPERTY.test(name) && child !== null && child !== '') {
          found = true;
          out[name] = REDACTED;
        } else {
          out[name] = walk(child, depth + 1);
        }
      }
      return out;
    }
    return node;
  };
  const redacted = walk(value) as T;
  return { value: redacted, found };
}
