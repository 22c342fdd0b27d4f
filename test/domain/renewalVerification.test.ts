import { DAY_MS, HOUR_MS } from '../../shared/domain/Clock';
import { DeviceRecord } from '../../shared/domain/DeviceRecord';
import { FindingCode } from '../../shared/domain/Finding';
import { LedgerEvent, TwinReportEvent } from '../../shared/domain/LedgerEvent';
import { CohortPolicy } from '../../shared/domain/RenewalPolicy';
import { LedgerOutcome, applyLedgerEvent } from '../../shared/domain/applyLedgerEvent';
import { DEFAULT_RENEWAL_TIMING } from '../../shared/domain/renewal/RenewalTiming';
import { nextActionAt } from '../../shared/domain/renewal/nextActionAt';
import {
  certificateExpired,
  deadlinePassed,
  renewalOf,
} from '../../shared/domain/renewal/renewalTransitions';
import {
  AT,
  DEVICE,
  FIRST,
  RENEWED,
  aCertificate,
  aContext,
  aParsedCertificate,
  aPemReport,
  aRenewal,
  appliedRecord,
  connected,
  deleted,
  disconnected,
  given,
  inspected,
  patch,
  untouched,
} from '../support/ledgerEvents';
import {
  AT_DUE,
  EXPIRY,
  TIMING,
  accepted,
  aDevice,
  asked,
  flushed,
  inCampaign,
  offline,
  plus,
  refused,
} from '../support/renewalRecords';

/** certfleet's clock when the renewed certificate's report is applied. */
const RECORDED = '2026-11-26T13:00:30.000Z';
/** certfleet's clock for reports applied the next day. */
const NOW_LATER = '2026-11-27T01:00:00.000Z';
const SUBJECT = `CN=${DEVICE}, O=Contoso`;

const auditTypes = (record: DeviceRecord) => record.pendingAudit.map((entry) => entry.type);
const findingCodes = (record: DeviceRecord): FindingCode[] => record.findings.map((f) => f.code);
const entryOf = (record: DeviceRecord, type: string) =>
  record.pendingAudit.find((entry) => entry.type === type);

function applyAt(
  now: string,
  record: DeviceRecord | undefined,
  event: LedgerEvent,
  cohortPolicies: readonly CohortPolicy[] = [],
): LedgerOutcome {
  return applyLedgerEvent(record, event, aContext({ now, cohortPolicies }));
}

/** A device asked at AT_DUE (campaign started then) that accepted: it owes a new certificate. */
function waitingForCertificate(record: DeviceRecord = aDevice()): DeviceRecord {
  return flushed(asked(inCampaign(AT_DUE, 'due', record), accepted(), AT_DUE));
}

/** The renewal report, an hour after the campaign started. */
const renewalReport = (certificate = aRenewal()) =>
  patch(2, certificate, { occurredAt: AT.renewalReport });

