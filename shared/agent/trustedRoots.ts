import { rootCertificates } from 'node:tls';

/**
 * The CAs a TLS client trusts when it is given some of its own: Node's built-in roots (the
 * Mozilla set every Node carries) and the given PEM. Node's `ca` option replaces the built-in
 * roots rather than adding to them, so a CA given for one endpoint (a stand-in, a gateway with
 * a private CA) would otherwise cut the agent off from every endpoint Azure serves with a
 * public certificate.
 */
export function withBuiltInRoots(caPem: string): string {
  return [...rootCertificates, caPem.trim()].join('\n');
}
