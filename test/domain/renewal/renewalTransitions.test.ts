import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { RenewalStatus } from '../../../shared/domain/renewal/RenewalState';
import {
  attemptAnswered,
  certificateExpired,
  deadlinePassed,
  deviceConnected,
  inCampaign as isInCampaign,
  nextRequest,
  renewalOf,
  startCampaign,
} from '../../../shared/domain/renewal/renewalTransitions';
import { DEVICE, FIRST, HUB } from '../../support/ledgerEvents';
import {
  AT_DUE,
  EXPIRY,
  TIMING,
  aDevice,
  accepted,
  asked,
  deepFreeze,
  flushed,
  inCampaign,
  notFound,
  offline,
  plus,
  refused,
  serviceError,
  throttled,
  timedOut,
} from '../../support/renewalRecords';

const auditTypes = (record: DeviceRecord) => record.pendingAudit.map((entry) => entry.type);

/** A device in the given status, with a campaign started at AT_DUE. */
function inStatus(status: RenewalStatus): DeviceRecord {
  const record = inCampaign();
  record.renewal = { ...renewalOf(record), status };
  return record;
}

/** A device that accepted a request at AT_DUE: it waits for a certificate until the deadline. */
function requested(): DeviceRecord {
  return flushed(asked(inCampaign(), accepted(), AT_DUE));
}

