import { JsonWebKey, KeyObject, generateKeyPairSync } from 'node:crypto';

/**
 * Real private keys, generated with node:crypto, in every form a device or a hostile sender
 * could put them in an event: the six key types of the hostile-keys suite (RSA, EC P-256,
 * EC P-384, Ed25519, an OpenPGP secret key and a JWK), each as text, as a JSON value, as bytes
 * and in the wrong armour, with the secret itself to look for in whatever certfleet stored.
 */
export type KeyType = 'RSA' | 'EC P-256' | 'EC P-384' | 'Ed25519' | 'PGP' | 'JWK';

export interface KeyUnderTest {
  type: KeyType;
  /** As its owner would paste it: PKCS#8 PEM, a PGP armoured block, or the JWK's JSON. */
  text: string;
  /** OpenSSL's traditional form where there is one (RSA PRIVATE KEY, EC PRIVATE KEY). */
  traditional?: string;
  /** As a JSON value: the text, or the JWK object itself. */
  value: unknown;
  /** Its bytes: PKCS#8 DER, OpenPGP packets, or the JWK's JSON as UTF-8. */
  bytes: Buffer;
  /** The same bytes in the wrong armour. */
  inCertificateLabel: string;
  /** The secret itself (private scalar or exponent): what must never be found in storage. */
  secret: Buffer;
}

export const KEY_TYPES: readonly KeyType[] = [
  'RSA',
  'EC P-256',
  'EC P-384',
  'Ed25519',
  'PGP',
  'JWK',
];

export function privateKeyOfType(type: KeyType): KeyUnderTest {
  switch (type) {
    case 'RSA':
      return asn1Key(type, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'pkcs1');
    case 'EC P-256':
      return asn1Key(type, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'sec1');
    case 'EC P-384':
      return asn1Key(type, generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'sec1');
    case 'Ed25519':
      return asn1Key(type, generateKeyPairSync('ed25519').privateKey);
    case 'PGP':
      return pgpKey();
    case 'JWK':
      return jwkKey();
  }
}

function asn1Key(type: KeyType, key: KeyObject, traditional?: 'pkcs1' | 'sec1'): KeyUnderTest {
  const bytes = key.export({ type: 'pkcs8', format: 'der' });
  const jwk = key.export({ format: 'jwk' });
  return {
    type,
    text: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    ...(traditional
      ? { traditional: key.export({ type: traditional, format: 'pem' }) as string }
      : {}),
    value: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    bytes,
    inCertificateLabel: armour('CERTIFICATE', bytes),
    secret: Buffer.from(jwk.d!, 'base64url'),
  };
}

function jwkKey(): KeyUnderTest {
  const jwk: JsonWebKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
    format: 'jwk',
  });
  const text = JSON.stringify(jwk);
  const bytes = Buffer.from(text, 'utf8');
  return {
    type: 'JWK',
    text,
    value: jwk,
    bytes,
    inCertificateLabel: armour('CERTIFICATE', bytes),
    secret: Buffer.from(jwk.d!, 'base64url'),
  };
}

/**
 * An OpenPGP transferable secret key (RFC 4880 5.5.3, with the EdDSA key of RFC 4880bis): a
 * v4 Secret-Key packet holding an Ed25519 key unprotected, and a User ID packet, in ASCII armour
 * with its CRC-24.
 */
export function pgpKey(): KeyUnderTest {
  const { publicPart, d } = pgpEd25519Key();
  const secretMpi = mpi(d);
  const checksum = Buffer.alloc(2);
  checksum.writeUInt16BE(secretMpi.reduce((sum, byte) => (sum + byte) & 0xffff, 0));
  const secretKey = packet(5, Buffer.concat([publicPart, Buffer.from([0]), secretMpi, checksum]));
  const bytes = Buffer.concat([secretKey, USER_ID]);
  const text = pgpArmour('PGP PRIVATE KEY BLOCK', bytes);
  return {
    type: 'PGP',
    text,
    value: text,
    bytes,
    inCertificateLabel: armour('CERTIFICATE', bytes),
    secret: d.subarray(d.findIndex((b) => b !== 0)),
  };
}

/** The public half of such a key (a Public-Key packet, tag 6), as `gpg --export -a` writes it. */
export function pgpPublicKeyBlock(): string {
  const { publicPart } = pgpEd25519Key();
  return pgpArmour('PGP PUBLIC KEY BLOCK', Buffer.concat([packet(6, publicPart), USER_ID]));
}

const USER_ID = packet(13, Buffer.from('thermostat-0001 <ops@contoso.example>', 'utf8'));

function pgpEd25519Key(): { publicPart: Buffer; d: Buffer } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const d = Buffer.from(jwk.d!, 'base64url');
  const created = Buffer.alloc(4);
  created.writeUInt32BE(Date.UTC(2026, 10, 1) / 1000);
  const ed25519Oid = Buffer.from('2b06010401da470f01', 'hex');
  const publicPart = Buffer.concat([
    Buffer.from([4]),
    created,
    Buffer.from([22, ed25519Oid.length]),
    ed25519Oid,
    mpi(Buffer.concat([Buffer.from([0x40]), x])),
  ]);
  return { publicPart, d };
}

function pgpArmour(label: string, bytes: Buffer): string {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc24(bytes));
  return (
    `-----BEGIN ${label}-----\n\n` +
    `${wrap(bytes.toString('base64'))}\n=${crc.subarray(1).toString('base64')}\n` +
    `-----END ${label}-----\n`
  );
}

/** A new-format OpenPGP packet header (RFC 4880 4.2.2) around a body. */
function packet(tag: number, body: Buffer): Buffer {
  const length =
    body.length < 192
      ? Buffer.from([body.length])
      : Buffer.from([((body.length - 192) >> 8) + 192, (body.length - 192) & 0xff]);
  return Buffer.concat([Buffer.from([0xc0 | tag]), length, body]);
}

/** An OpenPGP multiprecision integer: its bit count, then its bytes without leading zeros. */
function mpi(value: Buffer): Buffer {
  const first = value.findIndex((b) => b !== 0);
  const bytes = value.subarray(first);
  const bits = (bytes.length - 1) * 8 + (32 - Math.clz32(bytes[0]!));
  const count = Buffer.alloc(2);
  count.writeUInt16BE(bits);
  return Buffer.concat([count, bytes]);
}

function crc24(bytes: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of bytes) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i += 1) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

export function armour(label: string, bytes: Buffer): string {
  return `-----BEGIN ${label}-----\n${wrap(bytes.toString('base64'))}\n-----END ${label}-----\n`;
}

function wrap(base64: string): string {
  return base64.replace(/(.{64})(?=.)/g, '$1\n');
}
