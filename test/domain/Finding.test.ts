import { CertificateFacts } from '../../shared/domain/Certificate';
import {
  CERTIFICATE_FINDINGS,
  CertificateCheckInput,
  FindingCode,
  certificateFindings,
  finding,
} from '../../shared/domain/Finding';
import { ReportedCertificate } from '../../shared/domain/ReportedCertificate';

const DEVICE = 'thermostat-0001';
const VALID_FROM = '2026-11-01T00:00:00.000Z';
const VALID_UNTIL = '2026-12-01T00:00:00.000Z';
const REPORTED_AT = '2026-11-01T06:05:00.000Z';
const SHA1 = '1'.repeat(40);
const SHA256 = 'A'.repeat(64);

/** Facts proved by a PEM whose CN is the device id. */
function pemFacts(overrides: Partial<CertificateFacts> = {}): CertificateFacts {
  return {
    source: 'pem',
    validFrom: VALID_FROM,
    validUntil: VALID_UNTIL,
    thumbprintSha1: SHA1,
    thumbprintSha256: SHA256,
    serialNumber: '1001',
    subject: `CN=${DEVICE}, O=Contoso`,
    issuer: 'CN=Contoso Issuing CA, O=Contoso',
    commonName: DEVICE,
    firstSeenAt: REPORTED_AT,
    reportedVersion: 1,
    ...overrides,
  };
}

/** Facts known only from reported fields. */
function reportedFacts(overrides: Partial<CertificateFacts> = {}): CertificateFacts {
  return {
    source: 'reported',
    validFrom: VALID_FROM,
    validUntil: VALID_UNTIL,
    firstSeenAt: REPORTED_AT,
    reportedVersion: 1,
    ...overrides,
  };
}

function aCheck(
  reported: Partial<ReportedCertificate> = {},
  facts: CertificateFacts = pemFacts(),
  overrides: Partial<CertificateCheckInput> = {},
): CertificateCheckInput {
  return {
    deviceId: DEVICE,
    reported: { validFrom: VALID_FROM, validUntil: VALID_UNTIL, ...reported },
    facts,
    chain: { status: 'trusted', anchor: 'CN=Contoso Root CA' },
    reportedAt: REPORTED_AT,
    reportedVersion: 7,
    ...overrides,
  };
}

const codes = (input: CertificateCheckInput): FindingCode[] =>
  certificateFindings(input).map((f) => f.code);