describe('renewal transitions', () => {
  describe('startCampaign', () => {
    it('starts a campaign that falls due now and audits it as renewal.due', () => {
      const record = startCampaign(aDevice(), AT_DUE, 'due');

      expect(record.renewal).toEqual({
        status: 'due',
        campaignId: expect.stringMatching(/^[0-9a-f]{32}$/),
        startedAt: AT_DUE,
        trigger: 'due',
        attempts: 0,
        failures: 0,
        nextAttemptAt: AT_DUE,
      });
      expect(record.updatedAt).toBe(AT_DUE);
      expect(record.pendingAudit).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          type: 'renewal.due',
          hub: HUB,
          deviceId: DEVICE,
          occurredAt: AT_DUE,
          recordedAt: AT_DUE,
          renewal: {
            campaignId: record.renewal?.campaignId,
            trigger: 'due',
            attempts: 0,
            failures: 0,
          },
        },
      ]);
    });

    it('records a campaign the capacity planner started early as a capacity campaign', () => {
      const early = plus(AT_DUE, -3 * HOUR_MS);

      const record = startCampaign(aDevice(), early, 'capacity');

      expect(record.renewal).toMatchObject({
        status: 'due',
        trigger: 'capacity',
        startedAt: early,
      });
      expect(record.pendingAudit[0]?.renewal?.trigger).toBe('capacity');
      expect(record.pendingAudit[0]?.renewal?.requestedBy).toBeUndefined();
    });

    it('records who asked for a manual renewal and why', () => {
      const record = startCampaign(aDevice(), '2026-11-10T09:30:00.000Z', 'manual', {
        who: 'ops@contoso.example',
        why: 'issuing CA rotated',
      });

      expect(record.renewal).toMatchObject({ status: 'due', trigger: 'manual' });
      expect(record.pendingAudit).toEqual([
        expect.objectContaining({
          type: 'renewal.due',
          occurredAt: '2026-11-10T09:30:00.000Z',
          detail: 'manual renewal: issuing CA rotated',
          renewal: expect.objectContaining({
            trigger: 'manual',
            requestedBy: 'ops@contoso.example',
          }),
        }),
      ]);
    });

    it.each<RenewalStatus>(['due', 'requested', 'retrying', 'unreachable'])(
      'keeps the running campaign of a device that is %s when a person asks, asks again now and records who and why',
      (status) => {
        const record = inStatus(status);
        const asked = plus(AT_DUE, HOUR_MS);

        const next = startCampaign(record, asked, 'manual', {
          who: 'ops@contoso.example',
          why: 'again',
        });

        expect(renewalOf(next)).toMatchObject({
          status: 'due',
          nextAttemptAt: asked,
          startedAt: AT_DUE,
          campaignId: renewalOf(record).campaignId,
        });
        expect(next.pendingAudit.map((e) => [e.type, e.renewal?.requestedBy, e.detail])).toEqual([
          ['renewal.due', 'ops@contoso.example', 'manual renewal: again'],
        ]);
      },
    );

    it('starts a new campaign when a person asks to renew a device certfleet gave up on', () => {
      const record = inStatus('failed');
      const next = startCampaign(record, plus(AT_DUE, HOUR_MS), 'manual', {
        who: 'ops',
        why: 'fixed',
      });

      expect(renewalOf(next)).toMatchObject({
        status: 'due',
        attempts: 0,
        failures: 0,
        trigger: 'manual',
      });
      expect(renewalOf(next).campaignId).not.toBe(renewalOf(record).campaignId);
    });

    it('keeps a running campaign when renewal merely falls due again', () => {
      const record = inStatus('retrying');
      expect(startCampaign(record, plus(AT_DUE, HOUR_MS), 'due')).toBe(record);
    });

    it('starts no campaign for a device that has no certificate', () => {
      const record = { ...aDevice(), current: undefined };

      expect(startCampaign(record, AT_DUE, 'due')).toBe(record);
    });

    it('gives the same campaign the same id and a campaign started at another time another id', () => {
      const a = startCampaign(aDevice(), AT_DUE, 'due');
      const b = startCampaign(aDevice(), AT_DUE, 'due');
      const c = startCampaign(aDevice(), plus(AT_DUE, MINUTE_MS), 'due');

      expect(b.renewal?.campaignId).toBe(a.renewal?.campaignId);
      expect(b.pendingAudit[0]?.id).toBe(a.pendingAudit[0]?.id);
      expect(c.renewal?.campaignId).not.toBe(a.renewal?.campaignId);
      expect(c.pendingAudit[0]?.id).not.toBe(a.pendingAudit[0]?.id);
    });

    it('counts due, requested, retrying, unreachable and failed as in a campaign, healthy and expired not', () => {
      const statuses: RenewalStatus[] = [
        'healthy',
        'due',
        'requested',
        'retrying',
        'unreachable',
        'failed',
        'expired',
      ];

      expect(statuses.filter((s) => isInCampaign(inStatus(s)))).toEqual([
        'due',
        'requested',
        'retrying',
        'unreachable',
        'failed',
      ]);
    });
  });

  describe('nextRequest', () => {
    it('derives the request id from the campaign and the attempt, so a retried sweep reuses it', () => {
      const record = inCampaign();

      const first = nextRequest(record, AT_DUE, TIMING);
      const again = nextRequest(record, plus(AT_DUE, 30_000), TIMING);
      const afterAnAttempt = nextRequest(
        flushed(asked(record, refused(), AT_DUE)),
        plus(AT_DUE, HOUR_MS),
        TIMING,
      );
      const otherCampaign = nextRequest(inCampaign(plus(AT_DUE, MINUTE_MS)), AT_DUE, TIMING);

      expect(first.requestId).toMatch(/^[0-9a-f]{32}$/);
      expect(again.requestId).toBe(first.requestId);
      expect(afterAnAttempt.requestId).not.toBe(first.requestId);
      expect(otherCampaign.requestId).not.toBe(first.requestId);
    });

    it('gives the device until now plus the request timeout to report its new certificate', () => {
      const request = nextRequest(inCampaign(), AT_DUE, TIMING);

      expect(request).toEqual({
        requestId: expect.any(String),
        reason: 'due',
        currentValidUntil: FIRST.validUntil,
        deadline: '2026-11-26T13:00:00.000Z',
      });
    });

    it('never sets the deadline after the certificate expires', () => {
      const tenMinutesBefore = plus(EXPIRY, -10 * MINUTE_MS);

      const request = nextRequest(inCampaign(tenMinutesBefore), tenMinutesBefore, TIMING);

      expect(request.deadline).toBe(EXPIRY);
    });

    it('gives the campaign trigger as the first attempt’s reason and retry after it', () => {
      const record = inCampaign(AT_DUE, 'capacity');
      const afterRefusal = flushed(asked(record, refused(), AT_DUE));

      expect(nextRequest(record, AT_DUE, TIMING).reason).toBe('capacity');
      expect(nextRequest(afterRefusal, plus(AT_DUE, HOUR_MS), TIMING).reason).toBe('retry');
    });

    it('reuses the request of a call that was throttled, since it counted no attempt', () => {
      const record = inCampaign();
      const first = nextRequest(record, AT_DUE, TIMING);
      const afterThrottling = attemptAnswered(record, first, throttled(), AT_DUE, TIMING);

      const next = nextRequest(afterThrottling, plus(AT_DUE, MINUTE_MS), TIMING);

      expect(next.requestId).toBe(first.requestId);
      expect(next.reason).toBe('due');
    });

    it('refuses to build a request for a device without a campaign', () => {
      expect(() => nextRequest(aDevice(), AT_DUE, TIMING)).toThrow(
        `${DEVICE} has no renewal campaign`,
      );
    });
  });

  describe('attemptAnswered', () => {
    it('waits for the new certificate until the deadline when the device accepts', () => {
      const record = inCampaign();
      const request = nextRequest(record, AT_DUE, TIMING);

      const next = attemptAnswered(record, request, accepted(202), AT_DUE, TIMING);

      expect(next.renewal).toEqual({
        status: 'requested',
        campaignId: renewalOf(record).campaignId,
        startedAt: AT_DUE,
        trigger: 'due',
        attempts: 1,
        failures: 0,
        lastAttempt: {
          at: AT_DUE,
          requestId: request.requestId,
          outcome: 'accepted',
          status: 202,
        },
        deadline: request.deadline,
      });
      expect(next.updatedAt).toBe(AT_DUE);
      expect(next.pendingAudit).toEqual([
        expect.objectContaining({
          type: 'renewal.requested',
          occurredAt: AT_DUE,
          renewal: {
            campaignId: renewalOf(record).campaignId,
            trigger: 'due',
            requestId: request.requestId,
            attempts: 1,
            failures: 0,
            outcome: 'accepted',
            status: 202,
          },
        }),
      ]);
    });

    it('forgets why the last attempt failed once the device accepts', () => {
      const retrying = flushed(asked(inCampaign(), refused(), AT_DUE));
      expect(renewalOf(retrying).reason).toBeDefined();

      const next = asked(retrying, accepted(200), plus(AT_DUE, HOUR_MS));

      expect(next.renewal).toMatchObject({ status: 'requested', attempts: 2, failures: 1 });
      expect(next.renewal?.reason).toBeUndefined();
      expect(next.renewal?.nextAttemptAt).toBeUndefined();
    });

    it('retries a refusal an hour later, counts the failure and audits the attempt and the failure', () => {
      const next = asked(inCampaign(), refused(503), AT_DUE);

      expect(next.renewal).toMatchObject({
        status: 'retrying',
        attempts: 1,
        failures: 1,
        reason: 'device refused (status 503)',
        nextAttemptAt: '2026-11-26T13:00:00.000Z',
        lastAttempt: { outcome: 'refused', status: 503 },
      });
      expect(next.renewal?.deadline).toBeUndefined();
      expect(auditTypes(next)).toEqual(['renewal.requested', 'renewal.failed']);
      expect(next.pendingAudit[0]?.renewal).toMatchObject({ outcome: 'refused', status: 503 });
      expect(next.pendingAudit[1]?.renewal).toMatchObject({
        attempts: 1,
        failures: 1,
        reason: 'device refused (status 503)',
      });
    });

    it('doubles the wait after each refusal, from 1 h up to 32 h', () => {
      let record = inCampaign();
      let now = AT_DUE;
      const waits: number[] = [];
      for (let i = 0; i < 7; i += 1) {
        record = flushed(asked(record, refused(), now));
        const next = renewalOf(record).nextAttemptAt!;
        waits.push((Date.parse(next) - Date.parse(now)) / HOUR_MS);
        now = next;
      }

      // 1 h doubling to 32 h; the seventh wait would be 32 h, but only 45 h are left before the
      // certificate expires: a backoff waits at most half the time left.
      expect(waits).toEqual([1, 2, 4, 8, 16, 32, 22.5]);
      expect(renewalOf(record)).toMatchObject({ status: 'retrying', attempts: 7, failures: 7 });
    });

    it('never backs off past the last chances before expiry, nor below the shortest backoff', () => {
      const record = inCampaign();
      const validUntil = Date.parse(record.current!.validUntil);
      const late = new Date(validUntil - 90 * 60_000).toISOString();
      const later = flushed(asked(record, refused(), late));
      const wait = Date.parse(renewalOf(later).nextAttemptAt!) - Date.parse(late);

      expect(wait).toBe(45 * 60_000); // half the 90 minutes left, not the 1 h backoff
      const veryLate = new Date(validUntil - 4 * 60_000).toISOString();
      const last = flushed(asked(record, refused(), veryLate));
      expect(Date.parse(renewalOf(last).nextAttemptAt!) - Date.parse(veryLate)).toBe(5 * 60_000);
    });

    it('abandons the campaign at the maximum number of failures', () => {
      const timing = { ...TIMING, maxFailures: 2 };
      const once = flushed(asked(inCampaign(), refused(), AT_DUE, timing));

      const next = asked(once, refused(403), plus(AT_DUE, HOUR_MS), timing);

      expect(next.renewal).toMatchObject({
        status: 'failed',
        attempts: 2,
        failures: 2,
        reason: '2 failed attempts; last: device refused (status 403)',
      });
      expect(next.renewal?.nextAttemptAt).toBeUndefined();
      expect(auditTypes(next)).toEqual([
        'renewal.requested',
        'renewal.failed',
        'renewal.abandoned',
      ]);
      expect(next.pendingAudit[2]?.renewal?.reason).toBe(
        '2 failed attempts; last: device refused (status 403)',
      );
    });

    it('gives up after eight failures under the default timing', () => {
      let record = inCampaign();
      let now = AT_DUE;
      for (let i = 0; i < 7; i += 1) {
        record = flushed(asked(record, refused(), now));
        now = renewalOf(record).nextAttemptAt!;
      }

      const next = asked(record, refused(), now);

      expect(renewalOf(next).status).toBe('failed');
      expect(auditTypes(next)).toContain('renewal.abandoned');
    });

    it('retries a device that did not answer in time sooner than a refusal, doubling up to an hour', () => {
      let record = inCampaign();
      let now = AT_DUE;
      const waits: number[] = [];
      for (let i = 0; i < 6; i += 1) {
        record = asked(record, timedOut(), now);
        expect(auditTypes(record)).toEqual(['renewal.requested', 'renewal.failed']);
        record = flushed(record);
        const next = renewalOf(record).nextAttemptAt!;
        waits.push((Date.parse(next) - Date.parse(now)) / MINUTE_MS);
        now = next;
      }

      expect(waits).toEqual([5, 10, 20, 40, 60, 60]);
      expect(renewalOf(record)).toMatchObject({
        status: 'retrying',
        failures: 6,
        reason: 'device did not answer in time (504101)',
        lastAttempt: { outcome: 'timeout' },
      });
    });

    it('marks an offline device unreachable without counting a failure and rechecks it six hours later', () => {
      const next = asked(inCampaign(), offline(), AT_DUE);

      expect(next.renewal).toMatchObject({
        status: 'unreachable',
        attempts: 1,
        failures: 0,
        reason: 'device offline (404103)',
        nextAttemptAt: '2026-11-26T18:00:00.000Z',
        lastAttempt: { outcome: 'offline' },
      });
      expect(auditTypes(next)).toEqual(['renewal.requested']);
      expect(next.pendingAudit[0]?.renewal).toMatchObject({ outcome: 'offline' });
      expect(next.pendingAudit[0]?.renewal?.status).toBeUndefined();
    });

    it('never gives up on a device that is only offline', () => {
      let record = inCampaign();
      let now = AT_DUE;
      for (let i = 0; i < 3 * TIMING.maxFailures; i += 1) {
        record = flushed(asked(record, offline(), now));
        now = renewalOf(record).nextAttemptAt!;
      }

      expect(renewalOf(record)).toMatchObject({
        status: 'unreachable',
        failures: 0,
        attempts: 3 * TIMING.maxFailures,
      });
    });

    it('abandons the campaign of a device IoT Hub does not know or has disabled', () => {
      const next = asked(inCampaign(), notFound(), AT_DUE);

      expect(next.renewal).toMatchObject({
        status: 'failed',
        attempts: 1,
        failures: 0,
        reason: 'device not found or disabled in IoT Hub (404001)',
      });
      expect(next.renewal?.nextAttemptAt).toBeUndefined();
      expect(auditTypes(next)).toEqual(['renewal.requested', 'renewal.abandoned']);
      expect(next.pendingAudit[0]?.renewal).toMatchObject({ outcome: 'not-found' });
    });

    it.each([
      ['throttled', throttled()],
      ['a service error', serviceError()],
    ])(
      'counts no attempt and audits nothing when the call was %s, trying again a minute later',
      (_what, outcome) => {
        const record = inCampaign();

        const next = asked(record, outcome, AT_DUE);

        expect(next.renewal).toEqual({
          ...record.renewal,
          status: 'due',
          nextAttemptAt: plus(AT_DUE, TIMING.serviceRetryMs),
        });
        expect(next.pendingAudit).toEqual([]);
        expect(next.updatedAt).toBe(AT_DUE);
      },
    );

    it('honours a Retry-After longer than the service retry', () => {
      const next = asked(inCampaign(), throttled(5 * MINUTE_MS), AT_DUE);

      expect(renewalOf(next).nextAttemptAt).toBe(plus(AT_DUE, 5 * MINUTE_MS));
    });

    it('waits at least the service retry when Retry-After is shorter', () => {
      const next = asked(inCampaign(), throttled(10_000), AT_DUE);

      expect(renewalOf(next).nextAttemptAt).toBe(plus(AT_DUE, TIMING.serviceRetryMs));
    });

    it('keeps a retrying device retrying, with its counts, through throttling', () => {
      const retrying = flushed(asked(inCampaign(), refused(), AT_DUE));
      const later = plus(AT_DUE, HOUR_MS);

      const next = asked(retrying, throttled(), later);

      expect(renewalOf(next)).toMatchObject({
        status: 'retrying',
        attempts: 1,
        failures: 1,
        nextAttemptAt: plus(later, TIMING.serviceRetryMs),
      });
    });

    it('puts a healthy device in line when a service error answers its first call', () => {
      const record = aDevice();
      const request = {
        requestId: 'r',
        reason: 'due',
        currentValidUntil: EXPIRY,
        deadline: EXPIRY,
      };

      const next = attemptAnswered(record, request, serviceError(), AT_DUE, TIMING);

      expect(renewalOf(next)).toMatchObject({
        status: 'due',
        attempts: 0,
        nextAttemptAt: plus(AT_DUE, MINUTE_MS),
      });
    });
  });

  describe('deadlinePassed', () => {
    it('retries a request whose deadline passed without a new certificate', () => {
      const record = requested();
      const deadline = renewalOf(record).deadline!;

      const next = deadlinePassed(record, deadline, TIMING);

      expect(next.renewal).toMatchObject({
        status: 'retrying',
        attempts: 1,
        failures: 1,
        reason: 'no new certificate reported by the deadline',
        nextAttemptAt: plus(deadline, HOUR_MS),
      });
      expect(next.renewal?.deadline).toBeUndefined();
      expect(next.updatedAt).toBe(deadline);
      expect(next.pendingAudit).toEqual([
        expect.objectContaining({
          type: 'renewal.failed',
          occurredAt: deadline,
          renewal: expect.objectContaining({
            reason: 'no new certificate reported by the deadline',
            failures: 1,
          }),
        }),
      ]);
    });

    it('leaves a request alone until its deadline', () => {
      const record = requested();

      const next = deadlinePassed(record, plus(renewalOf(record).deadline!, -1), TIMING);

      expect(next).toBe(record);
    });

    it.each<RenewalStatus>(['healthy', 'due', 'retrying', 'unreachable', 'failed', 'expired'])(
      'ignores a device that is %s',
      (status) => {
        const record = inStatus(status);
        record.renewal = { ...renewalOf(record), deadline: AT_DUE };

        expect(deadlinePassed(record, plus(AT_DUE, HOUR_MS), TIMING)).toBe(record);
      },
    );

    it('abandons the campaign when the missed deadline is the last failure allowed', () => {
      const timing = { ...TIMING, maxFailures: 1 };
      const record = requested();

      const next = deadlinePassed(record, plus(AT_DUE, 2 * HOUR_MS), timing);

      expect(renewalOf(next).status).toBe('failed');
      expect(auditTypes(next)).toEqual(['renewal.failed', 'renewal.abandoned']);
    });
  });

  describe('certificateExpired', () => {
    it('marks a certificate that expired unrenewed and audits it with the old identity', () => {
      const record = flushed(asked(inCampaign(), refused(), AT_DUE));

      const next = certificateExpired(record, EXPIRY);

      expect(next.renewal).toMatchObject({
        status: 'expired',
        campaignId: renewalOf(record).campaignId,
        reason: `certificate expired at ${EXPIRY}`,
      });
      expect(next.renewal?.nextAttemptAt).toBeUndefined();
      expect(next.renewal?.deadline).toBeUndefined();
      expect(next.updatedAt).toBe(EXPIRY);
      expect(next.pendingAudit).toEqual([
        expect.objectContaining({
          type: 'certificate.expired',
          occurredAt: EXPIRY,
          old: {
            validFrom: FIRST.validFrom,
            validUntil: FIRST.validUntil,
            subject: `CN=${DEVICE}, O=Contoso`,
          },
          detail: 'the device must re-provision through DPS with its onboarding credential',
        }),
      ]);
    });

    it('records the expiry of a device that was never asked', () => {
      const next = certificateExpired(aDevice(), plus(EXPIRY, MINUTE_MS));

      expect(renewalOf(next).status).toBe('expired');
      expect(auditTypes(next)).toEqual(['certificate.expired']);
    });

    it('records an expiry once', () => {
      const expired = flushed(certificateExpired(inCampaign(), EXPIRY));

      const again = certificateExpired(expired, plus(EXPIRY, HOUR_MS));

      expect(again).toBe(expired);
    });

    it('does nothing before the certificate expires', () => {
      const record = inCampaign();

      expect(certificateExpired(record, plus(EXPIRY, -1))).toBe(record);
    });

    it('does nothing for a device without a certificate', () => {
      const record = { ...aDevice(), current: undefined };

      expect(certificateExpired(record, EXPIRY)).toBe(record);
    });
  });

  describe('deviceConnected', () => {
    it.each<RenewalStatus>(['unreachable', 'due'])(
      'asks a device that is %s right away when it connects',
      (status) => {
        const record = inStatus(status);
        record.renewal = { ...renewalOf(record), nextAttemptAt: plus(AT_DUE, 6 * HOUR_MS) };
        const connectedAt = plus(AT_DUE, 2 * HOUR_MS);

        const { record: next, askNow } = deviceConnected(record, connectedAt);

        expect(askNow).toBe(true);
        expect(renewalOf(next)).toEqual({ ...renewalOf(record), nextAttemptAt: connectedAt });
      },
    );

    it.each<RenewalStatus>(['healthy', 'requested', 'retrying', 'failed', 'expired'])(
      'does not ask a device that is %s when it connects',
      (status) => {
        const record = inStatus(status);

        const { record: next, askNow } = deviceConnected(record, plus(AT_DUE, HOUR_MS));

        expect(askNow).toBe(false);
        expect(next).toBe(record);
      },
    );
  });

  describe('audit ids', () => {
    /** A campaign through every kind of answer, collecting the audit entries as they come. */
    function history() {
      const ids: string[] = [];
      const take = (record: DeviceRecord) => {
        ids.push(...record.pendingAudit.map((entry) => entry.id));
        return flushed(record);
      };
      let record = take(startCampaign(aDevice(), AT_DUE, 'due'));
      let now = AT_DUE;
      for (const outcome of [refused(), timedOut(), offline(), throttled(), accepted()]) {
        record = take(asked(record, outcome, now));
        now = renewalOf(record).nextAttemptAt ?? renewalOf(record).deadline!;
      }
      record = take(deadlinePassed(record, now, TIMING));
      record = take(asked(record, accepted(), renewalOf(record).nextAttemptAt!));
      take(certificateExpired(record, EXPIRY));
      return ids;
    }

    it('gives every entry of a campaign its own id', () => {
      const ids = history();

      expect(ids).toHaveLength(10);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('gives the same history the same ids', () => {
      expect(history()).toEqual(history());
    });
  });

  describe('purity', () => {
    it('never changes the record it is given', () => {
      const fresh = deepFreeze(aDevice());
      const campaign = deepFreeze(inCampaign());
      const waiting = deepFreeze(requested());
      const unreachable = deepFreeze(flushed(asked(inCampaign(), offline(), AT_DUE)));
      const snapshots = [fresh, campaign, waiting, unreachable].map((r) => structuredClone(r));
      const request = nextRequest(campaign, AT_DUE, TIMING);

      startCampaign(fresh, AT_DUE, 'manual', { who: 'ops', why: 'test' });
      for (const outcome of [
        accepted(),
        refused(),
        offline(),
        notFound(),
        timedOut(),
        throttled(),
        serviceError(),
      ]) {
        attemptAnswered(campaign, request, outcome, AT_DUE, TIMING);
      }
      deadlinePassed(waiting, plus(AT_DUE, 2 * HOUR_MS), TIMING);
      certificateExpired(campaign, EXPIRY);
      deviceConnected(unreachable, plus(AT_DUE, HOUR_MS));

      expect([fresh, campaign, waiting, unreachable]).toEqual(snapshots);
    });
  });
});
