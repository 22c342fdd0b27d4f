import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { FindingCode } from '../../../shared/domain/Finding';
import { applyLedgerEvent } from '../../../shared/domain/applyLedgerEvent';
import { renewalOf } from '../../../shared/domain/renewal/renewalTransitions';
import {
  AT,
  CERTIFICATE_PEM,
  DEVICE,
  FIRST,
  RENEWED,
  aContext,
  aParsedCertificate,
  aPemReport,
  aRenewal,
  apply,
  appliedRecord,
  given,
  inspected,
  patch,
  replace,
} from '../../support/ledgerEvents';
import { accepted, asked, flushed, inCampaign } from '../../support/renewalRecords';

const auditTypes = (record: DeviceRecord) => record.pendingAudit.map((entry) => entry.type);
const findingCodes = (record: DeviceRecord): FindingCode[] => record.findings.map((f) => f.code);
const findingOf = (record: DeviceRecord, code: FindingCode) =>
  record.findings.find((f) => f.code === code);

/** The first certificate as its PEM proves it. */
const FIRST_LEAF = aParsedCertificate();
/** Its renewal, another certificate with another key. */
const RENEWED_LEAF = aParsedCertificate({
  ...RENEWED,
  thumbprintSha1: '2'.repeat(40),
  thumbprintSha256: 'B'.repeat(64),
  serialNumber: '1002',
  publicKeySha256: 'D'.repeat(64),
});

/** When reconcile reads the whole twin (its last reported change). */
const RECONCILED_AT = '2026-11-27T08:00:00.000Z';

describe('a whole twin whose PEM disagrees with its reported dates (IoT Hub merges reported patches)', () => {
  it('keeps the renewal a device patched without pem when the twin still holds the old pem', () => {
    // The device reported its first certificate with a PEM, then its renewal as dates only:
    // IoT Hub kept the old pem in the twin, and reconcile reads both.
    const before = given(
      patch(1, aPemReport(FIRST_LEAF), { pem: inspected(FIRST_LEAF) }),
      patch(2, { ...RENEWED }, { occurredAt: AT.renewalReport }),
    );
    expect(before.current).toMatchObject({ source: 'reported', validUntil: RENEWED.validUntil });

    const record = appliedRecord(
      apply(
        before,
        replace(
          3,
          { ...RENEWED, pem: CERTIFICATE_PEM },
          { pem: inspected(FIRST_LEAF), occurredAt: RECONCILED_AT },
        ),
      ),
    );

    expect(record.current).toMatchObject({ validUntil: RENEWED.validUntil, reportedVersion: 2 });
    expect(record.previous?.validUntil).toBe(FIRST.validUntil);
    expect(auditTypes(record)).toEqual([]);
    expect(findingCodes(record)).toEqual(['pem-disagrees-with-dates']);
    expect(findingOf(record, 'pem-disagrees-with-dates')?.message).toContain(
      'recorded the reported dates',
    );
  });

  it('keeps a certificate whose pem a patch reported when the twin’s dates were left behind', () => {
    const before = given(
      patch(1, aPemReport(FIRST_LEAF), { pem: inspected(FIRST_LEAF) }),
      patch(
        2,
        { pem: CERTIFICATE_PEM },
        { pem: inspected(RENEWED_LEAF), occurredAt: AT.renewalReport },
      ),
    );
    expect(before.current?.thumbprintSha256).toBe(RENEWED_LEAF.thumbprintSha256);

    const record = appliedRecord(
      apply(
        before,
        replace(
          3,
          { ...FIRST, pem: CERTIFICATE_PEM },
          { pem: inspected(RENEWED_LEAF), occurredAt: RECONCILED_AT },
        ),
      ),
    );

    expect(record.current).toMatchObject({
      source: 'pem',
      thumbprintSha256: RENEWED_LEAF.thumbprintSha256,
    });
    expect(auditTypes(record)).toEqual([]);
    expect(findingCodes(record)).toEqual(['pem-disagrees-with-dates']);
  });

  it('records the certificate that expires first when it meets such a twin for the first time', () => {
    const staleDates = appliedRecord(
      apply(
        undefined,
        replace(
          1,
          { ...FIRST, pem: CERTIFICATE_PEM },
          { pem: inspected(RENEWED_LEAF), occurredAt: RECONCILED_AT },
        ),
      ),
    );
    const stalePem = appliedRecord(
      apply(
        undefined,
        replace(
          1,
          { ...RENEWED, pem: CERTIFICATE_PEM },
          {
            pem: inspected(FIRST_LEAF, { status: 'untrusted', reason: 'unknown issuer' }),
            occurredAt: AT.laterReport,
          },
        ),
      ),
    );

    expect(staleDates.current).toMatchObject({ source: 'reported', ...FIRST });
    expect(staleDates.renewalDueAt).toBe('2026-11-26T12:00:00.000Z');
    expect(stalePem.current).toMatchObject({ source: 'pem', ...FIRST });
    // The chain verdict is the recorded PEM's.
    expect(findingCodes(stalePem)).toEqual(['chain-untrusted', 'pem-disagrees-with-dates']);
    expect(findingCodes(staleDates)).toEqual(['pem-disagrees-with-dates']);
  });

  it('does not judge the recorded dates by the chain of a PEM it set aside', () => {
    const record = appliedRecord(
      apply(
        undefined,
        replace(
          1,
          { ...FIRST, pem: CERTIFICATE_PEM },
          {
            pem: inspected(RENEWED_LEAF, { status: 'untrusted', reason: 'unknown issuer' }),
            occurredAt: AT.laterReport,
          },
        ),
      ),
    );

    expect(record.current?.source).toBe('reported');
    expect(findingCodes(record)).toEqual(['pem-disagrees-with-dates']);
  });

  it('still takes the PEM of a patch as the truth: the device sent it just now', () => {
    const record = appliedRecord(
      apply(
        undefined,
        patch(1, { ...RENEWED, pem: CERTIFICATE_PEM }, { pem: inspected(FIRST_LEAF) }),
      ),
    );

    expect(record.current).toMatchObject({ source: 'pem', ...FIRST });
    expect(findingCodes(record)).toEqual(['reported-field-mismatch']);
  });

  it('takes the PEM of a whole twin whose dates agree with it', () => {
    const record = appliedRecord(
      apply(
        undefined,
        replace(1, aPemReport(RENEWED_LEAF), {
          pem: inspected(RENEWED_LEAF),
          occurredAt: AT.renewalReport,
        }),
      ),
    );

    expect(record.current).toMatchObject({ source: 'pem', ...RENEWED });
    expect(record.findings).toEqual([]);
  });
});