describe('certificateFindings', () => {
  it('finds nothing wrong with a trusted certificate whose fields agree with its PEM', () => {
    expect(
      certificateFindings(
        aCheck({
          thumbprint: SHA256,
          serialNumber: '1001',
          subject: `CN=${DEVICE}, O=Contoso`,
          issuer: 'CN=Contoso Issuing CA, O=Contoso',
        }),
      ),
    ).toEqual([]);
  });

  describe('reported fields against the PEM', () => {
    it.each<[string, Partial<ReportedCertificate>]>([
      ['validFrom', { validFrom: '2026-11-02T00:00:00.000Z' }],
      ['validUntil', { validUntil: '2026-12-02T00:00:00.000Z' }],
      ['thumbprint', { thumbprint: '2'.repeat(40) }],
      ['thumbprint', { thumbprint: 'B'.repeat(64) }],
      ['serialNumber', { serialNumber: '1002' }],
      ['issuer', { issuer: 'CN=Fabrikam CA' }],
      ['subject', { subject: 'CN=thermostat-0002, O=Contoso' }],
    ])('reports a %s that disagrees with the certificate', (field, reported) => {
      expect(certificateFindings(aCheck(reported))).toEqual([
        {
          code: 'reported-field-mismatch',
          severity: 'warning',
          message: `reported ${field} disagrees with the certificate`,
          detectedAt: REPORTED_AT,
          reportedVersion: 7,
        },
      ]);
    });

    it('names every field that disagrees in one finding', () => {
      const [mismatch] = certificateFindings(
        aCheck({ validFrom: '2026-10-01T00:00:00.000Z', serialNumber: '1002' }),
      );

      expect(mismatch?.message).toBe(
        'reported validFrom, serialNumber disagree with the certificate',
      );
    });

    it.each([
      ['another order', 'O=Contoso, CN=thermostat-0001', 'O=Contoso,CN=Contoso Issuing CA'],
      ['slash notation', '/O=Contoso/CN=thermostat-0001', '/O=Contoso/CN=Contoso Issuing CA'],
      ['lower-case attributes', 'cn=thermostat-0001,o=Contoso', 'cn=Contoso Issuing CA,o=Contoso'],
    ])('does not see a mismatch in names written in %s', (_how, subject, issuer) => {
      expect(certificateFindings(aCheck({ subject, issuer }))).toEqual([]);
    });

    it('does not see a mismatch in a validity written without milliseconds', () => {
      expect(
        certificateFindings(
          aCheck({ validFrom: '2026-11-01T00:00:00.400Z', validUntil: '2026-12-01T00:00:00.999Z' }),
        ),
      ).toEqual([]);
    });

    it('compares a SHA-1 thumbprint with the SHA-1 and a SHA-256 one with the SHA-256', () => {
      expect(certificateFindings(aCheck({ thumbprint: SHA1 }))).toEqual([]);
      expect(certificateFindings(aCheck({ thumbprint: SHA256 }))).toEqual([]);
    });

    it('has nothing to compare when the facts come from the reported fields', () => {
      expect(
        codes(aCheck({ serialNumber: '1002' }, reportedFacts({ serialNumber: '1001' }))),
      ).toEqual([]);
    });
  });

  describe('the common name', () => {
    it('matches the device id case-insensitively, as DPS registration ids do', () => {
      expect(codes(aCheck({}, pemFacts({ commonName: 'THERMOSTAT-0001' })))).toEqual([]);
    });

    it('is a critical finding when it is not the device id', () => {
      expect(certificateFindings(aCheck({}, pemFacts({ commonName: 'thermostat-0002' })))).toEqual([
        expect.objectContaining({
          code: 'common-name-mismatch',
          severity: 'critical',
          message: 'certificate CN "thermostat-0002" is not the device id "thermostat-0001"',
        }),
      ]);
    });

    it('is read from the subject when the facts carry no commonName', () => {
      expect(
        codes(aCheck({}, reportedFacts({ subject: 'O=Contoso, CN=thermostat-0002' }))),
      ).toEqual(['common-name-mismatch']);
      expect(codes(aCheck({}, reportedFacts({ subject: `O=Contoso, CN=${DEVICE}` })))).toEqual([]);
    });

    it('is a finding when the certificate subject has no CN', () => {
      const expected = [
        expect.objectContaining({
          code: 'common-name-mismatch',
          message: 'the certificate subject has no single CN',
        }),
      ];

      expect(
        certificateFindings(
          aCheck({}, pemFacts({ subject: 'O=Contoso, OU=Devices', commonName: undefined })),
        ),
      ).toEqual(expected);
      expect(certificateFindings(aCheck({}, reportedFacts({ subject: 'O=Contoso' })))).toEqual(
        expected,
      );
    });

    it('is not checked when a device reported no subject and no PEM', () => {
      expect(codes(aCheck({}, reportedFacts()))).toEqual([]);
    });

    it('matches the registration id the device reports, which a DPS enrollment may map to another device id', () => {
      expect(
        codes(
          aCheck({ registrationId: 'line7-sensor-2' }, pemFacts({ commonName: 'LINE7-sensor-2' })),
        ),
      ).toEqual([]);
    });

    it('names the registration id when the CN is not the one the device reports', () => {
      expect(
        certificateFindings(
          aCheck({ registrationId: 'line7-sensor-2' }, pemFacts({ commonName: DEVICE })),
        ),
      ).toEqual([
        expect.objectContaining({
          code: 'common-name-mismatch',
          message: `certificate CN "${DEVICE}" is not the registration id "line7-sensor-2"`,
        }),
      ]);
    });

    it('takes the severity the operator set for a mismatch (CERTFLEET_CN_MISMATCH_SEVERITY)', () => {
      const [mismatch] = certificateFindings(
        aCheck({}, pemFacts({ commonName: 'thermostat-0002' }), {
          severities: { 'common-name-mismatch': 'warning' },
        }),
      );

      expect(mismatch).toMatchObject({ code: 'common-name-mismatch', severity: 'warning' });
    });
  });

  describe('a whole twin whose PEM disagrees with its reported dates', () => {
    const STALE_PEM = { validFrom: VALID_FROM, validUntil: VALID_UNTIL };
    const RENEWED = {
      validFrom: '2026-11-26T00:00:00.000Z',
      validUntil: '2026-12-26T00:00:00.000Z',
    };

    it('is a warning naming both validities and what was recorded, instead of a silent choice', () => {
      expect(
        certificateFindings(
          aCheck(RENEWED, pemFacts(), {
            pemDatesConflict: { pem: STALE_PEM, reported: RENEWED, recorded: 'pem' },
          }),
        ),
      ).toEqual([
        {
          code: 'pem-disagrees-with-dates',
          severity: 'warning',
          message:
            'the twin’s pem is valid 2026-11-01T00:00:00.000Z to 2026-12-01T00:00:00.000Z but its reported dates say 2026-11-26T00:00:00.000Z to 2026-12-26T00:00:00.000Z (a pem the device stopped sending stays in the twin until it reports "pem": null); recorded the pem’s certificate',
          detectedAt: REPORTED_AT,
          reportedVersion: 7,
        },
      ]);
    });

    it('replaces the field mismatch about the dates, and still names other fields', () => {
      expect(
        certificateFindings(
          aCheck({ ...RENEWED, serialNumber: '1002' }, pemFacts(), {
            pemDatesConflict: { pem: STALE_PEM, reported: RENEWED, recorded: 'pem' },
          }),
        ).map((f) => [f.code, f.message.slice(0, 40)]),
      ).toEqual([
        ['reported-field-mismatch', 'reported serialNumber disagrees with the'],
        ['pem-disagrees-with-dates', 'the twin’s pem is valid 2026-11-01T00:00'],
      ]);
    });

    it('belongs to the current certificate: a new report replaces it', () => {
      expect(CERTIFICATE_FINDINGS).toContain('pem-disagrees-with-dates');
    });
  });

  describe('the chain', () => {
    it('is a critical finding when it does not verify to the trust bundle', () => {
      expect(
        certificateFindings(
          aCheck({}, pemFacts(), { chain: { status: 'untrusted', reason: 'unknown issuer' } }),
        ),
      ).toEqual([
        expect.objectContaining({
          code: 'chain-untrusted',
          severity: 'critical',
          message: 'chain does not verify to the trust bundle: unknown issuer',
        }),
      ]);
    });

    it('is no finding when no trust bundle was configured or no PEM was sent', () => {
      expect(codes(aCheck({}, pemFacts(), { chain: { status: 'not-checked' } }))).toEqual([]);
      expect(codes(aCheck({}, pemFacts(), { chain: undefined }))).toEqual([]);
    });
  });

  describe('validity when reported', () => {
    it('warns about a certificate reported before it is valid', () => {
      expect(
        certificateFindings(aCheck({}, pemFacts(), { reportedAt: '2026-10-31T23:59:59.000Z' })),
      ).toEqual([
        expect.objectContaining({
          code: 'not-yet-valid-when-reported',
          severity: 'warning',
          detectedAt: '2026-10-31T23:59:59.000Z',
        }),
      ]);
    });

    it('is a critical finding for a certificate reported after it expired', () => {
      expect(
        certificateFindings(aCheck({}, pemFacts(), { reportedAt: '2026-12-01T00:00:01.000Z' })),
      ).toEqual([
        expect.objectContaining({
          code: 'expired-when-reported',
          severity: 'critical',
          message: `certificate expired at ${VALID_UNTIL}, before it was reported (2026-12-01T00:00:01.000Z)`,
        }),
      ]);
    });

    it('takes the validity as inclusive at both ends (RFC 5280 4.1.2.5)', () => {
      expect(codes(aCheck({}, pemFacts(), { reportedAt: VALID_FROM }))).toEqual([]);
      expect(codes(aCheck({}, pemFacts(), { reportedAt: VALID_UNTIL }))).toEqual([]);
    });

    it('checks the facts, not the reported fields', () => {
      expect(
        codes(
          aCheck({ validUntil: '2027-01-01T00:00:00.000Z' }, pemFacts(), {
            reportedAt: '2026-12-15T00:00:00.000Z',
          }),
        ),
      ).toEqual(['reported-field-mismatch', 'expired-when-reported']);
    });
  });

  it('reports every problem of one certificate, in check order', () => {
    expect(
      codes(
        aCheck({ serialNumber: '1002' }, pemFacts({ commonName: 'other' }), {
          chain: { status: 'untrusted', reason: 'self-signed' },
          reportedAt: '2027-01-01T00:00:00.000Z',
        }),
      ),
    ).toEqual([
      'reported-field-mismatch',
      'common-name-mismatch',
      'chain-untrusted',
      'expired-when-reported',
    ]);
  });
});

