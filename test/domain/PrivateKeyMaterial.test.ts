import {
  REDACTED,
  containsPrivateKeyBlock,
  redactPrivateKeyBlocks,
  redactPrivateKeys,
} from '../../shared/domain/PrivateKeyMaterial';

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

    expect(containsPrivateKeyBlock(text)).toBe(true);
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

    expect(containsPrivateKeyBlock(text)).toBe(false);
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
