import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { FindingCode } from '../../shared/domain/Finding';
import { LedgerEvent } from '../../shared/domain/LedgerEvent';
import { applyLedgerEvent } from '../../shared/domain/applyLedgerEvent';
import {
  AT,
  CERTIFICATE_PEM,
  DEVICE,
  FIRST,
  HUB,
  NOW,
  RENEWED,
  aCertificate,
  aContext,
  aParsedCertificate,
  aPemReport,
  aRenewal,
  apply,
  appliedRecord,
  connected,
  created,
  deleted,
  disconnected,
  given,
  inspected,
  patch,
  recordOf,
  replace,
  unversioned,
  untouched,
} from '../support/ledgerEvents';

const auditTypes = (record: DeviceRecord) => record.pendingAudit.map((entry) => entry.type);
const findingCodes = (record: DeviceRecord): FindingCode[] => record.findings.map((f) => f.code);

describe('applyLedgerEvent', () => {
  describe('a certificate report', () => {
    it('records the first certificate a device reports and audits it as first seen', () => {
      const record = appliedRecord(apply(undefined, patch(1, aCertificate())));

      expect(record).toMatchObject({
        hub: HUB,
        deviceId: DEVICE,
        lifecycle: 'active',
        reportedVersion: 1,
        lastSeenAt: AT.firstReport,
        updatedAt: NOW,
        current: {
          source: 'reported',
          validFrom: FIRST.validFrom,
          validUntil: FIRST.validUntil,
          commonName: DEVICE,
          firstSeenAt: AT.firstReport,
          reportedVersion: 1,
        },
      });
      expect(record.previous).toBeUndefined();
      expect(record.findings).toEqual([]);
      expect(record.pendingAudit).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          type: 'certificate.first-seen',
          hub: HUB,
          deviceId: DEVICE,
          occurredAt: AT.firstReport,
          recordedAt: NOW,
          opType: 'updateTwin',
          reportedVersion: 1,
          new: { ...FIRST, subject: `CN=${DEVICE}, O=Contoso` },
        },
      ]);
    });

    it('stores the reported instants as UTC ISO 8601 whatever zone the device wrote', () => {
      const record = appliedRecord(
        apply(
          undefined,
          patch(1, {
            validFrom: '2026-11-01T01:00:00+01:00',
            validUntil: '2026-11-30T19:00:00-05:00',
          }),
        ),
      );

      expect(record.current?.validFrom).toBe(FIRST.validFrom);
      expect(record.current?.validUntil).toBe(FIRST.validUntil);
      expect(record.reported).toEqual(FIRST);
    });

    it('audits a certificate valid until later as renewed and keeps the one it replaces as previous', () => {
      const before = given(patch(1, aCertificate()));

      const record = appliedRecord(
        apply(before, patch(2, aRenewal(), { occurredAt: AT.renewalReport })),
      );

      expect(record.current).toMatchObject({ ...RENEWED, firstSeenAt: AT.renewalReport });
      expect(record.previous).toMatchObject({ ...FIRST, firstSeenAt: AT.firstReport });
      expect(record.pendingAudit).toHaveLength(1);
      expect(record.pendingAudit[0]).toMatchObject({
        type: 'certificate.renewed',
        reportedVersion: 2,
        old: FIRST,
        new: RENEWED,
      });
    });

    it.each([
      [
        'earlier',
        { validFrom: '2026-10-01T00:00:00.000Z', validUntil: '2026-11-20T00:00:00.000Z' },
      ],
      ['the same', { validFrom: '2026-11-02T00:00:00.000Z', validUntil: FIRST.validUntil }],
    ])(
      'audits a different certificate valid until %s as changed unexpectedly',
      (_when, validity) => {
        const before = given(patch(1, aCertificate()));

        const record = appliedRecord(
          apply(before, patch(2, aCertificate(validity), { occurredAt: AT.laterReport })),
        );

        expect(auditTypes(record)).toEqual(['certificate.changed-unexpectedly']);
        expect(record.current).toMatchObject(validity);
        expect(record.previous).toMatchObject(FIRST);
        expect(record.pendingAudit[0]).toMatchObject({ old: FIRST, new: validity });
      },
    );

    it('does not audit the same certificate reported again and keeps when it was first seen', () => {
      const before = given(patch(1, aCertificate()));

      const record = appliedRecord(
        apply(
          before,
          // The same window, written without milliseconds and in another zone.
          replace(
            2,
            aCertificate({
              validFrom: '2026-11-01T00:00:00Z',
              validUntil: '2026-12-01T01:00:00+01:00',
            }),
            { occurredAt: AT.laterReport },
          ),
        ),
      );

      expect(record.pendingAudit).toEqual([]);
      expect(record.reportedVersion).toBe(2);
      expect(record.current).toMatchObject({ firstSeenAt: AT.firstReport, reportedVersion: 1 });
      expect(record.previous).toBeUndefined();
      expect(record.lastSeenAt).toBe(AT.laterReport);
    });

    it('treats a redelivered reported $version as a duplicate', () => {
      const before = given(patch(1, aCertificate()), patch(2, aRenewal()));

      const result = apply(before, patch(2, aRenewal()));

      expect(result).toEqual({ outcome: 'duplicate', reason: expect.stringContaining('2') });
    });

    it('keeps the newer certificate when an older twin version arrives, and puts the older one in the history before it', () => {
      const before = given(patch(1, aCertificate()), patch(3, aRenewal()));

      const record = appliedRecord(
        apply(before, patch(2, aCertificate({ validUntil: '2027-01-01T00:00:00Z' }))),
      );

      expect(record.current).toEqual(before.current);
      expect(record.history?.map((h) => [h.reportedVersion, h.validUntil])).toEqual([
        [1, FIRST.validUntil],
        [2, '2027-01-01T00:00:00.000Z'],
        [3, RENEWED.validUntil],
      ]);
    });

    it('ignores a report that does not touch the certificate', () => {
      const before = given(patch(1, aCertificate()));

      expect(apply(before, untouched(2)).outcome).toBe('irrelevant');
      expect(apply(undefined, untouched(1)).outcome).toBe('irrelevant');
    });

    it('removes the certificate reported as null and keeps it as previous', () => {
      const before = given(patch(1, aCertificate()));

      const record = appliedRecord(apply(before, patch(2, null, { occurredAt: AT.laterReport })));

      expect(record.current).toBeUndefined();
      expect(record.reported).toBeUndefined();
      expect(record.renewalDueAt).toBeUndefined();
      expect(record.previous).toMatchObject(FIRST);
      expect(record.reportedVersion).toBe(2);
      expect(record.pendingAudit).toHaveLength(1);
      expect(record.pendingAudit[0]).toMatchObject({
        type: 'certificate.removed',
        occurredAt: AT.laterReport,
        old: FIRST,
      });
      expect(record.pendingAudit[0]?.new).toBeUndefined();
    });

    it('audits nothing when a device with no certificate reports null', () => {
      const record = appliedRecord(apply(undefined, patch(1, null)));

      expect(record.current).toBeUndefined();
      expect(record.reportedVersion).toBe(1);
      expect(record.pendingAudit).toEqual([]);
    });
  });

  describe('twin patches and replacements', () => {
    it('merges a patch with only validUntil into the fields reported before', () => {
      const before = given(patch(1, aCertificate({ issuer: 'CN=Contoso Issuing CA' })));

      const record = appliedRecord(
        apply(before, patch(2, { validUntil: RENEWED.validUntil }, { occurredAt: AT.laterReport })),
      );

      expect(record.reported).toEqual({
        validFrom: FIRST.validFrom,
        validUntil: RENEWED.validUntil,
        subject: `CN=${DEVICE}, O=Contoso`,
        issuer: 'CN=Contoso Issuing CA',
      });
      expect(record.current).toMatchObject({
        validFrom: FIRST.validFrom,
        validUntil: RENEWED.validUntil,
      });
      expect(auditTypes(record)).toEqual(['certificate.renewed']);
    });

    it('deletes a field that the patch sets to null', () => {
      const before = given(patch(1, aCertificate({ issuer: 'CN=Contoso Issuing CA' })));

      const record = appliedRecord(apply(before, patch(2, { issuer: null })));

      expect(record.reported).not.toHaveProperty('issuer');
      expect(record.current).not.toHaveProperty('issuer');
      expect(record.reported?.subject).toBe(`CN=${DEVICE}, O=Contoso`);
    });

    it('replaces the whole certificate on replaceTwin, dropping fields it no longer carries', () => {
      const before = given(patch(1, aCertificate({ issuer: 'CN=Contoso Issuing CA' })));

      const record = appliedRecord(apply(before, replace(2, { ...RENEWED })));

      expect(record.reported).toEqual(RENEWED);
      expect(record.current).not.toHaveProperty('subject');
      expect(record.current).not.toHaveProperty('issuer');
    });

    it('rejects a replaceTwin that lacks a field an earlier report gave', () => {
      const before = given(patch(1, aCertificate()));

      const result = apply(before, replace(2, { validUntil: RENEWED.validUntil }));

      expect(result.outcome).toBe('rejected');
      expect(result).toMatchObject({ problems: ['validFrom is missing'] });
    });
  });

  describe('an invalid certificate report', () => {
    it.each<[string, unknown, string]>([
      ['validUntil is missing', { validFrom: FIRST.validFrom }, 'validUntil is missing'],
      [
        'validUntil is not an ISO 8601 date',
        { validFrom: FIRST.validFrom, validUntil: 'next tuesday' },
        'validUntil must be an ISO 8601 timestamp with a zone, got "next tuesday"',
      ],
      [
        'validUntil has no zone',
        { validFrom: FIRST.validFrom, validUntil: '2026-12-01T00:00:00' },
        'validUntil must be an ISO 8601 timestamp with a zone, got "2026-12-01T00:00:00"',
      ],
      [
        'validUntil is before validFrom',
        { validFrom: FIRST.validUntil, validUntil: FIRST.validFrom },
        `validUntil (${FIRST.validFrom}) is not after validFrom (${FIRST.validUntil})`,
      ],
      [
        'a field has the wrong type',
        { ...FIRST, thumbprint: 42 },
        'thumbprint must be a string, got number',
      ],
      [
        'validFrom is a number',
        { validFrom: 1793491200, validUntil: FIRST.validUntil },
        'validFrom must be an ISO 8601 timestamp with a zone, got number',
      ],
      [
        'the certificate is a string',
        FIRST.validUntil,
        'certificate must be an object, got string',
      ],
      ['the certificate is an array', [FIRST], 'certificate must be an object, got an array'],
    ])('rejects the report when %s', (_case, certificate, problem) => {
      const before = given(patch(1, aCertificate()));

      const result = applyLedgerEvent(
        before,
        replace(2, certificate, { occurredAt: AT.laterReport }),
        aContext(),
      );

      expect(result.outcome).toBe('rejected');
      expect(result).toMatchObject({ problems: expect.arrayContaining([problem]) });
      const record = recordOf(result);
      expect(record.findings).toEqual([
        {
          code: 'invalid-certificate-report',
          severity: 'warning',
          message: expect.stringContaining(problem),
          detectedAt: AT.laterReport,
          reportedVersion: 2,
        },
      ]);
      expect(record.reportedVersion).toBe(2);
      expect(record.current).toEqual(before.current);
      expect(record.reported).toEqual(before.reported);
      expect(record.pendingAudit).toEqual([]);
    });

    it('names every problem of a report at once', () => {
      const result = apply(undefined, patch(1, { validUntil: 'soon', serialNumber: 'XYZ' }));

      expect(result).toMatchObject({
        outcome: 'rejected',
        problems: [
          'validFrom is missing',
          'validUntil must be an ISO 8601 timestamp with a zone, got "soon"',
          'serialNumber must be hex',
        ],
      });
    });

    it('rejects a report whose PEM could not be parsed', () => {
      const result = apply(
        undefined,
        patch(1, aCertificate({ pem: 'garbage' }), {
          pem: { ok: false, reason: 'no PEM certificate block' },
        }),
      );

      expect(result).toMatchObject({
        outcome: 'rejected',
        problems: ['pem: no PEM certificate block'],
      });
      const record = recordOf(result);
      expect(findingCodes(record)).toEqual(['invalid-certificate-report']);
      expect(record.current).toBeUndefined();
    });

    it('rejects a report without a reported $version and does not move the version', () => {
      const before = given(patch(4, aCertificate()));

      const result = apply(before, unversioned(aRenewal()));

      expect(result).toMatchObject({
        outcome: 'rejected',
        problems: ['reported $version is missing'],
      });
      const record = recordOf(result);
      expect(record.reportedVersion).toBe(4);
      expect(findingCodes(record)).toEqual(['invalid-certificate-report']);
      expect(record.current?.validUntil).toBe(FIRST.validUntil);
    });

    it('treats a redelivered rejected report as a duplicate', () => {
      const before = given(patch(1, aCertificate()), patch(2, { validUntil: 'never' }));

      expect(apply(before, patch(2, { validUntil: 'never' })).outcome).toBe('duplicate');
    });

    it('clears the invalid-report finding when a later valid report arrives', () => {
      const before = given(patch(1, aCertificate()), patch(2, { validUntil: 'never' }));
      expect(findingCodes(before)).toEqual(['invalid-certificate-report']);

      const record = appliedRecord(
        apply(before, patch(3, aRenewal(), { occurredAt: AT.renewalReport })),
      );

      expect(record.findings).toEqual([]);
      expect(record.current?.validUntil).toBe(RENEWED.validUntil);
    });

    it('merges the next patch into the last accepted report, not the rejected one', () => {
      const before = given(patch(1, aCertificate()), patch(2, { validUntil: 'never' }));

      const record = appliedRecord(apply(before, patch(3, { issuer: 'CN=Contoso Issuing CA' })));

      expect(record.reported).toMatchObject({ ...FIRST, issuer: 'CN=Contoso Issuing CA' });
    });
  });

  describe('a report that carries its PEM', () => {
    it('takes the facts from the PEM and never stores the PEM itself', () => {
      const leaf = aParsedCertificate();

      const record = appliedRecord(
        apply(undefined, patch(1, aPemReport(leaf), { pem: inspected(leaf) })),
      );

      expect(record.current).toEqual({
        source: 'pem',
        validFrom: leaf.validFrom,
        validUntil: leaf.validUntil,
        thumbprintSha1: leaf.thumbprintSha1,
        thumbprintSha256: leaf.thumbprintSha256,
        serialNumber: leaf.serialNumber,
        subject: leaf.subject,
        issuer: leaf.issuer,
        commonName: leaf.commonName,
        keyAlgorithm: 'ECDSA P-384',
        keySize: 384,
        publicKeySha256: leaf.publicKeySha256,
        signatureAlgorithm: 'ecdsa-with-SHA384',
        chainLength: 1,
        firstSeenAt: AT.firstReport,
        reportedVersion: 1,
      });
      expect(record.reported).toEqual({ ...FIRST, hadPem: true });
      expect(record.findings).toEqual([]);
      expect(record.pendingAudit[0]?.new).toMatchObject({
        thumbprintSha256: leaf.thumbprintSha256,
        serialNumber: leaf.serialNumber,
      });
      expect(JSON.stringify(record)).not.toContain('BEGIN CERTIFICATE');
    });

    it('records a mismatch finding when the reported fields disagree with the PEM', () => {
      const leaf = aParsedCertificate();

      const record = appliedRecord(
        apply(
          undefined,
          patch(
            1,
            { ...aPemReport(leaf), validUntil: '2027-01-01T00:00:00Z' },
            {
              pem: inspected(leaf),
            },
          ),
        ),
      );

      expect(record.current?.validUntil).toBe(leaf.validUntil);
      expect(findingCodes(record)).toEqual(['reported-field-mismatch']);
      expect(record.pendingAudit[0]?.findings).toEqual(['reported-field-mismatch']);
    });

    it('records an untrusted chain as a critical finding', () => {
      const leaf = aParsedCertificate();

      const record = appliedRecord(
        apply(
          undefined,
          patch(1, aPemReport(leaf), {
            pem: inspected(leaf, { status: 'untrusted', reason: 'unknown issuer' }),
          }),
        ),
      );

      expect(record.findings).toEqual([
        expect.objectContaining({ code: 'chain-untrusted', severity: 'critical' }),
      ]);
    });

    it('keeps what the PEM proved when a later patch without PEM still describes that certificate', () => {
      const leaf = aParsedCertificate();
      const before = given(patch(1, aPemReport(leaf), { pem: inspected(leaf) }));

      const record = appliedRecord(
        apply(before, patch(2, { serialNumber: '00:10:01' }, { occurredAt: AT.laterReport })),
      );

      expect(record.pendingAudit).toEqual([]);
      expect(record.current).toEqual(before.current);
      expect(record.reported).toEqual({ ...FIRST, serialNumber: '1001' });
    });

    it('learns the PEM facts of a certificate first known only from its fields, without a new audit entry', () => {
      const leaf = aParsedCertificate();
      const before = given(patch(1, { ...FIRST }));

      const record = appliedRecord(
        apply(
          before,
          patch(2, aPemReport(leaf), { pem: inspected(leaf), occurredAt: AT.laterReport }),
        ),
      );

      expect(record.pendingAudit).toEqual([]);
      expect(record.current).toMatchObject({
        source: 'pem',
        thumbprintSha256: leaf.thumbprintSha256,
        firstSeenAt: AT.firstReport,
        reportedVersion: 1,
      });
    });

    it('audits a renewal that the PEM tells apart by its thumbprint', () => {
      const first = aParsedCertificate();
      const renewed = aParsedCertificate({
        ...RENEWED,
        thumbprintSha1: '2'.repeat(40),
        thumbprintSha256: 'B'.repeat(64),
        serialNumber: '1002',
      });
      const before = given(patch(1, aPemReport(first), { pem: inspected(first) }));

      const record = appliedRecord(
        apply(
          before,
          patch(2, aPemReport(renewed), { pem: inspected(renewed), occurredAt: AT.renewalReport }),
        ),
      );

      expect(auditTypes(record)).toEqual(['certificate.renewed']);
      expect(record.pendingAudit[0]).toMatchObject({
        old: { thumbprintSha256: first.thumbprintSha256 },
        new: { thumbprintSha256: renewed.thumbprintSha256 },
      });
      expect(record.previous?.serialNumber).toBe('1001');
    });
  });

  describe('private key material in the twin', () => {
    it('records a critical finding and audits the leak', () => {
      const before = given(patch(1, aCertificate()));

      const record = appliedRecord(
        apply(before, untouched(2, { privateKeyReported: true, occurredAt: AT.laterReport })),
      );

      expect(record.findings).toEqual([
        expect.objectContaining({
          code: 'private-key-reported',
          severity: 'critical',
          detectedAt: AT.laterReport,
          reportedVersion: 2,
        }),
      ]);
      expect(record.pendingAudit).toEqual([
        expect.objectContaining({
          type: 'device.private-key-reported',
          reportedVersion: 2,
          occurredAt: AT.laterReport,
        }),
      ]);
      expect(record.current).toEqual(before.current);
    });

    it('keeps the finding while the device reports the same certificate', () => {
      const before = given(
        patch(1, aCertificate()),
        untouched(2, { privateKeyReported: true, occurredAt: AT.laterReport }),
      );

      const record = appliedRecord(apply(before, patch(3, aCertificate())));

      expect(findingCodes(record)).toEqual(['private-key-reported']);
    });

    it('clears the finding when a new certificate arrives', () => {
      const before = given(
        patch(1, aCertificate()),
        untouched(2, { privateKeyReported: true, occurredAt: AT.laterReport }),
      );

      const record = appliedRecord(
        apply(before, patch(3, aRenewal(), { occurredAt: AT.renewalReport })),
      );

      expect(record.findings).toEqual([]);
      expect(auditTypes(record)).toEqual(['certificate.renewed']);
    });

    it('keeps the finding when the new certificate arrives in the same report as a key', () => {
      const before = given(patch(1, aCertificate()));

      const record = appliedRecord(
        apply(
          before,
          patch(2, aRenewal(), { privateKeyReported: true, occurredAt: AT.renewalReport }),
        ),
      );

      expect(findingCodes(record)).toEqual(['private-key-reported']);
      expect(auditTypes(record)).toEqual(['device.private-key-reported', 'certificate.renewed']);
    });

    it('keeps the finding through a rejected certificate report', () => {
      const before = given(patch(1, aCertificate()));

      const record = recordOf(
        apply(before, patch(2, { validUntil: 'never' }, { privateKeyReported: true })),
      );

      expect(findingCodes(record).sort()).toEqual([
        'invalid-certificate-report',
        'private-key-reported',
      ]);
      expect(auditTypes(record)).toEqual(['device.private-key-reported']);
    });
  });

  describe('device lifecycle', () => {
    it('records when a device was created', () => {
      const record = appliedRecord(apply(undefined, created(AT.created)));

      expect(record).toMatchObject({ lifecycle: 'active', createdAt: AT.created, updatedAt: NOW });
      expect(record.pendingAudit).toEqual([]);
    });

    it('treats a redelivered create as a duplicate', () => {
      const before = given(created(AT.created));

      expect(apply(before, created(AT.created)).outcome).toBe('duplicate');
    });

    it('fills in when a device known from its twin was created', () => {
      const before = given(patch(1, aCertificate()));

      const record = appliedRecord(apply(before, created('2026-11-01T05:00:00.000Z')));

      expect(record.createdAt).toBe('2026-11-01T05:00:00.000Z');
      expect(record.current).toEqual(before.current);
      expect(record.reportedVersion).toBe(1);
    });

    it('keeps a tombstone of a deleted device and audits the certificate it had', () => {
      const before = given(created(), patch(1, aCertificate()), connected('1a', AT.laterReport));

      const record = appliedRecord(apply(before, deleted(AT.deleted)));

      expect(record).toMatchObject({
        lifecycle: 'deleted',
        deletedAt: AT.deleted,
        connection: { state: 'disconnected', changedAt: AT.deleted },
      });
      expect(record.renewalDueAt).toBeUndefined();
      expect(record.pendingAudit).toEqual([
        expect.objectContaining({
          type: 'device.deleted',
          occurredAt: AT.deleted,
          opType: 'deleteDeviceIdentity',
          old: { ...FIRST, subject: `CN=${DEVICE}, O=Contoso` },
        }),
      ]);
      expect(record.pendingAudit[0]?.reportedVersion).toBeUndefined();
    });

    it('keeps a tombstone for a device deleted before certfleet knew it', () => {
      const record = appliedRecord(apply(undefined, deleted(AT.deleted)));

      expect(record).toMatchObject({ lifecycle: 'deleted', deletedAt: AT.deleted });
      expect(auditTypes(record)).toEqual(['device.deleted']);
      expect(record.pendingAudit[0]?.old).toBeUndefined();
    });

    it('treats a second deletion as a duplicate', () => {
      const before = given(created(), deleted(AT.deleted));

      expect(apply(before, deleted(AT.deleted)).outcome).toBe('duplicate');
    });

    it.each<[string, LedgerEvent]>([
      ['a create from before the deletion', created(AT.created)],
      ['a twin report made at the deletion', patch(2, aRenewal(), { occurredAt: AT.deleted })],
    ])('ignores %s as stale', (_what, event) => {
      const before = given(created(), patch(1, aCertificate()), deleted(AT.deleted));

      expect(apply(before, event).outcome).toBe('stale');
    });

    it('places a twin report from before the deletion in the life it belongs to, and the device stays deleted', () => {
      const before = given(created(), patch(1, aCertificate()), deleted(AT.deleted));

      const record = appliedRecord(
        apply(before, patch(2, aRenewal(), { occurredAt: '2026-11-26T23:59:59.000Z' })),
      );

      expect(record).toMatchObject({ lifecycle: 'deleted', deletedAt: AT.deleted });
      expect(record.current?.validUntil).toBe(RENEWED.validUntil);
      expect(auditTypes(record)).toEqual(['certificate.renewed']);
    });

    it('places a connection change from before the deletion in the life it belongs to: the device stays deleted, last seen then', () => {
      const before = given(created(), patch(1, aCertificate()), deleted(AT.deleted));

      const record = appliedRecord(apply(before, connected('2b', '2026-11-26T23:00:00.000Z')));

      expect(record).toMatchObject({
        lifecycle: 'deleted',
        lastSeenAt: '2026-11-26T23:00:00.000Z',
        connection: { state: 'disconnected', changedAt: AT.deleted },
      });
      expect(record.pendingAudit).toEqual([]);
    });

    it('starts a new incarnation when the device is created again', () => {
      const before = given(
        created(),
        patch(5, aCertificate()),
        connected('1a', AT.laterReport),
        untouched(6, { privateKeyReported: true, occurredAt: AT.laterReport }),
        deleted(AT.deleted),
      );

      const record = appliedRecord(apply(before, created(AT.recreated)));

      expect(record).toMatchObject({
        lifecycle: 'active',
        createdAt: AT.recreated,
        lastSeenAt: AT.laterReport,
        findings: [],
        connection: { state: 'unknown' },
      });
      expect(record.reportedVersion).toBeUndefined();
      expect(record.current).toBeUndefined();
      expect(record.deletedAt).toBeUndefined();
      expect(record.previous).toEqual(before.current);
    });

    it('applies the new incarnation’s first report even though its $version starts again', () => {
      const before = given(
        created(),
        patch(5, aCertificate()),
        deleted(AT.deleted),
        created(AT.recreated),
      );

      const record = appliedRecord(
        apply(before, patch(1, aRenewal(), { occurredAt: AT.afterRecreation })),
      );

      expect(auditTypes(record)).toEqual(['certificate.first-seen']);
      expect(record.reportedVersion).toBe(1);
      expect(record.current?.validUntil).toBe(RENEWED.validUntil);
      expect(record.previous?.validUntil).toBe(FIRST.validUntil);
    });

    it('brings a deleted device back on a report made after the deletion, even before its create event', () => {
      const before = given(created(), patch(5, aCertificate()), deleted(AT.deleted));

      const record = appliedRecord(
        apply(before, patch(1, aRenewal(), { occurredAt: AT.afterRecreation })),
      );

      expect(record).toMatchObject({ lifecycle: 'active', createdAt: AT.afterRecreation });
      expect(auditTypes(record)).toEqual(['certificate.first-seen']);
      expect(record.previous?.validUntil).toBe(FIRST.validUntil);
      // Its create event, arriving late, gives the life its creation time; nothing else changes.
      const withCreation = appliedRecord(
        apply({ ...record, pendingAudit: [] }, created(AT.recreated)),
      );
      expect(withCreation.createdAt).toBe(AT.recreated);
      expect(withCreation.current).toEqual(record.current);
      expect(withCreation.pendingAudit).toEqual([]);
    });

    it('keeps audit entries not yet written when a deleted device comes back', () => {
      const deletedRecord = recordOf(
        apply(given(created(), patch(1, aCertificate())), deleted(AT.deleted)),
      );
      expect(auditTypes(deletedRecord)).toEqual(['device.deleted']);

      const recreated = appliedRecord(apply(deletedRecord, created(AT.recreated)));
      const reported = appliedRecord(
        apply(deletedRecord, patch(1, aRenewal(), { occurredAt: AT.afterRecreation })),
      );

      expect(auditTypes(recreated)).toEqual(['device.deleted']);
      expect(auditTypes(reported)).toEqual(['device.deleted', 'certificate.first-seen']);
    });

    it('ignores the late deletion of an earlier incarnation', () => {
      const before = given(
        created(),
        deleted(AT.deleted),
        created(AT.recreated),
        patch(1, aRenewal(), { occurredAt: AT.afterRecreation }),
      );

      expect(apply(before, deleted('2026-11-02T00:00:00.000Z')).outcome).toBe('stale');
    });

    it('starts a new incarnation when created again after a deletion it never saw', () => {
      const before = given(created(), patch(5, aCertificate()));

      const record = appliedRecord(apply(before, created(AT.recreated)));

      expect(record.createdAt).toBe(AT.recreated);
      expect(record.reportedVersion).toBeUndefined();
      expect(record.current).toBeUndefined();
      expect(record.previous).toEqual(before.current);
    });
  });

  describe('connection state', () => {
    it('records a connection with its sequence number', () => {
      const record = appliedRecord(apply(undefined, connected('0a', AT.laterReport)));

      expect(record.connection).toEqual({
        state: 'connected',
        sequenceNumber: '0a',
        changedAt: AT.laterReport,
      });
      expect(record.lastSeenAt).toBe(AT.laterReport);
      expect(record.pendingAudit).toEqual([]);
    });

    it('treats the same sequence number again as a duplicate, however it is written', () => {
      const before = given(connected('0a', AT.laterReport));

      expect(apply(before, connected('0a', AT.laterReport)).outcome).toBe('duplicate');
      expect(apply(before, disconnected('000A', AT.renewalReport)).outcome).toBe('duplicate');
    });

    it('ignores an older sequence number as stale', () => {
      const before = given(disconnected('1f', AT.renewalReport));

      expect(apply(before, connected('1e', AT.laterReport)).outcome).toBe('stale');
    });

    it('orders sequence numbers as hex numbers, not as text', () => {
      const before = given(connected('ff', AT.laterReport));

      const record = appliedRecord(apply(before, disconnected('100', AT.renewalReport)));

      expect(record.connection).toEqual({
        state: 'disconnected',
        sequenceNumber: '100',
        changedAt: AT.renewalReport,
      });
      expect(apply(record, connected('fe', AT.renewalReport)).outcome).toBe('stale');
    });

    it('orders the long sequence numbers IoT Hub sends', () => {
      const older = '000000000000000001d8a6d1d5d1b7a80000000200000000000000000000000d';
      const newer = '000000000000000001d8a6d1d5d1b7a80000000200000000000000000000000e';
      const before = given(connected(older, AT.laterReport));

      expect(apply(before, disconnected(newer, AT.renewalReport)).outcome).toBe('applied');
      expect(apply(before, disconnected(older.replace(/d$/, 'c'), AT.renewalReport)).outcome).toBe(
        'stale',
      );
    });

    it('moves lastSeenAt only forward', () => {
      const before = given(connected('01', AT.renewalReport));

      const afterConnection = appliedRecord(apply(before, disconnected('02', AT.laterReport)));
      const afterReport = appliedRecord(
        apply(before, patch(1, aCertificate(), { occurredAt: AT.laterReport })),
      );

      expect(afterConnection.connection.changedAt).toBe(AT.laterReport);
      expect(afterConnection.lastSeenAt).toBe(AT.renewalReport);
      expect(afterReport.lastSeenAt).toBe(AT.renewalReport);
    });

    it('brings a deleted device back on a connection after the deletion', () => {
      const before = given(created(), connected('09', AT.laterReport), deleted(AT.deleted));

      const record = appliedRecord(apply(before, connected('01', AT.afterRecreation)));

      expect(record).toMatchObject({
        lifecycle: 'active',
        createdAt: AT.afterRecreation,
        connection: { state: 'connected', sequenceNumber: '01' },
      });
    });
  });

  describe('renewal time', () => {
    it('is due at 85% of the lifetime under the default policy', () => {
      const record = appliedRecord(apply(undefined, patch(1, aCertificate())));

      // 30 days from 1 November: 85% is 25.5 days.
      expect(record.renewalDueAt).toBe('2026-11-26T12:00:00.000Z');
    });

    it('follows the policy it is given', () => {
      const result = applyLedgerEvent(
        undefined,
        patch(1, aCertificate()),
        aContext({ policy: { kind: 'before', renewBeforeMs: 7 * 24 * 3600 * 1000 } }),
      );

      expect(appliedRecord(result).renewalDueAt).toBe('2026-11-24T00:00:00.000Z');
    });

    it('moves with the certificate when it is renewed', () => {
      const before = given(patch(1, aCertificate()));

      const record = appliedRecord(apply(before, patch(2, aRenewal())));

      expect(record.renewalDueAt).toBe('2026-12-21T12:00:00.000Z');
    });

    it('comes from the PEM validity, not from the reported fields', () => {
      const leaf = aParsedCertificate({ ...RENEWED });

      const record = appliedRecord(
        apply(
          undefined,
          patch(1, aCertificate({ pem: CERTIFICATE_PEM }), { pem: inspected(leaf) }),
        ),
      );

      expect(record.renewalDueAt).toBe('2026-12-21T12:00:00.000Z');
    });
  });

  describe('audit entry ids', () => {
    const idOf = (record: DeviceRecord | undefined, event: LedgerEvent) =>
      recordOf(apply(record, event)).pendingAudit.map((entry) => entry.id);

    it('gives a redelivered event the same id', () => {
      const before = given(created(), patch(1, aCertificate()));

      expect(idOf(before, patch(2, aRenewal()))).toEqual(idOf(before, patch(2, aRenewal())));
      expect(idOf(undefined, patch(1, aCertificate()))).toEqual(
        idOf(undefined, patch(1, aCertificate())),
      );
      expect(idOf(before, deleted())).toEqual(idOf(before, deleted()));
    });

    it('does not depend on when certfleet applied the event', () => {
      const early = applyLedgerEvent(undefined, patch(1, aCertificate()), aContext());
      const late = applyLedgerEvent(
        undefined,
        patch(1, aCertificate()),
        aContext({ now: '2026-12-24T00:00:00.000Z' }),
      );

      expect(recordOf(late).pendingAudit[0]?.id).toBe(recordOf(early).pendingAudit[0]?.id);
      expect(recordOf(late).pendingAudit[0]?.recordedAt).toBe('2026-12-24T00:00:00.000Z');
    });

    it('gives a change the same id whichever report told it, and one that happens again another', () => {
      expect(idOf(undefined, patch(1, aCertificate()))).toEqual(
        idOf(undefined, patch(2, aCertificate())),
      );
      const removed = given(patch(1, aCertificate()), patch(2, null));
      expect(idOf(removed, patch(3, aCertificate()))).not.toEqual(
        idOf(undefined, patch(1, aCertificate())),
      );
    });

    it('gives each entry of one event its own id', () => {
      const [keyId, certificateId] = idOf(
        undefined,
        patch(1, aCertificate(), { privateKeyReported: true }),
      );

      expect(keyId).toBeDefined();
      expect(keyId).not.toBe(certificateId);
    });

    it('gives a re-created device’s first certificate another id than its first life’s', () => {
      const firstLife = idOf(given(created(AT.created)), patch(1, aCertificate()));
      const secondLife = idOf(
        given(created(AT.created), deleted(AT.deleted), created(AT.recreated)),
        patch(1, aCertificate(), { occurredAt: AT.afterRecreation }),
      );

      expect(firstLife).toHaveLength(1);
      expect(secondLife).toHaveLength(1);
      expect(secondLife).not.toEqual(firstLife);
    });
  });

  describe('purity', () => {
    const leaf = aParsedCertificate();
    const events: [string, LedgerEvent][] = [
      ['a renewal', patch(3, aRenewal(), { occurredAt: AT.renewalReport })],
      ['a rollback', patch(3, aCertificate({ validUntil: '2026-11-20T00:00:00Z' }))],
      ['the same certificate', patch(3, aCertificate())],
      ['a PEM report', patch(3, aPemReport(leaf), { pem: inspected(leaf) })],
      ['a patch', patch(3, { validUntil: RENEWED.validUntil })],
      ['a removal', patch(3, null)],
      ['an invalid report', patch(3, { validUntil: 'never' })],
      ['an unversioned report', unversioned(aRenewal())],
      ['a private key', untouched(3, { privateKeyReported: true })],
      ['a create', created(AT.recreated)],
      ['a deletion', deleted(AT.deleted)],
      ['a connection', connected('2a', AT.renewalReport)],
    ];

    it.each(events)('never changes the record it is given, for %s', (_what, event) => {
      const record = given(
        created(),
        patch(1, aCertificate()),
        patch(2, aCertificate({ pem: CERTIFICATE_PEM }), {
          pem: inspected(aParsedCertificate()),
          privateKeyReported: true,
        }),
        connected('1a', AT.laterReport),
      );
      record.pendingAudit = [...recordOf(apply(undefined, patch(1, aCertificate()))).pendingAudit];
      const snapshot = structuredClone(record);

      const result = applyLedgerEvent(deepFreeze(record), event, aContext());

      expect(['applied', 'rejected']).toContain(result.outcome);
      expect(record).toEqual(snapshot);
    });

    it('never changes a tombstone it is given', () => {
      const record = deepFreeze(given(created(), patch(1, aCertificate()), deleted()));
      const snapshot = structuredClone(record);

      apply(record, created(AT.recreated));
      apply(record, patch(1, aRenewal(), { occurredAt: AT.afterRecreation }));
      apply(record, connected('01', AT.afterRecreation));

      expect(record).toEqual(snapshot);
    });
  });
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value as object)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