describe('finding', () => {
  it.each<[FindingCode, string]>([
    ['reported-field-mismatch', 'warning'],
    ['common-name-mismatch', 'critical'],
    ['chain-untrusted', 'critical'],
    ['not-yet-valid-when-reported', 'warning'],
    ['expired-when-reported', 'critical'],
    ['private-key-reported', 'critical'],
    ['invalid-certificate-report', 'warning'],
    ['pem-disagrees-with-dates', 'warning'],
  ])('gives %s the severity %s', (code, severity) => {
    expect(finding(code, 'm', REPORTED_AT).severity).toBe(severity);
  });

  it('takes a severity the operator set over the default', () => {
    expect(
      finding('common-name-mismatch', 'm', REPORTED_AT, 1, { 'common-name-mismatch': 'warning' })
        .severity,
    ).toBe('warning');
    expect(
      finding('chain-untrusted', 'm', REPORTED_AT, 1, { 'common-name-mismatch': 'warning' })
        .severity,
    ).toBe('critical');
  });

  it('leaves out the reported version when there is none', () => {
    expect(finding('chain-untrusted', 'm', REPORTED_AT)).not.toHaveProperty('reportedVersion');
    expect(finding('chain-untrusted', 'm', REPORTED_AT, 0).reportedVersion).toBe(0);
  });

  it('counts a leaked private key as sticky, not as a fact of the current certificate', () => {
    expect(CERTIFICATE_FINDINGS).not.toContain('private-key-reported');
    expect(CERTIFICATE_FINDINGS).toContain('invalid-certificate-report');
  });
});
