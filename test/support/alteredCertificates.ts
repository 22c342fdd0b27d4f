import { webcrypto } from 'node:crypto';
import { X509Certificate } from '@peculiar/x509';
import { Issuer } from '../../shared/local/LocalCa';

/**
 * Certificates @peculiar/x509's generator cannot make (a GeneralizedTime in the year 0001, a
 * negative serial, a day 00): a leaf it issued, with bytes of its to-be-signed part replaced by
 * others of the same length, signed again by its RSA issuer. RSA keeps the signature's length,
 * so only the replaced bytes change and the DER stays well formed around them.
 *
 *   const pem = await altered(leaf, rsaIssuer, [['20500101000000Z', '00010101000000Z']]);
 */
export async function altered(
  leaf: X509Certificate,
  issuer: Issuer,
  replacements: readonly (readonly [from: string | Buffer, to: string | Buffer])[],
): Promise<string> {
  if (issuer.kind !== 'RSA-2048') throw new Error('altered() re-signs with an RSA issuer only');
  const der = Buffer.from(leaf.rawData);
  const outer = header(der, 0);
  const tbsStart = outer.contentStart;
  const tbs = header(der, tbsStart);
  const tbsEnd = tbs.contentStart + tbs.length;
  for (const [fromValue, toValue] of replacements) {
    const from = Buffer.isBuffer(fromValue) ? fromValue : Buffer.from(fromValue, 'latin1');
    const to = Buffer.isBuffer(toValue) ? toValue : Buffer.from(toValue, 'latin1');
    if (from.length !== to.length) throw new Error('a replacement must keep the length');
    const at = der.subarray(0, tbsEnd).indexOf(from, tbsStart);
    if (at < 0) throw new Error(`"${from.toString('hex')}" is not in the certificate`);
    to.copy(der, at);
  }
  const signature = Buffer.from(
    await webcrypto.subtle.sign(
      { name: 'RSASSA-PKCS1-v1_5' },
      issuer.keys.privateKey,
      der.subarray(tbsStart, tbsEnd),
    ),
  );
  // The signature BIT STRING ends the certificate.
  signature.copy(der, der.length - signature.length);
  const base64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${base64.trim()}\n-----END CERTIFICATE-----\n`;
}

function header(der: Buffer, at: number): { contentStart: number; length: number } {
  const first = der[at + 1]!;
  if (first < 0x80) return { contentStart: at + 2, length: first };
  const octets = first & 0x7f;
  let length = 0;
  for (let i = 0; i < octets; i += 1) length = length * 256 + der[at + 2 + i]!;
  return { contentStart: at + 2 + octets, length };
}