describe('renewal verification', () => {
  describe('a new certificate during a campaign', () => {
    it('audits the renewal as succeeded, with the old and new certificate and the time taken', () => {
      const before = waitingForCertificate();
      const campaignId = renewalOf(before).campaignId;

      const record = appliedRecord(applyAt(RECORDED, before, renewalReport()));

      expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.succeeded']);
      expect(entryOf(record, 'renewal.succeeded')).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        type: 'renewal.succeeded',
        hub: before.hub,
        deviceId: DEVICE,
        occurredAt: AT.renewalReport,
        recordedAt: RECORDED,
        old: { ...FIRST, subject: SUBJECT },
        new: { ...RENEWED, subject: SUBJECT },
        renewal: {
          campaignId,
          trigger: 'due',
          attempts: 1,
          failures: 0,
          renewedBy: 'certfleet',
          durationMs: HOUR_MS,
        },
      });
      expect(entryOf(record, 'certificate.renewed')?.renewal).toEqual({
        campaignId,
        trigger: 'due',
        attempts: 1,
        failures: 0,
        renewedBy: 'certfleet',
        durationMs: HOUR_MS,
      });
    });

    it('ends the campaign: the device is healthy again, next due on its new certificate', () => {
      const record = appliedRecord(applyAt(RECORDED, waitingForCertificate(), renewalReport()));

      expect(record.renewal).toEqual({ status: 'healthy', attempts: 0, failures: 0 });
      expect(record.renewalDueAt).toBe('2026-12-21T12:00:00.000Z');
      expect(nextActionAt(record)).toBe('2026-12-21T12:00:00.000Z');
    });

    it.each<[string, (r: DeviceRecord) => DeviceRecord, number, number]>([
      ['due and not asked yet', (r) => inCampaign(AT_DUE, 'due', r), 0, 0],
      [
        'retrying after a refusal',
        (r) => flushed(asked(inCampaign(AT_DUE, 'due', r), refused(), AT_DUE)),
        1,
        1,
      ],
      ['unreachable', (r) => flushed(asked(inCampaign(AT_DUE, 'due', r), offline(), AT_DUE)), 1, 0],
    ])(
      'counts the renewal of a device that was %s as certfleet’s',
      (_status, campaign, attempts, failures) => {
        const record = appliedRecord(applyAt(RECORDED, campaign(aDevice()), renewalReport()));

        expect(entryOf(record, 'renewal.succeeded')?.renewal).toMatchObject({
          renewedBy: 'certfleet',
          attempts,
          failures,
        });
        expect(renewalOf(record).status).toBe('healthy');
      },
    );

    it('gives a redelivered renewal report the same audit ids', () => {
      const before = waitingForCertificate();

      const ids = (r: LedgerOutcome) => appliedRecord(r).pendingAudit.map((e) => e.id);

      expect(ids(applyAt(RECORDED, before, renewalReport()))).toEqual(
        ids(applyAt(plus(RECORDED, HOUR_MS), before, renewalReport())),
      );
    });
  });

  describe('a new certificate that fails verification', () => {
    it('keeps the campaign retrying when the CN is not the device id', () => {
      const before = waitingForCertificate();

      const record = appliedRecord(
        applyAt(RECORDED, before, renewalReport(aRenewal({ subject: 'CN=thermostat-9999' }))),
      );

      expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.failed']);
      const { deadline: _deadline, ...campaign } = renewalOf(before);
      // A bad renewal is a failed attempt: counted, and retried after the refusal backoff.
      expect(record.renewal).toEqual({
        ...campaign,
        status: 'retrying',
        failures: campaign.failures + 1,
        reason: `certificate CN "thermostat-9999" is not the device id "${DEVICE}"`,
        nextAttemptAt: new Date(Date.parse(RECORDED) + HOUR_MS).toISOString(),
      });
      expect(entryOf(record, 'renewal.failed')).toMatchObject({
        occurredAt: AT.renewalReport,
        renewal: {
          campaignId: renewalOf(before).campaignId,
          reason: `certificate CN "thermostat-9999" is not the device id "${DEVICE}"`,
        },
      });
      expect(findingCodes(record)).toEqual(['common-name-mismatch']);
      // The certificate is recorded all the same: it is what the device now holds.
      expect(record.current?.validUntil).toBe(RENEWED.validUntil);
    });

    it('keeps the campaign retrying when the chain is no longer trusted', () => {
      const first = aParsedCertificate();
      const renewed = aParsedCertificate({
        ...RENEWED,
        thumbprintSha1: '2'.repeat(40),
        thumbprintSha256: 'B'.repeat(64),
        serialNumber: '1002',
        publicKeySha256: 'D'.repeat(64),
      });
      const before = waitingForCertificate(
        given(patch(1, aPemReport(first), { pem: inspected(first) })),
      );

      const record = appliedRecord(
        applyAt(
          RECORDED,
          before,
          patch(2, aPemReport(renewed), {
            pem: inspected(renewed, { status: 'untrusted', reason: 'unknown issuer' }),
            occurredAt: AT.renewalReport,
          }),
        ),
      );

      expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.failed']);
      expect(record.renewal).toMatchObject({
        status: 'retrying',
        reason: 'chain does not verify to the trust bundle: unknown issuer',
      });
    });

    it('keeps the campaign retrying when the new certificate is not valid until later', () => {
      const before = waitingForCertificate();

      const record = appliedRecord(
        applyAt(
          RECORDED,
          before,
          renewalReport(aCertificate({ validFrom: '2026-11-26T00:00:00.000Z' })),
        ),
      );

      expect(auditTypes(record)).toEqual(['certificate.changed-unexpectedly', 'renewal.failed']);
      expect(record.renewal).toMatchObject({
        status: 'retrying',
        reason: 'the new certificate is not valid until later than the old one',
        nextAttemptAt: new Date(Date.parse(RECORDED) + HOUR_MS).toISOString(),
      });
      expect(record.renewal?.deadline).toBeUndefined();
    });

    it('gives up on a device that keeps producing certificates that are not the renewal asked for', () => {
      let record = waitingForCertificate();
      const max = 3;
      for (let i = 1; i <= max; i += 1) {
        const bad = aRenewal({
          subject: 'CN=thermostat-9999',
          validUntil: new Date(Date.parse(RENEWED.validUntil) + i * DAY_MS).toISOString(),
        });
        record = flushed(
          appliedRecord(
            applyLedgerEvent(record, patch(10 + i, bad, { occurredAt: AT.renewalReport }), {
              ...aContext({ now: RECORDED }),
              timing: { ...DEFAULT_RENEWAL_TIMING, maxFailures: max },
            }),
          ),
        );
      }
      expect(record.renewal?.status).toBe('failed');
    });

    it('succeeds with the next certificate that passes', () => {
      const rejected = flushed(
        appliedRecord(
          applyAt(RECORDED, waitingForCertificate(), renewalReport(aRenewal({ subject: 'CN=x' }))),
        ),
      );

      const record = appliedRecord(
        applyAt(
          plus(RECORDED, HOUR_MS),
          rejected,
          patch(3, aRenewal({ validUntil: '2026-12-27T00:00:00.000Z' }), {
            occurredAt: plus(AT.renewalReport, HOUR_MS),
          }),
        ),
      );

      expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.succeeded']);
      expect(findingCodes(record)).toEqual([]);
      expect(record.renewal).toEqual({ status: 'healthy', attempts: 0, failures: 0 });
    });

    it('gives each rejected certificate its own renewal.failed record, also after a missed deadline', () => {
      const waiting = waitingForCertificate();
      const missed = deadlinePassed(waiting, renewalOf(waiting).deadline!, TIMING);
      expect(auditTypes(missed)).toEqual(['renewal.failed']);
      const ids = missed.pendingAudit.map((e) => e.id);
      let record = flushed(missed);

      // Two bad certificates in turn, with no request in between.
      for (const [version, cn, validUntil] of [
        [2, 'CN=x', '2026-12-26T00:00:00.000Z'],
        [3, 'CN=y', '2026-12-27T00:00:00.000Z'],
      ] as const) {
        record = appliedRecord(
          applyAt(
            RECORDED,
            record,
            patch(version, aRenewal({ subject: cn, validUntil }), { occurredAt: AT.renewalReport }),
          ),
        );
        expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.failed']);
        ids.push(...record.pendingAudit.map((e) => e.id));
        record = flushed(record);
      }

      expect(ids).toHaveLength(5);
      expect(new Set(ids).size).toBe(5);
    });
  });

  describe('a device that renews by itself', () => {
    it('records the renewal as the device’s, with no campaign', () => {
      const record = appliedRecord(applyAt(RECORDED, aDevice(), renewalReport()));

      expect(auditTypes(record)).toEqual(['certificate.renewed']);
      expect(record.pendingAudit[0]?.renewal).toEqual({
        campaignId: '',
        attempts: 0,
        failures: 0,
        renewedBy: 'device',
      });
      expect(record.renewal).toBeUndefined();
    });

    it('says nothing about renewal for a certificate that is not valid until later', () => {
      const record = appliedRecord(
        applyAt(
          RECORDED,
          aDevice(),
          renewalReport(aCertificate({ validFrom: '2026-11-26T00:00:00.000Z' })),
        ),
      );

      expect(auditTypes(record)).toEqual(['certificate.changed-unexpectedly']);
      expect(record.pendingAudit[0]?.renewal).toBeUndefined();
      expect(record.renewal).toBeUndefined();
    });

    it('records a device that re-provisioned after its certificate expired unasked as renewing by itself', () => {
      // certfleet never asked (no IoT Hub configured, say): the expiry was only recorded.
      const expired = flushed(certificateExpired(aDevice(), EXPIRY));
      const afterExpiry = plus(EXPIRY, DAY_MS);

      const record = appliedRecord(
        applyAt(
          afterExpiry,
          expired,
          patch(2, aRenewal({ validFrom: afterExpiry, validUntil: '2026-12-31T00:00:00.000Z' }), {
            occurredAt: afterExpiry,
          }),
        ),
      );

      expect(auditTypes(record)).toEqual(['certificate.renewed']);
      expect(record.pendingAudit[0]?.renewal?.renewedBy).toBe('device');
      expect(renewalOf(record).status).toBe('healthy');
      expect(nextActionAt(record)).toBe(record.renewalDueAt);
    });

    it('leaves no retry without a campaign when a device that expired unasked reports a bad certificate', () => {
      const expired = flushed(certificateExpired(aDevice(), EXPIRY));
      const afterExpiry = plus(EXPIRY, DAY_MS);

      const record = appliedRecord(
        applyAt(
          afterExpiry,
          expired,
          patch(
            2,
            aRenewal({
              subject: 'CN=thermostat-9999',
              validFrom: afterExpiry,
              validUntil: '2026-12-31T00:00:00.000Z',
            }),
            { occurredAt: afterExpiry },
          ),
        ),
      );

      // A retrying device has to have a campaign: the sweep builds its request from it.
      expect(auditTypes(record)).toEqual(['certificate.renewed']);
      expect(renewalOf(record).status).toBe('healthy');
      expect(findingCodes(record)).toEqual(['common-name-mismatch']);
    });

    it('counts a device that renewed after expiring during a campaign as certfleet’s', () => {
      const expired = flushed(certificateExpired(waitingForCertificate(), EXPIRY));
      const afterExpiry = plus(EXPIRY, HOUR_MS);

      const record = appliedRecord(
        applyAt(
          afterExpiry,
          expired,
          patch(2, aRenewal({ validFrom: afterExpiry, validUntil: '2026-12-31T00:00:00.000Z' }), {
            occurredAt: afterExpiry,
          }),
        ),
      );

      expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.succeeded']);
      expect(entryOf(record, 'renewal.succeeded')?.renewal).toMatchObject({
        campaignId: renewalOf(expired).campaignId,
        renewedBy: 'certfleet',
      });
      expect(renewalOf(record).status).toBe('healthy');
    });
  });

  describe('a renewal that kept the key', () => {
    const first = aParsedCertificate();
    const sameKey = aParsedCertificate({
      ...RENEWED,
      thumbprintSha1: '2'.repeat(40),
      thumbprintSha256: 'B'.repeat(64),
      serialNumber: '1002',
    });
    const newKey = aParsedCertificate({
      validFrom: '2026-12-20T00:00:00.000Z',
      validUntil: '2027-01-19T00:00:00.000Z',
      thumbprintSha1: '3'.repeat(40),
      thumbprintSha256: 'E'.repeat(64),
      serialNumber: '1003',
      publicKeySha256: 'F'.repeat(64),
    });
    const report = (version: number, leaf: typeof first, occurredAt: string) =>
      patch(version, aPemReport(leaf), { pem: inspected(leaf), occurredAt });
    const withFirst = () => given(report(1, first, AT.firstReport));

    it('flags a new certificate with the same public key as key-not-rotated', () => {
      const record = appliedRecord(
        applyAt(RECORDED, withFirst(), report(2, sameKey, AT.renewalReport)),
      );

      expect(record.findings).toEqual([
        expect.objectContaining({
          code: 'key-not-rotated',
          severity: 'warning',
          detectedAt: AT.renewalReport,
          reportedVersion: 2,
        }),
      ]);
      expect(record.pendingAudit[0]).toMatchObject({
        type: 'certificate.renewed',
        findings: ['key-not-rotated'],
      });
    });

    it('keeps the flag while the same certificate is reported again', () => {
      const flagged = given(report(1, first, AT.firstReport), report(2, sameKey, AT.renewalReport));

      const record = appliedRecord(
        applyAt(NOW_LATER, flagged, report(3, sameKey, '2026-11-26T20:00:00.000Z')),
      );

      expect(findingCodes(record)).toEqual(['key-not-rotated']);
      expect(record.pendingAudit).toEqual([]);
    });

    it('clears the flag when the next certificate has a new key', () => {
      const flagged = given(report(1, first, AT.firstReport), report(2, sameKey, AT.renewalReport));

      const record = appliedRecord(
        applyAt(NOW_LATER, flagged, report(3, newKey, '2026-12-20T01:00:00.000Z')),
      );

      expect(findingCodes(record)).toEqual([]);
      expect(auditTypes(record)).toEqual(['certificate.renewed']);
    });

    it('still counts a renewal certfleet asked for that kept the key as succeeded', () => {
      const record = appliedRecord(
        applyAt(RECORDED, waitingForCertificate(withFirst()), report(2, sameKey, AT.renewalReport)),
      );

      expect(auditTypes(record)).toEqual(['certificate.renewed', 'renewal.succeeded']);
      expect(findingCodes(record)).toEqual(['key-not-rotated']);
    });
  });

  describe('a device that connects', () => {
    const connectedAt = '2026-11-26T15:00:00.000Z';
    const appliedAt = '2026-11-26T15:00:02.000Z';

    it.each<[string, () => DeviceRecord]>([
      ['unreachable', () => flushed(asked(inCampaign(), offline(), AT_DUE))],
      ['due', () => inCampaign()],
    ])('asks a device that is %s right away', (_status, before) => {
      const result = applyAt(appliedAt, before(), connected('0a', connectedAt));

      expect(result).toMatchObject({ outcome: 'applied', askNow: true });
      const record = appliedRecord(result);
      expect(renewalOf(record).nextAttemptAt).toBe(appliedAt);
      expect(record.connection.state).toBe('connected');
      expect(nextActionAt(record)).toBe(appliedAt);
    });

    it.each<[string, () => DeviceRecord]>([
      ['healthy', () => aDevice()],
      ['requested', () => waitingForCertificate()],
      ['retrying', () => flushed(asked(inCampaign(), refused(), AT_DUE))],
    ])('does not ask a device that is %s', (_status, before) => {
      const record = before();

      const result = applyAt(appliedAt, record, connected('0a', connectedAt));

      expect(result.outcome).toBe('applied');
      expect(result).not.toHaveProperty('askNow');
      expect(appliedRecord(result).renewal).toEqual(record.renewal);
    });

    it('does not ask an unreachable device that disconnects', () => {
      const before = flushed(asked(inCampaign(), offline(), AT_DUE));

      const result = applyAt(appliedAt, before, disconnected('0a', connectedAt));

      expect(result).not.toHaveProperty('askNow');
      expect(appliedRecord(result).renewal).toEqual(before.renewal);
    });
  });

  describe('cohort tags', () => {
    const SHORT_LEAD: CohortPolicy[] = [
      { cohort: 'short-lead', policy: { kind: 'before', renewBeforeMs: 7 * DAY_MS } },
    ];
    /** FIRST due 7 days before it expires. */
    const SHORT_LEAD_DUE = '2026-11-24T00:00:00.000Z';
    /** FIRST due under the default policy. */
    const DEFAULT_DUE = AT_DUE;

    function tagged(
      twinVersion: number,
      cohort: string | null,
      event = untouched(1),
    ): TwinReportEvent {
      return { ...event, twinVersion, cohort: { value: cohort } };
    }
    const tag = (record: DeviceRecord | undefined, event: TwinReportEvent) =>
      applyAt(RECORDED, record, event, SHORT_LEAD);

    it('picks the cohort’s policy when a tag puts the device in it', () => {
      const before = aDevice();
      expect(before.renewalDueAt).toBe(DEFAULT_DUE);

      const record = appliedRecord(tag(before, tagged(5, 'short-lead')));

      expect(record).toMatchObject({
        cohort: 'short-lead',
        cohortTwinVersion: 5,
        renewalDueAt: SHORT_LEAD_DUE,
        updatedAt: RECORDED,
      });
      expect(record.pendingAudit).toEqual([]);
    });

    it('falls back to the default policy when the tag is removed', () => {
      const inCohort = appliedRecord(tag(aDevice(), tagged(5, 'short-lead')));

      const record = appliedRecord(tag(inCohort, tagged(6, null)));

      expect(record.cohort).toBeUndefined();
      expect(record.cohortTwinVersion).toBe(6);
      expect(record.renewalDueAt).toBe(DEFAULT_DUE);
    });

    it('ignores a tag change from an older twin version', () => {
      const inCohort = appliedRecord(tag(aDevice(), tagged(5, 'short-lead')));

      const result = tag(inCohort, tagged(4, null));

      expect(result.outcome).toBe('irrelevant');
    });

    it('ignores an older tag change that arrives after a newer twin version confirmed the cohort', () => {
      // Twin versions 5 and 7 put the device in the cohort; 6 (out of it) arrives last.
      const after = (record: DeviceRecord, event: TwinReportEvent) => {
        const result = tag(record, event);
        return result.outcome === 'applied' ? result.record : record;
      };
      let record = after(aDevice(), tagged(5, 'short-lead'));
      record = after(record, tagged(7, 'short-lead'));

      record = after(record, tagged(6, null));

      expect(record).toMatchObject({ cohort: 'short-lead', renewalDueAt: SHORT_LEAD_DUE });
    });

    it('reads the cohort from a report that also carries the certificate', () => {
      const record = appliedRecord(
        tag(undefined, tagged(3, 'short-lead', patch(1, aCertificate()))),
      );

      expect(record).toMatchObject({
        cohort: 'short-lead',
        cohortTwinVersion: 3,
        renewalDueAt: SHORT_LEAD_DUE,
      });
    });

    it('keeps the renewal time of a device whose cohort has no policy of its own', () => {
      const record = appliedRecord(tag(aDevice(), tagged(5, 'no-policy')));

      expect(record.cohort).toBe('no-policy');
      expect(record.renewalDueAt).toBe(DEFAULT_DUE);
    });
  });

  describe('deletion and removal', () => {
    it('clears the renewal of a deleted device', () => {
      const record = appliedRecord(applyAt(RECORDED, waitingForCertificate(), deleted(AT.deleted)));

      expect(record.renewal).toBeUndefined();
      expect(record.renewalDueAt).toBeUndefined();
      expect(nextActionAt(record)).toBeUndefined();
    });

    it('clears the renewal when the device removes its certificate', () => {
      const record = appliedRecord(
        applyAt(
          RECORDED,
          waitingForCertificate(),
          patch(2, null, { occurredAt: AT.renewalReport }),
        ),
      );

      expect(record.renewal).toBeUndefined();
      expect(nextActionAt(record)).toBeUndefined();
    });
  });
});

describe('cohort tags in reports the ledger already has', () => {
  it("applies a newer cohort tag carried by a report whose certificate part is a duplicate (a reconcile's whole twin)", () => {
    const before = flushed(appliedRecord(applyAt(RECORDED, undefined, patch(5, aCertificate()))));
    const again: TwinReportEvent = {
      ...patch(5, aCertificate()),
      twinVersion: 9,
      cohort: { value: 'rsa-legacy' },
    };
    const cohortPolicies: CohortPolicy[] = [
      { cohort: 'rsa-legacy', policy: { kind: 'fraction', fraction: 0.5 } },
    ];

    const record = appliedRecord(applyAt(RECORDED, before, again, cohortPolicies));

    expect(record.cohort).toBe('rsa-legacy');
    expect(record.renewalDueAt).toBe('2026-11-16T00:00:00.000Z');
    expect(applyAt(RECORDED, record, again, cohortPolicies).outcome).toBe('duplicate');
  });
});
