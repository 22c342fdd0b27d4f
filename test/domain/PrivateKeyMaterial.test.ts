import { createHash, createPublicKey, generateKeyPairSync, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  REDACTED,
  containsPrivateKeyMaterial,
  redactPrivateKeyBlocks,
  redactPrivateKeys,
} from '../../shared/domain/PrivateKeyMaterial';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IssuedLeaf, aPki } from '../support/certificates';
import {
  KEY_TYPES,
  KeyUnderTest,
  armour,
  pgpPublicKeyBlock,
  privateKeyOfType,
} from '../support/privateKeyForms';

/** A PEM block with a body that looks like base64; no real key or certificate is needed. */
function pemBlock(
  label: string,
  body = 'MIGkAgEBBDDm0Ht2Y0p1bSWrV7Ey3Ue0UZcsmJ5Uqk3K\nvBNn9w6Sdw==',
) {
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

const CERTIFICATE = pemBlock('CERTIFICATE', 'MIIBszCCATmgAwIBAgIUGh4=');
const ISSUING_CA = pemBlock('CERTIFICATE', 'MIICAjCCAYigAwIBAgIUXy0=');
const KEY_BODY = 'MIGkAgEBBDDm0Ht2Y0p1bSWrV7Ey3Ue0UZcsmJ5Uqk3K';

describe('redactPrivateKeyBlocks', () => {
  it.each([
    'PRIVATE KEY',
    'RSA PRIVATE KEY',
    'EC PRIVATE KEY',
    'DSA PRIVATE KEY',
    'ENCRYPTED PRIVATE KEY',
    'OPENSSH PRIVATE KEY',
  ])('redacts a %s block', (label) => {
    const text = pemBlock(label);

    expect(containsPrivateKeyMaterial(text)).toBe(true);
    expect(redactPrivateKeyBlocks(text)).toBe(`${REDACTED}\n`);
  });

  it('keeps the certificates around a key', () => {
    const text = `${CERTIFICATE}${pemBlock('EC PRIVATE KEY')}${ISSUING_CA}`;

    expect(redactPrivateKeyBlocks(text)).toBe(`${CERTIFICATE}${REDACTED}\n${ISSUING_CA}`);
  });

  it('redacts every key in the text, each up to its own END line', () => {
    const text = `${pemBlock('RSA PRIVATE KEY')}${CERTIFICATE}${pemBlock('PRIVATE KEY')}`;

    const redacted = redactPrivateKeyBlocks(text);

    expect(redacted).toBe(`${REDACTED}\n${CERTIFICATE}${REDACTED}\n`);
    expect(redacted).not.toContain(KEY_BODY);
  });

  it('redacts an unterminated key block to the end of the text', () => {
    const text = `${CERTIFICATE}-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\nvBNn9w6Sdw==`;

    expect(redactPrivateKeyBlocks(text)).toBe(`${CERTIFICATE}${REDACTED}`);
  });

  it('does not stop at the END line of another label', () => {
    const text = `-----BEGIN EC PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\nrest`;

    expect(redactPrivateKeyBlocks(text)).toBe(REDACTED);
  });

  it('redacts keys written with CRLF line ends', () => {
    const text = pemBlock('PRIVATE KEY').replace(/\n/g, '\r\n');

    expect(redactPrivateKeyBlocks(text)).toBe(`${REDACTED}\r\n`);
  });

  it('leaves a certificate chain and a public key alone', () => {
    const text = `${CERTIFICATE}${ISSUING_CA}${pemBlock('PUBLIC KEY')}`;

    expect(containsPrivateKeyMaterial(text)).toBe(false);
    expect(redactPrivateKeyBlocks(text)).toBe(text);
  });
});

describe('redactPrivateKeys', () => {
  it('finds nothing in a twin that reports a plain certificate', () => {
    const reported = {
      $version: 4,
      certificate: {
        validFrom: '2026-11-01T00:00:00Z',
        validUntil: '2026-12-01T00:00:00Z',
        pem: `${CERTIFICATE}${ISSUING_CA}`,
      },
      keyAlgorithm: 'ECDSA P-384',
      publicKey: pemBlock('PUBLIC KEY'),
    };

    const result = redactPrivateKeys(reported);

    expect(result).toEqual({ value: reported, found: false });
  });

  it('redacts a key block inside a nested string and keeps the certificate beside it', () => {
    const reported = {
      certificate: {
        validUntil: '2026-12-01T00:00:00Z',
        pem: `${CERTIFICATE}${pemBlock('EC PRIVATE KEY')}`,
      },
    };

    const result = redactPrivateKeys(reported);

    expect(result.found).toBe(true);
    expect(result.value).toEqual({
      certificate: { validUntil: '2026-12-01T00:00:00Z', pem: `${CERTIFICATE}${REDACTED}\n` },
    });
    expect(JSON.stringify(result.value)).not.toContain(KEY_BODY);
  });

  it('redacts key blocks inside arrays', () => {
    const result = redactPrivateKeys({ chain: [CERTIFICATE, pemBlock('OPENSSH PRIVATE KEY')] });

    expect(result).toEqual({ value: { chain: [CERTIFICATE, `${REDACTED}\n`] }, found: true });
  });

  it.each([
    'privateKey',
    'private_key',
    'private-key',
    'PrivateKey',
    'privkey',
    'keyPem',
    'key_pem',
  ])('redacts the value of a property named %s, whatever it holds', (name) => {
    const result = redactPrivateKeys({ certificate: { [name]: KEY_BODY, validFrom: 'x' } });

    expect(result).toEqual({
      value: { certificate: { [name]: REDACTED, validFrom: 'x' } },
      found: true,
    });
  });

  it('redacts a key-bearing property that holds an object', () => {
    const result = redactPrivateKeys({ privateKey: { d: KEY_BODY, crv: 'P-384' } });

    expect(result).toEqual({ value: { privateKey: REDACTED }, found: true });
  });

  it('does not count an empty or null key property as a leak', () => {
    expect(redactPrivateKeys({ privateKey: null, private_key: '' })).toEqual({
      value: { privateKey: null, private_key: '' },
      found: false,
    });
  });

  it('does not take properties that merely mention a key for key material', () => {
    const reported = { keyAlgorithm: 'ECDSA', privateKeyStorage: 'tpm', publicKeyPem: 'x' };

    expect(redactPrivateKeys(reported)).toEqual({ value: reported, found: false });
  });

  it('returns a copy and leaves the value it was given alone', () => {
    const reported = { certificate: { pem: pemBlock('PRIVATE KEY') }, privateKey: KEY_BODY };
    const before = structuredClone(reported);

    const result = redactPrivateKeys(reported);

    expect(reported).toEqual(before);
    expect(result.value).not.toBe(reported);
  });

  it('passes scalars through', () => {
    expect(redactPrivateKeys(42)).toEqual({ value: 42, found: false });
    expect(redactPrivateKeys(null)).toEqual({ value: null, found: false });
    expect(redactPrivateKeys(pemBlock('PRIVATE KEY'))).toEqual({
      value: `${REDACTED}\n`,
      found: true,
    });
  });
});

/** Real keys of every type, generated once: the forms below are all the same few keys. */
const KEYS = Object.fromEntries(KEY_TYPES.map((type) => [type, privateKeyOfType(type)]));
const ASN1_KEYS = [KEYS['RSA']!, KEYS['EC P-256']!, KEYS['EC P-384']!, KEYS['Ed25519']!];

/** Whatever is left after redaction must not hold the key's secret, in any encoding. */
function expectNoSecret(kept: unknown, key: KeyUnderTest) {
  const text = typeof kept === 'string' ? kept : JSON.stringify(kept);
  for (const encoded of [
    key.secret.toString('base64'),
    key.secret.toString('base64url'),
    key.secret.toString('hex'),
    key.bytes.toString('base64').slice(40, 80),
  ]) {
    expect(text).not.toContain(encoded.slice(4, 28));
  }
}

const hexWithColons = (bytes: Buffer) => bytes.toString('hex').replace(/(..)(?=.)/g, '$1:');

describe('recognising a private key by its structure, whatever its wrapping', () => {
  const forms: [string, (key: KeyUnderTest) => string][] = [
    ['PKCS#8 PEM', (key) => key.text],
    ['PEM written with CRLF line ends', (key) => key.text.replace(/\n/g, '\r\n')],
    ["OpenSSL's traditional PEM", (key) => key.traditional ?? key.text],
    ['unarmoured base64 DER', (key) => key.bytes.toString('base64')],
    [
      'unarmoured base64 DER in lines',
      (key) => key.bytes.toString('base64').replace(/(.{64})/g, '$1\n'),
    ],
    ['base64url DER without padding', (key) => key.bytes.toString('base64url')],
    ['hex DER', (key) => key.bytes.toString('hex')],
    ['hex DER with colons', (key) => hexWithColons(key.bytes)],
    ['its DER inside a CERTIFICATE label', (key) => key.inCertificateLabel],
    ['its DER inside a PUBLIC KEY label', (key) => armour('PUBLIC KEY', key.bytes)],
    ['PEM with a lowercase label', (key) => key.text.replace(/PRIVATE KEY/g, 'private key')],
    [
      'PEM in JSON text with the label written as \\u0050RIVATE',
      (key) => JSON.stringify({ pem: key.text }).replace(/PRIVATE/g, '\\u0050RIVATE'),
    ],
    ['the PEM text base64-encoded', (key) => Buffer.from(key.text).toString('base64')],
    ['the PEM text percent-encoded', (key) => encodeURIComponent(key.text)],
    ['its bytes as a list of numbers', (key) => [...key.bytes].join(',')],
    ['its DER after some words', (key) => `backup: ${key.bytes.toString('base64')} (do not share)`],
  ];

  describe.each(ASN1_KEYS.map((key) => [key.type, key] as const))('a %s key', (_type, key) => {
    it.each(forms)('is found as %s', (_form, wrap) => {
      expect(containsPrivateKeyMaterial(wrap(key))).toBe(true);
    });

    it.each(forms)('is redacted as %s, leaving nothing of the secret', (_form, wrap) => {
      const result = redactPrivateKeys({ note: wrap(key) });

      expect(result.found).toBe(true);
      expectNoSecret(result.value, key);
    });

    it('is found when encrypted (PKCS#8 EncryptedPrivateKeyInfo, unarmoured)', () => {
      const encrypted = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
        type: 'pkcs8',
        format: 'der',
        cipher: 'aes-256-cbc',
        passphrase: 'device-0001',
      });

      expect(containsPrivateKeyMaterial(encrypted.toString('base64'))).toBe(true);
    });
  });

  describe('an OpenPGP secret key', () => {
    const pgp = KEYS['PGP']!;

    it.each([
      ['its armoured block', pgp.text],
      ['its packets in base64, without armour', pgp.bytes.toString('base64')],
      ['its packets inside a CERTIFICATE label', pgp.inCertificateLabel],
      [
        'its block in JSON text with an escaped label',
        JSON.stringify(pgp.text).replace('PRIVATE', '\\u0050RIVATE'),
      ],
    ])('is found as %s', (_form, text) => {
      expect(containsPrivateKeyMaterial(text)).toBe(true);
      expectNoSecret(redactPrivateKeys({ note: text }).value, pgp);
    });
  });

  describe('an OpenSSH private key', () => {
    const openssh = Buffer.concat([
      Buffer.from('openssh-key-v1\0'),
      Buffer.from('0000000a6165733235362d637472', 'hex'),
      Buffer.alloc(64, 7),
    ]);

    it('is found in base64 without its armour', () => {
      expect(containsPrivateKeyMaterial(openssh.toString('base64'))).toBe(true);
    });
  });

  describe('a JWK', () => {
    const jwk = KEYS['JWK']!.value as Record<string, string>;

    it('is found by its private member, and only that member is redacted', () => {
      const result = redactPrivateKeys({ certificate: { jwk } });

      expect(result.found).toBe(true);
      expect(result.value).toEqual({ certificate: { jwk: { ...jwk, d: REDACTED } } });
    });

    it('is found when an RSA key has its private members (d, p, q, dp, dq, qi)', () => {
      const rsa = KEYS['RSA']!;
      const rsaJwk = createPublicKey(rsa.text).export({ format: 'jwk' });
      const privateJwk = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
        format: 'jwk',
      });

      const result = redactPrivateKeys(privateJwk);

      expect(result.found).toBe(true);
      expect(result.value).toMatchObject({ kty: 'RSA', n: privateJwk.n, e: privateJwk.e });
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
        expect((result.value as Record<string, unknown>)[member]).toBe(REDACTED);
      }
      expect(redactPrivateKeys(rsaJwk).found).toBe(false);
    });

    it.each([
      ['JSON text', () => JSON.stringify(jwk)],
      ['JSON text inside JSON text', () => JSON.stringify({ tls: JSON.stringify(jwk) })],
      ['base64 of its JSON', () => Buffer.from(JSON.stringify(jwk)).toString('base64')],
      [
        'JSON text with its member names escaped, cut short',
        () => JSON.stringify(jwk).replace('"d":', '"\\u0064":').slice(0, -1),
      ],
    ])('is found as %s', (_form, text) => {
      expect(containsPrivateKeyMaterial(text())).toBe(true);
      expectNoSecret(redactPrivateKeys({ note: text() }).value, KEYS['JWK']!);
    });
  });

  describe('where it sits in a value', () => {
    const key = KEYS['EC P-256']!;

    it('redacts a key used as a property name, and keeps the value', () => {
      const result = redactPrivateKeys({ reported: { [key.text]: 'installed' } });

      expect(result.found).toBe(true);
      expect(result.value).toEqual({ reported: { [`${REDACTED}\n`]: 'installed' } });
    });

    it('keeps two redacted property names apart', () => {
      const other = KEYS['EC P-384']!;
      const result = redactPrivateKeys({ [key.text]: 1, [other.text]: 2 });

      expect(Object.values(result.value)).toEqual([1, 2]);
      expectNoSecret(Object.keys(result.value).join(), key);
    });

    it("finds a key in Node's serialized-Buffer form", () => {
      const serialized = JSON.parse(JSON.stringify(Buffer.from(key.text))) as unknown;

      const result = redactPrivateKeys({ body: serialized });

      expect(result).toEqual({ value: { body: REDACTED }, found: true });
    });

    it('finds key bytes in a Uint8Array', () => {
      expect(redactPrivateKeys([new Uint8Array(key.bytes)])).toEqual({
        value: [REDACTED],
        found: true,
      });
    });

    it('redacts inside JSON text and keeps the text JSON', () => {
      const text = JSON.stringify({
        firmware: '1.2.3',
        tls: { key: key.bytes.toString('base64') },
      });

      const result = redactPrivateKeys(text);

      expect(result.found).toBe(true);
      expect(JSON.parse(result.value)).toEqual({ firmware: '1.2.3', tls: { key: REDACTED } });
    });

    it('cuts only the key out of surrounding text', () => {
      const text = `backup: ${key.bytes.toString('base64')} (do not share)`;

      expect(redactPrivateKeyBlocks(text)).toBe(`backup: ${REDACTED} (do not share)`);
    });

    it('cuts a key with an escaped label out of text that is not JSON', () => {
      const text = `{"pem": ${JSON.stringify(key.text).replace(/PRIVATE/g, '\\u0050RIVATE')}`;

      expect(redactPrivateKeys(text)).toEqual({ value: `{"pem": "${REDACTED}\\n"`, found: true });
    });

    it('replaces the whole text when the key cannot be cut out of it', () => {
      const text = `upload failed: https://backup.contoso.example/?key=${encodeURIComponent(key.text)}`;

      expect(redactPrivateKeys(text)).toEqual({ value: REDACTED, found: true });
    });
  });
});

