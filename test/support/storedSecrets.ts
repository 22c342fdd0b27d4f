import { KeyUnderTest } from './privateKeyForms';

/**
 * The scan for a stored private key, shared by the hostile-keys suite
 * (test/app/ingest/IngestIotHubEvents.privateKeys.test.ts) and the hostile-input suite
 * (test/hostile/hostileInput.azurite.test.ts): whether a stored text holds a key's secret, as
 * stored or in any encoding the scan decodes.
 */

/**
 * Every way the stored text could hold the secret's bytes: as written, with JSON's escapes
 * undone (also in strings inside strings), percent-decoded, and each run of base64/base64url
 * (at all four alignments), hex or byte values decoded.
 */
export function decodedViews(text: string, depth = 0): Buffer[] {
  const texts = new Set<string>([text]);
  const addStrings = (json: string, depth: number) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return;
    }
    const walk = (node: unknown) => {
      if (typeof node === 'string') {
        texts.add(node);
        if (depth < 6) addStrings(node, depth + 1);
      } else if (node !== null && typeof node === 'object') {
        for (const [name, child] of Object.entries(node)) {
          texts.add(name);
          walk(child);
        }
      }
    };
    walk(parsed);
  };
  addStrings(text, 0);
  let unescaped = text;
  for (let i = 0; i < 8; i += 1) {
    unescaped = unescaped
      .replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
      .replace(/\\n/g, '\n')
      .replace(/\\r/g, '\r')
      .replace(/\\(["\\/])/g, '$1');
    texts.add(unescaped);
  }
  for (const t of [...texts]) {
    texts.add(t.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => decodeURIComponent(run)));
  }
  const views: Buffer[] = [];
  const add = (bytes: Buffer) => {
    views.push(bytes);
    // Bytes that are (partly) text, such as a PEM or a JWK's JSON: read that text the same way.
    if (depth >= 2) return;
    for (const printable of bytes.toString('latin1').match(/[\x20-\x7e\r\n\t]{16,}/g) ?? []) {
      views.push(...decodedViews(printable, depth + 1));
    }
  };
  for (const t of texts) {
    views.push(Buffer.from(t, 'utf8'), Buffer.from(t, 'latin1'));
    const runs = t.match(/[A-Za-z0-9+/_\s-]{16,}/g) ?? [];
    for (const run of [...runs, ...runs.flatMap((r) => r.split(/-{2,}/))]) {
      const clean = run.replace(/\s/g, '');
      for (let skip = 0; skip < 4; skip += 1) add(Buffer.from(clean.slice(skip), 'base64'));
    }
    for (const run of t.match(/[0-9a-fA-F:\s]{32,}/g) ?? []) {
      const hex = run.replace(/[^0-9a-fA-F]/g, '');
      add(Buffer.from(hex, 'hex'));
      add(Buffer.from(hex.slice(1), 'hex'));
    }
    for (const run of t.match(/\d{1,3}(?:\s*,\s*\d{1,3}){15,}/g) ?? []) {
      add(Buffer.from(run.split(',').map((n) => Number(n) & 255)));
    }
  }
  return views;
}

/** Pieces of the secret: any one of them found means the key (or part of it) was kept. */
export function piecesOf(secret: Buffer): Buffer[] {
  const middle = Math.floor(secret.length / 2) - 6;
  return [secret.subarray(0, 12), secret.subarray(middle, middle + 12), secret.subarray(-12)];
}

export function holdsSecret(text: string, key: KeyUnderTest): boolean {
  return keysHeldIn(text, [key]).length > 0;
}

/**
 * The keys whose secret the text holds, in any view. The views are decoded once for all keys and
 * searched as one buffer: a piece found only across two views (a chance of 2^-96 for each
 * boundary) would show as a leak to look into, and can never hide one.
 */
export function keysHeldIn(text: string, keys: readonly KeyUnderTest[]): KeyUnderTest[] {
  const views = Buffer.concat(decodedViews(text));
  return keys.filter((key) => piecesOf(key.secret).some((piece) => views.includes(piece)));
}