describe('a PEM whose notAfter is not after its notBefore', () => {
  const inverted = aParsedCertificate({ validFrom: FIRST.validUntil, validUntil: FIRST.validFrom });

  it('rejects the report, as it rejects such reported dates, instead of a warning and a renewal after the expiry', () => {
    const outcome = apply(
      undefined,
      patch(1, { ...FIRST, pem: CERTIFICATE_PEM }, { pem: inspected(inverted) }),
    );

    expect(outcome).toMatchObject({
      outcome: 'rejected',
      problems: [
        `pem: the certificate's notAfter (${FIRST.validFrom}) is not after its notBefore (${FIRST.validUntil})`,
      ],
    });
    const record = outcome.outcome === 'rejected' ? outcome.record : undefined;
    expect(record?.current).toBeUndefined();
    expect(record?.renewalDueAt).toBeUndefined();
    expect(record && findingCodes(record)).toEqual(['invalid-certificate-report']);
  });

  it('keeps the certificate known before', () => {
    const before = given(patch(1, aPemReport(FIRST_LEAF), { pem: inspected(FIRST_LEAF) }));

    const outcome = apply(
      before,
      patch(2, { ...RENEWED, pem: CERTIFICATE_PEM }, { pem: inspected(inverted) }),
    );

    expect(outcome.outcome).toBe('rejected');
    const record = outcome.outcome === 'rejected' ? outcome.record : undefined;
    expect(record?.current?.thumbprintSha256).toBe(FIRST_LEAF.thumbprintSha256);
    expect(record?.renewalDueAt).toBe(before.renewalDueAt);
  });
});

