import {
  ReportValidation,
  ReportedCertificate,
  mergeCertificatePatch,
  pemsToInspect,
  toView,
  validateReportedCertificate,
} from '../../shared/domain/ReportedCertificate';

const LIMITS = { maxPemBytes: 64 };
const VALID_FROM = '2026-11-01T00:00:00.000Z';
const VALID_UNTIL = '2026-12-01T00:00:00.000Z';
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const validate = (value: unknown) => validateReportedCertificate(value, LIMITS);

function accepted(validation: ReportValidation): ReportedCertificate {
  if (!validation.ok) throw new Error(`expected a valid report: ${validation.problems.join('; ')}`);
  return validation.certificate;
}

function problemsOf(validation: ReportValidation): string[] {
  if (validation.ok) throw new Error('expected the report to be rejected');
  return validation.problems;
}

describe('validateReportedCertificate', () => {
  it('accepts Microsoft’s minimum: validFrom and validUntil', () => {
    expect(
      accepted(validate({ validFrom: '2026-11-01T00:00:00Z', validUntil: '2026-12-01T00:00:00Z' })),
    ).toEqual({ validFrom: VALID_FROM, validUntil: VALID_UNTIL });
  });

  it.each([
    ['an offset with a colon', '2026-11-01T01:00:00+01:00'],
    ['an offset without a colon', '2026-10-31T19:00:00-0500'],
    ['no seconds', '2026-11-01T00:00Z'],
    ['microseconds', '2026-11-01T00:00:00.000000Z'],
    ['lower-case t and z', '2026-11-01t00:00:00z'],
    ['surrounding spaces', ' 2026-11-01T00:00:00Z '],
  ])('normalizes an instant written with %s to UTC ISO 8601', (_how, validFrom) => {
    expect(accepted(validate({ validFrom, validUntil: VALID_UNTIL })).validFrom).toBe(VALID_FROM);
  });

  it('normalizes the thumbprint to upper-case hex without separators', () => {
    const sha1 = 'b6:fa:86:37:cf:48:6f:f2:3f:0f:39:5b:39:45:48:b5:02:a3:3a:dd';

    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, thumbprint: sha1 }))
        .thumbprint,
    ).toBe('B6FA8637CF486FF23F0F395B394548B502A33ADD');
  });

  it('accepts a SHA-256 thumbprint', () => {
    const sha256 = 'ab'.repeat(32);

    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, thumbprint: sha256 }))
        .thumbprint,
    ).toBe('AB'.repeat(32));
  });

  it('normalizes the serial number to hex without leading zeros', () => {
    expect(
      accepted(
        validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, serialNumber: '00:0a:1f' }),
      ).serialNumber,
    ).toBe('A1F');
  });

  it('keeps a validity from the year 0001 as 0001', () => {
    expect(
      accepted(validate({ validFrom: '0001-01-01T00:00:00Z', validUntil: VALID_UNTIL })).validFrom,
    ).toBe('0001-01-01T00:00:00.000Z');
  });

  it('keeps the sign of a negative serial, so "-5" names the certificate whose serial is -5', () => {
    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, serialNumber: '-5' }))
        .serialNumber,
    ).toBe('-5');
  });

  it('keeps the names and the PEM as reported, and drops fields the contract does not know', () => {
    const certificate = accepted(
      validate({
        validFrom: VALID_FROM,
        validUntil: VALID_UNTIL,
        issuer: '/O=Contoso/CN=Contoso Issuing CA',
        subject: 'CN=thermostat-0001',
        pem: PEM,
        firmware: '1.2.3',
      }),
    );

    expect(certificate).toEqual({
      validFrom: VALID_FROM,
      validUntil: VALID_UNTIL,
      issuer: '/O=Contoso/CN=Contoso Issuing CA',
      subject: 'CN=thermostat-0001',
      pem: PEM,
    });
  });

  it('treats a null optional field as absent', () => {
    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, thumbprint: null })),
    ).toEqual({ validFrom: VALID_FROM, validUntil: VALID_UNTIL });
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'certificate must be an object, got null'],
    ['a string', VALID_UNTIL, `certificate must be an object, got "${VALID_UNTIL}"`],
    ['an array', [VALID_FROM, VALID_UNTIL], 'certificate must be an object, got an array'],
    ['a number', 20261201, 'certificate must be an object, got number'],
  ])('rejects a certificate that is %s', (_what, value, problem) => {
    expect(problemsOf(validate(value))).toEqual([problem]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['validFrom is missing', { validUntil: VALID_UNTIL }, 'validFrom is missing'],
    ['validUntil is null', { validFrom: VALID_FROM, validUntil: null }, 'validUntil is missing'],
    [
      'validUntil has no zone',
      { validFrom: VALID_FROM, validUntil: '2026-12-01T00:00:00' },
      'validUntil must be an ISO 8601 timestamp with a zone, got "2026-12-01T00:00:00"',
    ],
    [
      'validUntil is only a date',
      { validFrom: VALID_FROM, validUntil: '2026-12-01' },
      'validUntil must be an ISO 8601 timestamp with a zone, got "2026-12-01"',
    ],
    [
      'validUntil is a local format',
      { validFrom: VALID_FROM, validUntil: '12/01/2026 00:00 UTC' },
      'validUntil must be an ISO 8601 timestamp with a zone, got "12/01/2026 00:00 UTC"',
    ],
    [
      'validUntil is an epoch number',
      { validFrom: VALID_FROM, validUntil: 1796083200 },
      'validUntil must be an ISO 8601 timestamp with a zone, got number',
    ],
    [
      'validUntil is a day that does not exist',
      { validFrom: VALID_FROM, validUntil: '2027-02-30T00:00:00Z' },
      'validUntil must be an ISO 8601 timestamp with a zone, got "2027-02-30T00:00:00Z"',
    ],
    [
      'validUntil equals validFrom',
      { validFrom: VALID_FROM, validUntil: '2026-11-01T01:00:00+01:00' },
      `validUntil (${VALID_FROM}) is not after validFrom (${VALID_FROM})`,
    ],
    [
      'validUntil is before validFrom',
      { validFrom: VALID_UNTIL, validUntil: VALID_FROM },
      `validUntil (${VALID_FROM}) is not after validFrom (${VALID_UNTIL})`,
    ],
    [
      'the thumbprint is a number',
      { validFrom: VALID_FROM, validUntil: VALID_UNTIL, thumbprint: 1234 },
      'thumbprint must be a string, got number',
    ],
    [
      'the subject is an object',
      { validFrom: VALID_FROM, validUntil: VALID_UNTIL, subject: { CN: 'x' } },
      'subject must be a string, got object',
    ],
    [
      'the thumbprint is not hex',
      { validFrom: VALID_FROM, validUntil: VALID_UNTIL, thumbprint: 'z'.repeat(40) },
      'thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest',
    ],
    [
      'the thumbprint has the wrong length',
      { validFrom: VALID_FROM, validUntil: VALID_UNTIL, thumbprint: 'AB'.repeat(16) },
      'thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest',
    ],
    [
      'the serial is not hex',
      { validFrom: VALID_FROM, validUntil: VALID_UNTIL, serialNumber: 'serial-1' },
      'serialNumber must be hex',
    ],
    [
      'the issuer is longer than 2048 bytes',
      { validFrom: VALID_FROM, validUntil: VALID_UNTIL, issuer: `CN=${'x'.repeat(2046)}` },
      'issuer is larger than 2048 bytes',
    ],
  ])('rejects a report when %s', (_what, value, problem) => {
    expect(problemsOf(validate(value))).toEqual([problem]);
  });

  it('names every problem of one report', () => {
    expect(
      problemsOf(
        validate({
          validUntil: 'tomorrow',
          thumbprint: 'abc',
          serialNumber: 7,
          pem: 'x'.repeat(65),
        }),
      ),
    ).toEqual([
      'validFrom is missing',
      'validUntil must be an ISO 8601 timestamp with a zone, got "tomorrow"',
      'serialNumber must be a string, got number',
      'pem is larger than 64 bytes',
      'thumbprint must be a SHA-1 (40) or SHA-256 (64) hex digest',
    ]);
  });

  it('shortens a long bad value in the problem it names', () => {
    const [problem] = problemsOf(validate({ validFrom: VALID_FROM, validUntil: 'y'.repeat(500) }));

    expect(problem).toBe(
      `validUntil must be an ISO 8601 timestamp with a zone, got "${'y'.repeat(40)}…"`,
    );
  });

  it('accepts a PEM of exactly the size limit and rejects one byte more', () => {
    const atLimit = 'x'.repeat(LIMITS.maxPemBytes);

    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, pem: atLimit })).pem,
    ).toBe(atLimit);
    expect(
      problemsOf(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, pem: `${atLimit}x` })),
    ).toEqual(['pem is larger than 64 bytes']);
  });

  it('counts the PEM size in UTF-8 bytes, not characters', () => {
    const pem = 'é'.repeat(33); // 33 characters, 66 bytes

    expect(problemsOf(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, pem }))).toEqual([
      'pem is larger than 64 bytes',
    ]);
  });
});

