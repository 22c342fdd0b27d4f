import { existsSync, readFileSync } from 'node:fs';

/**
 * Reads CERTFLEET_TRUST_BUNDLE: PEM text in the setting itself, or the path of a PEM file.
 * Adds to `problems` and returns undefined when it cannot be read or holds anything but
 * certificates. Whether the certificates parse is checked where they are used (shared/services.ts).
 * A problem names the setting and what is wrong, never the value: a value that is neither PEM
 * nor a path is often a key or a SAS pasted into the wrong setting.
 */
export function readTrustBundle(value: string, problems: string[]): string | undefined {
  const pem = value.includes('-----BEGIN')
    ? value.replace(/\\n/g, '\n')
    : readPemFile(value, problems);
  if (pem === undefined) return undefined;
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    problems.push('CERTFLEET_TRUST_BUNDLE: holds no CERTIFICATE block');
    return undefined;
  }
  if (/PRIVATE KEY-----/.test(pem)) {
    problems.push('CERTFLEET_TRUST_BUNDLE: holds a private key; it must hold certificates only');
    return undefined;
  }
  return pem;
}

function readPemFile(path: string, problems: string[]): string | undefined {
  if (!existsSync(path)) {
    problems.push('CERTFLEET_TRUST_BUNDLE: neither PEM text nor the path of an existing file');
    return undefined;
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    // The code alone: Node's message repeats the path.
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`CERTFLEET_TRUST_BUNDLE: cannot read the file it names (${code})`);
    return undefined;
  }
}