describe('not taking public material for private', () => {
  let leaf: IssuedLeaf;
  let csrPem: string;
  let csrDer: Buffer;

  beforeAll(async () => {
    const pki = await aPki();
    leaf = await pki.leaf('thermostat-0001').validFrom('2026-11-01T00:00:00Z').issue();
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=thermostat-0001',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    csrPem = csr.toString('pem');
    csrDer = Buffer.from(csr.rawData);
  });

  it('leaves a certificate chain alone, armoured or not', () => {
    const der = Buffer.from(leaf.certificate.rawData);

    for (const text of [leaf.pem, der.toString('base64'), der.toString('hex')]) {
      expect(containsPrivateKeyMaterial(text)).toBe(false);
    }
  });

  it('leaves a certificate signing request alone', () => {
    expect(containsPrivateKeyMaterial(csrPem)).toBe(false);
    expect(containsPrivateKeyMaterial(csrDer.toString('base64'))).toBe(false);
  });

  it.each(ASN1_KEYS.map((key) => [key.type, key] as const))(
    'leaves the public half of a %s key alone, in PEM, DER and JWK',
    (_type, key) => {
      const publicKey = createPublicKey(key.text);
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const jwk = publicKey.export({ format: 'jwk' });

      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;

      expect(containsPrivateKeyMaterial(pem)).toBe(false);
      expect(containsPrivateKeyMaterial(spki.toString('base64'))).toBe(false);
      expect(redactPrivateKeys({ jwk })).toEqual({ value: { jwk }, found: false });
      expect(containsPrivateKeyMaterial(JSON.stringify(jwk))).toBe(false);
    },
  );

  it("leaves an RSA public key in PKCS#1's RSA PUBLIC KEY form alone", () => {
    const pkcs1 = createPublicKey(KEYS['RSA']!.text).export({
      type: 'pkcs1',
      format: 'pem',
    }) as string;

    expect(containsPrivateKeyMaterial(pkcs1)).toBe(false);
  });

  it('leaves an OpenPGP public key block alone', () => {
    expect(containsPrivateKeyMaterial(pgpPublicKeyBlock())).toBe(false);
  });

  it('finds nothing in 6,000 random strings in base64, base64url and hex', () => {
    let seed = 20261101;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const flagged: string[] = [];
    for (let i = 0; i < 2_000; i += 1) {
      const bytes = Buffer.from(
        Array.from({ length: 16 + (random() % 600) }, () => random() & 255),
      );
      for (const text of [
        bytes.toString('base64'),
        bytes.toString('base64url'),
        bytes.toString('hex'),
      ]) {
        if (containsPrivateKeyMaterial(text)) flagged.push(text);
      }
    }

    expect(flagged).toEqual([]);
  });

  it('finds nothing in a certificate thumbprint whose bytes begin like an OpenPGP secret key packet', () => {
    // 0xC5 (new-format tag 5), length 23, version 3 and, seven bytes on, algorithm 3 (RSA): a
    // real SHA-256 thumbprint of a device certificate, once redacted as a key.
    const thumbprint = 'C51703E05674EED9DB033264B8E0A4EF399F02A2DBD3825CE0FED1E0EB384C5D';

    expect(containsPrivateKeyMaterial(thumbprint)).toBe(false);
    expect(containsPrivateKeyMaterial(thumbprint.toLowerCase())).toBe(false);
    expect(redactPrivateKeys({ certificate: { thumbprint } }).value).toEqual({
      certificate: { thumbprint },
    });
  });

  it.each([4, 6])(
    'finds a version %i OpenPGP secret key packet holding a raw Ed25519 key (RFC 9580)',
    (version) => {
      const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
      const x = Buffer.from(jwk.x!, 'base64url');
      const d = Buffer.from(jwk.d!, 'base64url');
      const materialLength = version === 6 ? [0, 0, 0, 32] : [];
      const checksum = version === 6 ? [] : [0, 0];
      const body = Buffer.concat([
        Buffer.from([version, 0x6a, 0x00, 0x00, 0x00, 27, ...materialLength]),
        x,
        Buffer.from([0]),
        d,
        Buffer.from(checksum),
      ]);
      const packet = Buffer.concat([Buffer.from([0xc5, body.length]), body]);

      expect(containsPrivateKeyMaterial(packet.toString('base64'))).toBe(true);
      expect(containsPrivateKeyMaterial(packet.toString('hex'))).toBe(true);
    },
  );

  it('finds nothing in thumbprint-sized noise that starts with an OpenPGP secret key header', () => {
    // Every header form of tags 5 and 7, every version and algorithm byte, then bytes of a hash:
    // the first bytes match, but no complete packet with a real public key follows.
    const headers = [0xc5, 0xc7, 0x94, 0x95, 0x9c, 0x9d];
    const algorithms = [1, 2, 3, 16, 17, 18, 19, 20, 22, 25, 26, 27, 28];
    const flagged: string[] = [];
    for (const header of headers) {
      for (const version of [3, 4, 5, 6]) {
        for (const algorithm of algorithms) {
          const bytes = createHash('sha256').update(`${header}/${version}/${algorithm}`).digest();
          bytes[0] = header;
          bytes[1] = 0x17;
          bytes[2] = version;
          bytes[version === 3 ? 9 : 7] = algorithm;
          for (const text of [bytes.toString('hex'), bytes.toString('hex').toUpperCase()]) {
            if (containsPrivateKeyMaterial(text)) flagged.push(text);
          }
        }
      }
    }

    expect(flagged).toEqual([]);
  });

  it('finds nothing in the recorded IoT Hub events and the OpenSSL certificates of the fixtures', () => {
    const fixtures = join(__dirname, '../fixtures');
    const lines = readFileSync(join(fixtures, 'iothub-events.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    const certificates = ['device-rsa', 'device-p384', 'issuing-ca', 'root-ca'].map((name) =>
      readFileSync(join(fixtures, 'openssl', `${name}.pem`), 'utf8'),
    );

    const found = [...lines, ...certificates].filter(containsPrivateKeyMaterial);

    expect(lines).toHaveLength(12);
    expect(found).toEqual([]);
  });
});

describe('private keys in hostile nesting', () => {
  const key = KEYS['Ed25519']!;

  it('finds a key in JSON text nested too deep to read as JSON, and keeps none of it', () => {
    let deep: unknown = key.text;
    for (let i = 0; i < 100; i += 1) deep = [deep];
    const text = JSON.stringify(deep);

    const result = redactPrivateKeys({ note: text });

    expect(containsPrivateKeyMaterial(text)).toBe(true);
    expect(result.found).toBe(true);
    expectNoSecret(result.value, key);
  });

  it('finds a key in strings inside strings, eight deep', () => {
    let text = JSON.stringify({ key: key.text.replace('PRIVATE', '\\u0050RIVATE') });
    for (let i = 0; i < 8; i += 1) text = JSON.stringify({ wrapped: text });

    expect(containsPrivateKeyMaterial(text)).toBe(true);
    expectNoSecret(redactPrivateKeys({ note: text }).value, key);
  });
});