describe('validateReportedCertificate: the chain', () => {
  const DER_BASE64 = 'MIIBszCCATmgAwIBAgIUGh4=';

  it('accepts the chain as an array of PEM or base64 DER strings, as DPS issued it', () => {
    const chain = [DER_BASE64, PEM];

    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, pem: PEM, chain })).chain,
    ).toEqual(chain);
  });

  it('treats a null chain as absent (how a device removes it from its twin)', () => {
    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, chain: null })),
    ).toEqual({ validFrom: VALID_FROM, validUntil: VALID_UNTIL });
  });

  it.each<[string, unknown, string]>([
    ['a string', DER_BASE64, `chain must be an array of strings, got "${DER_BASE64}"`],
    ['an object', { 0: PEM }, 'chain must be an array of strings, got object'],
    ['an array holding a number', [PEM, 7], 'chain[1] must be a string, got number'],
    ['an array holding an empty string', [''], 'chain[0] is empty'],
    [
      'nine certificates',
      Array.from({ length: 9 }, () => DER_BASE64),
      'chain holds 9 certificates, more than 8',
    ],
  ])('rejects a chain that is %s', (_what, chain, problem) => {
    expect(
      problemsOf(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, pem: PEM, chain })),
    ).toEqual([problem]);
  });

  it('holds each chain string to the limit of one twin string, and names the one over it', () => {
    const atLimit = 'x'.repeat(LIMITS.maxPemBytes);

    expect(
      accepted(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, chain: [atLimit] }))
        .chain,
    ).toEqual([atLimit]);
    expect(
      problemsOf(
        validate({
          validFrom: VALID_FROM,
          validUntil: VALID_UNTIL,
          chain: [atLimit, `${atLimit}x`],
        }),
      ),
    ).toEqual(['chain[1] is larger than 64 bytes']);
  });
});