describe('applyLedgerEvent, edge cases of ordering and evidence', () => {
  it('records a leaked key from an older report when no leak is flagged and it concerns the current certificate', () => {
    const before = given(patch(2, aCertificate()), sameCertificateAgain(5));
    const outcome = apply(before, patch(3, aCertificate(), { privateKeyReported: true }));

    const record = appliedRecord(outcome);
    expect(findingCodes(record)).toEqual(['private-key-reported']);
    expect(auditTypes(record)).toEqual(['device.private-key-reported']);
    expect(record.reportedVersion).toBe(5);
  });

  it('ignores a leaked key from a report older than the current certificate', () => {
    const before = given(patch(2, aCertificate()), patch(6, aRenewal()));
    const outcome = apply(before, patch(3, aCertificate(), { privateKeyReported: true }));

    expect(outcome.outcome).toBe('stale');
  });

  it('does not flag a redelivered leak a second time', () => {
    const before = given(patch(2, aCertificate(), { privateKeyReported: true }));
    const outcome = apply(before, patch(2, aCertificate(), { privateKeyReported: true }));

    expect(outcome.outcome).toBe('duplicate');
  });

  it('records the leak even when the report carried no $version', () => {
    const outcome = apply(undefined, unversioned(aCertificate(), { privateKeyReported: true }));

    expect(outcome.outcome).toBe('rejected');
    expect(findingCodes(recordOf(outcome))).toEqual([
      'private-key-reported',
      'invalid-certificate-report',
    ]);
  });

  it("keeps the leak flagged when the device's first certificate follows it", () => {
    const before = given(untouchedWithLeak(2));
    const record = appliedRecord(apply(before, patch(3, aCertificate())));

    expect(findingCodes(record)).toContain('private-key-reported');
  });

  it('treats a patch that changes the dates but keeps an old thumbprint as another certificate', () => {
    const thumbprint = 'AB'.repeat(32);
    const before = given(patch(2, aCertificate({ thumbprint })));
    const record = appliedRecord(
      apply(before, patch(3, { validFrom: RENEWED.validFrom, validUntil: RENEWED.validUntil })),
    );

    expect(auditTypes(record)).toEqual(['certificate.renewed']);
    expect(record.previous?.validUntil).toBe(FIRST.validUntil);
    expect(record.current?.validUntil).toBe(RENEWED.validUntil);
  });

  it('leaves the certificate alone when a replaceTwin body has no certificate (Replace Twin changes only tags and desired properties)', () => {
    const before = given(patch(2, aCertificate()));
    const replaced = { ...replace(3, null), certificate: { present: false as const } };

    expect(apply(before, replaced).outcome).toBe('irrelevant');
  });

  it('ignores a replayed report from an earlier life of the device id, whatever its $version', () => {
    const before = given(
      created(),
      patch(40, aCertificate()),
      deleted(AT.deleted),
      created(AT.recreated),
      patch(3, aRenewal(), { occurredAt: AT.afterRecreation }),
    );
    const replayed = patch(40, aCertificate(), { occurredAt: AT.firstReport });

    expect(apply(before, replayed).outcome).toBe('stale');
  });

  it('does not bring a deleted device back on its trailing disconnect, but does on a connect', () => {
    const before = given(created(), patch(2, aCertificate()), deleted(AT.deleted));
    const later = new Date(Date.parse(AT.deleted) + 50).toISOString();

    expect(apply(before, disconnected('00000001', later)).outcome).toBe('stale');
    expect(appliedRecord(apply(before, connected('00000002', AT.recreated))).lifecycle).toBe(
      'active',
    );
  });

  it('leaves the certificate alone when an updateTwin patch does not mention it', () => {
    const before = given(patch(2, aCertificate()));
    expect(apply(before, untouched(3)).outcome).toBe('irrelevant');
  });

  it('moves the deletion time forward when a device is deleted again, and places a late re-creation between the two deletions', () => {
    const before = given(created(), patch(2, aCertificate()), deleted(AT.deleted));
    const record = appliedRecord(apply(before, deleted(AT.afterRecreation)));

    expect(record.deletedAt).toBe(AT.afterRecreation);
    const placed = appliedRecord(apply(record, created(AT.recreated)));
    expect(placed).toMatchObject({
      lifecycle: 'deleted',
      deletedAt: AT.afterRecreation,
      incarnation: 1,
    });
    expect(placed.previous?.validUntil).toBe(FIRST.validUntil);
  });
});

/** The same certificate reported again at `version`: the version moves, the certificate does not. */
function sameCertificateAgain(version: number): LedgerEvent {
  return patch(version, aCertificate());
}

function untouchedWithLeak(version: number): LedgerEvent {
  return { ...untouched(version), privateKeyReported: true };
}
