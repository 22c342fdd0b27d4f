import { existsSync, readFileSync } from 'node:fs';

/**
 * Reads CERTFLEET_TRUST_BUNDLE: PEM text in the setting itself, or the path of a PEM file.
 * Adds to `problems` and returns undefined when it cannot be read or holds anything but
 * certificates. Whether the certificates parse is checked where they are used (shared/services.ts).
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
    problems.push(`CERTFLEET_TRUST_BUNDLE: neither PEM text nor an existing file (${path})`);
    return undefined;
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(
      `CERTFLEET_TRUST_BUNDLE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
    return undefined;
  }
}