describe('validateReportedCertificate: the registration id', () => {
  it('keeps the DPS registration id the device reports', () => {
    expect(
      accepted(
        validate({
          validFrom: VALID_FROM,
          validUntil: VALID_UNTIL,
          registrationId: 'Line-7.Sensor_2',
        }),
      ).registrationId,
    ).toBe('Line-7.Sensor_2');
  });

  it.each([
    ['a character DPS does not allow', 'sensor/2'],
    ['a special character first', '-sensor'],
    ['a special character last', 'sensor:'],
    ['more than 128 characters', 'a'.repeat(129)],
  ])('rejects a registration id with %s', (_what, registrationId) => {
    expect(
      problemsOf(validate({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, registrationId })),
    ).toEqual([
      'registrationId must be a DPS registration id: up to 128 letters, digits and : . _ -, starting and ending with a letter or digit',
    ]);
  });
});

describe('pemsToInspect', () => {
  it('gives the leaf PEM and the chain the report carries', () => {
    expect(pemsToInspect({ pem: PEM, chain: ['QUJD'] }, LIMITS)).toEqual({
      pem: PEM,
      chain: ['QUJD'],
    });
    expect(pemsToInspect({ pem: PEM }, LIMITS)).toEqual({ pem: PEM, chain: [] });
  });

  it('gives nothing to inspect without a PEM, or with one the report will be rejected for', () => {
    expect(pemsToInspect({ chain: ['QUJD'] }, LIMITS)).toBeUndefined();
    expect(pemsToInspect({ pem: 'x'.repeat(65) }, LIMITS)).toBeUndefined();
    expect(pemsToInspect({ pem: PEM, chain: 'QUJD' }, LIMITS)).toBeUndefined();
    expect(pemsToInspect({ pem: PEM, chain: ['x'.repeat(65)] }, LIMITS)).toBeUndefined();
    expect(pemsToInspect(null, LIMITS)).toBeUndefined();
  });
});

