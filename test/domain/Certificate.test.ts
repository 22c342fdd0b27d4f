import {
  CertificateFacts,
  CertificateIdentity,
  certificateIdentity,
  commonNameOf,
  normalizeHex,
  normalizeSerial,
  sameCertificate,
  sameDistinguishedName,
  sameInstant,
  serialFromDerOctets,
} from '../../shared/domain/Certificate';

const SHA256_A = 'A'.repeat(64);
const SHA256_B = 'B'.repeat(64);
const SHA1_A = '1'.repeat(40);
const SHA1_B = '2'.repeat(40);

function anIdentity(overrides: Partial<CertificateIdentity> = {}): CertificateIdentity {
  return {
    validFrom: '2026-11-01T00:00:00.000Z',
    validUntil: '2026-12-01T00:00:00.000Z',
    ...overrides,
  };
}

describe('sameCertificate', () => {
  it('decides on the SHA-256 thumbprints when both carry one, whatever else differs', () => {
    const a = anIdentity({ thumbprintSha256: SHA256_A, thumbprintSha1: SHA1_A });

    expect(
      sameCertificate(a, anIdentity({ thumbprintSha256: SHA256_A, thumbprintSha1: SHA1_B })),
    ).toBe(true);
    expect(
      sameCertificate(a, anIdentity({ thumbprintSha256: SHA256_B, thumbprintSha1: SHA1_A })),
    ).toBe(false);
  });

  it('falls back to SHA-1 when only one side has a SHA-256 thumbprint', () => {
    const a = anIdentity({ thumbprintSha256: SHA256_A, thumbprintSha1: SHA1_A });

    expect(sameCertificate(a, anIdentity({ thumbprintSha1: SHA1_A, serialNumber: '99' }))).toBe(
      true,
    );
    expect(sameCertificate(a, anIdentity({ thumbprintSha1: SHA1_B }))).toBe(false);
  });

  it('compares thumbprints before the validity window', () => {
    const a = anIdentity({ thumbprintSha1: SHA1_A });

    expect(sameCertificate(a, anIdentity({ thumbprintSha1: SHA1_B }))).toBe(false);
  });

  it('falls back to serial, validUntil and issuer without thumbprints', () => {
    const a = anIdentity({ serialNumber: '1001', issuer: 'CN=Contoso Issuing CA, O=Contoso' });

    expect(
      sameCertificate(
        a,
        anIdentity({
          serialNumber: '1001',
          issuer: 'O=Contoso,CN=Contoso Issuing CA',
          validFrom: '2026-10-31T00:00:00.000Z',
        }),
      ),
    ).toBe(true);
    expect(sameCertificate(a, anIdentity({ serialNumber: '1002', issuer: a.issuer }))).toBe(false);
    expect(sameCertificate(a, anIdentity({ serialNumber: '1001', issuer: 'CN=Other CA' }))).toBe(
      false,
    );
    expect(
      sameCertificate(
        a,
        anIdentity({ serialNumber: '1001', validUntil: '2026-12-02T00:00:00.000Z' }),
      ),
    ).toBe(false);
  });

  it('accepts a serial match when only one side names the issuer', () => {
    expect(
      sameCertificate(
        anIdentity({ serialNumber: '1001', issuer: 'CN=Contoso Issuing CA' }),
        anIdentity({ serialNumber: '1001' }),
      ),
    ).toBe(true);
  });

  it('compares the validity window, to the second, when nothing stronger is known', () => {
    const a = anIdentity();

    expect(
      sameCertificate(
        a,
        anIdentity({ validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00.999Z' }),
      ),
    ).toBe(true);
    expect(sameCertificate(a, anIdentity({ validFrom: '2026-11-01T00:00:01Z' }))).toBe(false);
    expect(sameCertificate(a, anIdentity({ validUntil: '2026-12-01T00:00:01Z' }))).toBe(false);
  });

  it('uses the window when only one side carries a thumbprint or serial', () => {
    expect(
      sameCertificate(anIdentity({ thumbprintSha256: SHA256_A, serialNumber: '1' }), anIdentity()),
    ).toBe(true);
  });
});

describe('sameInstant', () => {
  it('treats timestamps within the same second as one instant', () => {
    expect(sameInstant('2026-11-01T00:00:00Z', '2026-11-01T01:00:00.500+01:00')).toBe(true);
    expect(sameInstant('2026-11-01T00:00:00.999Z', '2026-11-01T00:00:01.000Z')).toBe(false);
  });
});

describe('normalizeHex', () => {
  it('upper-cases hex and drops colons, dashes and spaces', () => {
    expect(normalizeHex('ab:cd-ef 01')).toBe('ABCDEF01');
  });

  it('refuses text that is not hex', () => {
    expect(normalizeHex('0x1A')).toBeUndefined();
    expect(normalizeHex('ghij')).toBeUndefined();
    expect(normalizeHex('')).toBeUndefined();
  });
});

describe('normalizeSerial', () => {
  it('compares serial numbers as integers: leading zeros and case do not matter', () => {
    expect(normalizeSerial('00:a1')).toBe('A1');
    expect(normalizeSerial('A1')).toBe('A1');
  });

  it('keeps a zero serial as 0', () => {
    expect(normalizeSerial('0000')).toBe('0');
  });

  it('refuses a serial that is not hex', () => {
    expect(normalizeSerial('serial-1')).toBeUndefined();
  });

  it('keeps the sign of a negative serial, as OpenSSL prints one (-05)', () => {
    expect(normalizeSerial('-5')).toBe('-5');
    expect(normalizeSerial('-05')).toBe('-5');
    expect(normalizeSerial(' -0x05 ')).toBe('-5');
    expect(normalizeSerial('-00:fb')).toBe('-FB');
  });

  it('has no negative zero', () => {
    expect(normalizeSerial('-0')).toBe('0');
  });

  it('refuses a sign anywhere but in front', () => {
    expect(normalizeSerial('5-')).toBe('5'); // a trailing separator, as before
    expect(normalizeSerial('--5')).toBeUndefined();
  });
});

describe('serialFromDerOctets', () => {
  it.each([
    ['a positive serial', '1001', '1001'],
    ['a positive serial padded with 00 to keep its high bit from being a sign', '00FB', 'FB'],
    ['a negative serial in two’s complement', 'FB', '-5'],
    ['minus one', 'FF', '-1'],
    ['the most negative one-byte serial', '80', '-80'],
    ['a long negative serial', 'FF00', '-100'],
    ['zero', '00', '0'],
  ])('reads %s (%s) as the signed integer a report names (%s)', (_what, octets, serial) => {
    expect(serialFromDerOctets(octets)).toBe(serial);
  });

  it('agrees with normalizeSerial, so a reported "-5" names the certificate whose serial is FB', () => {
    expect(serialFromDerOctets('fb')).toBe(normalizeSerial('-5'));
    expect(serialFromDerOctets('00fb')).toBe(normalizeSerial('fb'));
  });

  it('refuses what is not whole octets of hex', () => {
    expect(serialFromDerOctets('')).toBeUndefined();
    expect(serialFromDerOctets('ABC')).toBeUndefined();
    expect(serialFromDerOctets('zz')).toBeUndefined();
  });
});

describe('sameDistinguishedName', () => {
  it.each([
    ['another order', 'O=Contoso,CN=thermostat-0001'],
    ['OpenSSL slash notation', '/O=Contoso/CN=thermostat-0001'],
    ['lower-case attribute names', 'cn=thermostat-0001, o=Contoso'],
    ['extra spaces', '  CN = thermostat-0001 ,  O = Contoso '],
  ])('matches a name written in %s', (_how, other) => {
    expect(sameDistinguishedName('CN=thermostat-0001, O=Contoso', other)).toBe(true);
  });

  it('tells names with different values or attributes apart', () => {
    expect(
      sameDistinguishedName('CN=thermostat-0001, O=Contoso', 'CN=thermostat-0002, O=Contoso'),
    ).toBe(false);
    expect(sameDistinguishedName('CN=thermostat-0001, O=Contoso', 'CN=thermostat-0001')).toBe(
      false,
    );
    expect(sameDistinguishedName('CN=Contoso', 'O=Contoso')).toBe(false);
  });

  it('does not split a value at an escaped comma', () => {
    expect(sameDistinguishedName('CN=Smith\\, John,O=Contoso', 'O=Contoso, CN=Smith\\, John')).toBe(
      true,
    );
    expect(sameDistinguishedName('CN=Smith\\, John,O=Contoso', 'CN=Smith,CN=John,O=Contoso')).toBe(
      false,
    );
  });
});

describe('commonNameOf', () => {
  it('finds the CN wherever it is and however its attribute name is written', () => {
    expect(commonNameOf('O=Contoso, CN=thermostat-0001')).toBe('thermostat-0001');
    expect(commonNameOf('/O=Contoso/cn=thermostat-0001')).toBe('thermostat-0001');
  });

  it('keeps an escaped comma inside the CN and splits a multi-valued RDN at +', () => {
    expect(commonNameOf('CN=Smith\\, John, O=Contoso')).toBe('Smith\\, John');
    expect(commonNameOf('CN=thermostat-0001+serialNumber=42, O=Contoso')).toBe('thermostat-0001');
  });

  it('has none for a name without a CN, with two CNs, or no name', () => {
    expect(commonNameOf('O=Contoso, OU=Devices')).toBeUndefined();
    expect(commonNameOf('CN=a, CN=b')).toBeUndefined();
    expect(commonNameOf(undefined)).toBeUndefined();
    expect(commonNameOf('')).toBeUndefined();
  });
});

describe('certificateIdentity', () => {
  it('names a certificate by its identity only, leaving out how and when it was seen', () => {
    const facts: CertificateFacts = {
      source: 'pem',
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: '2026-12-01T00:00:00.000Z',
      thumbprintSha1: SHA1_A,
      thumbprintSha256: SHA256_A,
      serialNumber: '1001',
      subject: 'CN=thermostat-0001',
      issuer: 'CN=Contoso Issuing CA',
      commonName: 'thermostat-0001',
      keyAlgorithm: 'ECDSA P-384',
      publicKeySha256: 'C'.repeat(64),
      firstSeenAt: '2026-11-01T06:05:00.000Z',
      reportedVersion: 3,
    };

    expect(certificateIdentity(facts)).toEqual({
      validFrom: facts.validFrom,
      validUntil: facts.validUntil,
      thumbprintSha1: SHA1_A,
      thumbprintSha256: SHA256_A,
      serialNumber: '1001',
      subject: 'CN=thermostat-0001',
      issuer: 'CN=Contoso Issuing CA',
    });
  });

  it('leaves out what a field-only report did not say', () => {
    const identity = certificateIdentity({
      source: 'reported',
      validFrom: '2026-11-01T00:00:00.000Z',
      validUntil: '2026-12-01T00:00:00.000Z',
      firstSeenAt: '2026-11-01T06:05:00.000Z',
      reportedVersion: 1,
    });

    expect(Object.keys(identity).sort()).toEqual(['validFrom', 'validUntil']);
  });
});

describe('comparisons that follow X.509 rather than spelling', () => {
  it('treats distinguished names that differ only in the case of their values as the same', () => {
    expect(
      sameDistinguishedName('CN=Thermostat-0001, O=Contoso', 'o=contoso,cn=thermostat-0001'),
    ).toBe(true);
    expect(sameDistinguishedName('CN=thermostat-0001', 'CN=thermostat-0002')).toBe(false);
  });

  it('keeps the CN as written when reading it out of a name', () => {
    expect(commonNameOf('O=Contoso, CN=Thermostat-0001')).toBe('Thermostat-0001');
  });

  it('reads a serial number written with a 0x prefix', () => {
    expect(normalizeSerial('0x00A1')).toBe('A1');
  });

  it('does not call two reports the same certificate when the thumbprint matches but the dates do not', () => {
    const a = {
      thumbprintSha256: 'AB'.repeat(32),
      validFrom: '2026-11-01T00:00:00Z',
      validUntil: '2026-12-01T00:00:00Z',
    };
    expect(sameCertificate(a, { ...a })).toBe(true);
    expect(sameCertificate(a, { ...a, validUntil: '2026-12-31T00:00:00Z' })).toBe(false);
  });
});