describe('the common name check', () => {
  it('compares the CN with the registration id the device reports', () => {
    const leaf = aParsedCertificate({ subject: 'CN=line7-sensor-2', commonName: 'line7-sensor-2' });

    const record = appliedRecord(
      apply(
        undefined,
        patch(
          1,
          { ...aPemReport(leaf), registrationId: 'line7-sensor-2' },
          { pem: inspected(leaf) },
        ),
      ),
    );

    expect(record.findings).toEqual([]);
    expect(record.reported?.registrationId).toBe('line7-sensor-2');
  });

  it('keeps comparing with the registration id reported before when a patch leaves it out', () => {
    const leaf = aParsedCertificate({ subject: 'CN=line7-sensor-2', commonName: 'line7-sensor-2' });
    const before = given(
      patch(1, { ...FIRST, registrationId: 'line7-sensor-2', subject: 'CN=line7-sensor-2' }),
    );

    const renewed = { ...leaf, ...RENEWED, thumbprintSha256: 'B'.repeat(64) };

    const record = appliedRecord(
      apply(
        before,
        patch(2, aPemReport(renewed), { pem: inspected(renewed), occurredAt: AT.renewalReport }),
      ),
    );

    expect(record.current?.validUntil).toBe(RENEWED.validUntil);
    expect(record.findings).toEqual([]);
  });

  it('gives a mismatch the severity the operator chose', () => {
    const leaf = aParsedCertificate({ subject: 'CN=another', commonName: 'another' });

    const record = appliedRecord(
      applyLedgerEvent(
        undefined,
        patch(1, aPemReport(leaf), { pem: inspected(leaf) }),
        aContext({ findingSeverities: { 'common-name-mismatch': 'warning' } }),
      ),
    );

    expect(record.findings).toEqual([
      expect.objectContaining({ code: 'common-name-mismatch', severity: 'warning' }),
    ]);
  });

  it('does not fail a renewal over a mismatch the operator made a warning', () => {
    const waiting = flushed(
      asked(inCampaign('2026-11-26T12:00:00.000Z'), accepted(), '2026-11-26T12:00:00.000Z'),
    );
    const campaignId = renewalOf(waiting).campaignId;

    const record = appliedRecord(
      applyLedgerEvent(
        waiting,
        patch(2, aRenewal({ subject: 'CN=line7-sensor-2' }), { occurredAt: AT.renewalReport }),
        aContext({
          now: '2026-11-26T13:00:30.000Z',
          findingSeverities: { 'common-name-mismatch': 'warning' },
        }),
      ),
    );

    expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.succeeded']);
    expect(record.pendingAudit[1]).toMatchObject({ renewal: { campaignId } });
    expect(findingCodes(record)).toEqual(['common-name-mismatch']);
    expect(record.deviceId).toBe(DEVICE);
  });
});

describe('the CAs of the reported chain', () => {
  const ISSUING = {
    subject: 'CN=Contoso Issuing CA, O=Contoso',
    issuer: 'CN=Contoso Root CA, O=Contoso',
    validUntil: '2031-01-01T00:00:00.000Z',
    thumbprintSha256: 'E'.repeat(64),
  };

  it('keeps the chain CAs the inspection read with the certificate’s facts', () => {
    const leaf = aParsedCertificate({ chainCas: [ISSUING] });

    const record = given(patch(1, aPemReport(leaf), { pem: inspected(leaf) }));

    expect(record.current?.chainCas).toEqual([ISSUING]);
  });

  it('keeps them when a later report gives only the dates of the same certificate', () => {
    const leaf = aParsedCertificate({ chainCas: [ISSUING] });

    const record = given(
      patch(1, aPemReport(leaf), { pem: inspected(leaf) }),
      patch(2, { ...FIRST }, { occurredAt: AT.renewalReport }),
    );

    expect(record.current).toMatchObject({ source: 'pem', chainCas: [ISSUING] });
  });

  it('records none for an inspection remembered before chain CAs were read, or a chain without CAs', () => {
    for (const leaf of [aParsedCertificate(), aParsedCertificate({ chainCas: [] })]) {
      const record = given(patch(1, aPemReport(leaf), { pem: inspected(leaf) }));

      expect(record.current?.source).toBe('pem');
      expect(record.current).not.toHaveProperty('chainCas');
    }
  });
});