describe('toView', () => {
  it('never keeps the PEM, only that there was one', () => {
    const view = toView({
      validFrom: VALID_FROM,
      validUntil: VALID_UNTIL,
      thumbprint: 'AB',
      pem: PEM,
    });

    expect(view).toEqual({
      validFrom: VALID_FROM,
      validUntil: VALID_UNTIL,
      thumbprint: 'AB',
      hadPem: true,
    });
    expect(JSON.stringify(view)).not.toContain('BEGIN CERTIFICATE');
  });

  it('never keeps the chain either', () => {
    const view = toView({
      validFrom: VALID_FROM,
      validUntil: VALID_UNTIL,
      pem: PEM,
      chain: [PEM, 'QUJD'],
    });

    expect(view).toEqual({ validFrom: VALID_FROM, validUntil: VALID_UNTIL, hadPem: true });
  });

  it('does not claim a PEM the report did not carry', () => {
    expect(toView({ validFrom: VALID_FROM, validUntil: VALID_UNTIL })).toEqual({
      validFrom: VALID_FROM,
      validUntil: VALID_UNTIL,
    });
  });
});

describe('mergeCertificatePatch', () => {
  const previous = {
    validFrom: VALID_FROM,
    validUntil: VALID_UNTIL,
    issuer: 'CN=Contoso Issuing CA',
    hadPem: true,
  };

  it('merges a patch into the fields known before', () => {
    expect(mergeCertificatePatch(previous, { validUntil: '2026-12-26T00:00:00Z' })).toEqual({
      validFrom: VALID_FROM,
      validUntil: '2026-12-26T00:00:00Z',
      issuer: 'CN=Contoso Issuing CA',
    });
  });

  it('removes a field the patch sets to null (RFC 7396)', () => {
    expect(mergeCertificatePatch(previous, { issuer: null })).toEqual({
      validFrom: VALID_FROM,
      validUntil: VALID_UNTIL,
    });
  });

  it('ignores IoT Hub’s $-prefixed metadata members', () => {
    expect(
      mergeCertificatePatch(undefined, { $lastUpdated: '2026-11-01T00:00:00Z', validFrom: 'x' }),
    ).toEqual({ validFrom: 'x' });
  });

  it('takes the patch as the whole object when nothing was known', () => {
    expect(mergeCertificatePatch(undefined, { validFrom: VALID_FROM, subject: null })).toEqual({
      validFrom: VALID_FROM,
    });
  });

  it('does not change the view it merges into', () => {
    const before = structuredClone(previous);

    mergeCertificatePatch(previous, { issuer: null, validFrom: 'x' });

    expect(previous).toEqual(before);
  });
});
