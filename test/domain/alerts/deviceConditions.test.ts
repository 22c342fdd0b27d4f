import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { applyLedgerEvent } from '../../../shared/domain/applyLedgerEvent';
import { AT, aCertificate, aContext, aRenewal, patch } from '../../support/ledgerEvents';
import { finding } from '../../../shared/domain/Finding';
import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import { deviceConditions } from '../../../shared/domain/alerts/deviceConditions';
import {
  AT_DUE,
  accepted,
  asked,
  deepFreeze,
  inCampaign,
  notFound,
  refused,
} from '../../support/renewalRecords';
import {
  CRITICAL_FROM,
  DAY_MS,
  OVERDUE_FROM,
  WARNING_FROM,
  aQuietDevice,
  alertsOf,
  plus,
} from './alertFixtures';

const EXPIRY = '2026-12-01T00:00:00.000Z';
const before = (iso: string) => plus(iso, -1);

/** The record with its connection and last sighting set to recent, so it is not silent. */
function heardFrom(record: DeviceRecord, at = '2026-11-26T00:00:00.000Z'): DeviceRecord {
  return { ...record, connection: { state: 'connected', changedAt: at }, lastSeenAt: at };
}

describe('certificate-expiring', () => {
  it('warns when a certificate with no renewal enters the last 1/8 of its lifetime, not before', () => {
    const record = aQuietDevice();
    expect(alertsOf(record, before(WARNING_FROM))).toEqual([]);
    expect(alertsOf(record, WARNING_FROM)).toContain('certificate-expiring:warning');
  });

  it('turns critical in the last 3 days (the last 10% of a 30-day lifetime)', () => {
    const record = aQuietDevice();
    expect(alertsOf(record, before(CRITICAL_FROM))).toContain('certificate-expiring:warning');
    expect(alertsOf(record, CRITICAL_FROM)).toContain('certificate-expiring:critical');
  });

  it('warns 14 days before a one-year certificate expires and is critical 3 days before', () => {
    const record = aQuietDevice('meter-1', {
      validFrom: '2026-01-01T00:00:00.000Z',
      validUntil: '2027-01-01T00:00:00.000Z',
      renewalDueAt: '2026-12-31T00:00:00.000Z',
    });
    const until = '2027-01-01T00:00:00.000Z';
    expect(alertsOf(record, before(plus(until, -14 * DAY_MS)))).toEqual([]);
    expect(alertsOf(record, plus(until, -14 * DAY_MS))).toEqual(['certificate-expiring:warning']);
    expect(alertsOf(record, plus(until, -3 * DAY_MS))).toEqual(['certificate-expiring:critical']);
  });

  it('stays quiet while a renewal is in flight', () => {
    const waiting = heardFrom(inCampaign());
    const requested = heardFrom(asked(inCampaign(), accepted(), AT_DUE));
    expect(alertsOf(waiting, WARNING_FROM)).toEqual([]);
    expect(alertsOf(requested, WARNING_FROM)).toEqual([]);
    // Later it is overdue, but still not expiring: the renewal is in hand.
    expect(alertsOf(waiting, CRITICAL_FROM)).toEqual(['renewal-overdue:warning']);
  });

  it('fires when the renewal is failing, and is critical at once when it was given up', () => {
    const failing = heardFrom(asked(inCampaign(), refused(), AT_DUE));
    const givenUp = heardFrom(asked(inCampaign(), notFound(), AT_DUE));
    expect(alertsOf(failing, WARNING_FROM)).toContain('certificate-expiring:warning');
    expect(alertsOf(givenUp, WARNING_FROM)).toContain('certificate-expiring:critical');
  });
});

describe('certificate-expired', () => {
  it('fires at validUntil, not a millisecond before, and replaces certificate-expiring', () => {
    const record = aQuietDevice();
    expect(alertsOf(record, before(EXPIRY))).not.toContain('certificate-expired:critical');
    expect(alertsOf(record, EXPIRY)).toEqual(['certificate-expired:critical']);
  });
});

describe('renewal-overdue', () => {
  it('fires 24 hours after renewal fell due with no new certificate, not before', () => {
    const record = heardFrom(inCampaign());
    expect(alertsOf(record, before(OVERDUE_FROM))).toEqual([]);
    expect(alertsOf(record, OVERDUE_FROM)).toEqual(['renewal-overdue:warning']);
  });
});

describe('renewal-failed', () => {
  it('warns when the device refused, a failure that will not heal by waiting', () => {
    const record = heardFrom(asked(inCampaign(), refused(403), AT_DUE));
    const [failed] = deviceConditions(record, AT_DUE, DEFAULT_ALERT_SETTINGS);
    expect(failed).toMatchObject({ rule: 'renewal-failed', severity: 'warning' });
    expect(failed!.summary).toContain('refused to renew (status 403)');
  });

  it('is critical when the campaign was given up', () => {
    const record = heardFrom(asked(inCampaign(), notFound(), AT_DUE));
    expect(alertsOf(record, AT_DUE)).toEqual(['renewal-failed:critical']);
  });
});

describe('device-silent', () => {
  it('fires when a device unheard of for 7 days is inside its renewal window', () => {
    const record: DeviceRecord = {
      ...aQuietDevice(),
      connection: { state: 'disconnected', changedAt: '2026-11-10T00:00:00.000Z' },
      lastSeenAt: '2026-11-10T00:00:00.000Z',
    };
    expect(alertsOf(record, before(AT_DUE))).toEqual([]);
    expect(alertsOf(record, AT_DUE)).toEqual(['device-silent:warning']);
  });

  it('does not fire for a device silent less than 7 days', () => {
    const record: DeviceRecord = {
      ...aQuietDevice(),
      connection: { state: 'disconnected', changedAt: '2026-11-20T00:00:00.000Z' },
      lastSeenAt: '2026-11-20T00:00:00.000Z',
    };
    expect(alertsOf(record, before('2026-11-27T00:00:00.000Z'))).toEqual([]);
    expect(alertsOf(record, '2026-11-27T00:00:00.000Z')).toEqual(['device-silent:warning']);
  });

  it('never fires for a connected device', () => {
    const record = { ...aQuietDevice(), lastSeenAt: '2026-11-01T00:00:00.000Z' };
    expect(alertsOf(record, AT_DUE)).toEqual([]);
  });
});

describe('security findings', () => {
  const at = '2026-11-05T00:00:00.000Z';

  it('alerts on each security finding at the severity the finding has', () => {
    const record: DeviceRecord = {
      ...aQuietDevice(),
      findings: [
        finding('common-name-mismatch', 'certificate CN "x" is not the device id', at),
        finding('chain-untrusted', 'chain does not verify', at),
        finding('private-key-reported', 'key material', at),
        finding('key-not-rotated', 'same key', at),
        finding('reported-field-mismatch', 'thumbprint disagrees', at),
      ],
    };
    expect(alertsOf(record, at)).toEqual([
      'common-name-mismatch:critical',
      'chain-untrusted:critical',
      'private-key-reported:critical',
      'key-not-rotated:warning',
    ]);
  });

  it('says nothing for a finding the operator set to info', () => {
    const record: DeviceRecord = {
      ...aQuietDevice(),
      findings: [
        finding('common-name-mismatch', 'cn', at, undefined, { 'common-name-mismatch': 'info' }),
      ],
    };
    expect(alertsOf(record, at)).toEqual([]);
  });

  it('writes its own summary, never the text a device caused', () => {
    const record: DeviceRecord = {
      ...aQuietDevice(),
      findings: [finding('private-key-reported', '-----BEGIN PRIVATE KEY-----', at)],
    };
    const [alert] = deviceConditions(record, at, DEFAULT_ALERT_SETTINGS);
    expect(alert!.summary).toBe(
      'Device thermostat-0001 in contoso-hub: it sent private key material, which must be treated as leaked.',
    );
  });
});

describe('devices that are not ours to alert on', () => {
  const troubled = (): DeviceRecord => ({
    ...aQuietDevice(),
    findings: [finding('chain-untrusted', 'untrusted', '2026-11-05T00:00:00.000Z')],
  });

  it('has no alerts for a device that moved to another hub', () => {
    const record = troubled();
    record.renewal = { status: 'moved', attempts: 1, failures: 0, reason: 're-registered' };
    expect(alertsOf(record, EXPIRY)).toEqual([]);
  });

  it('has no alerts for a deleted device', () => {
    const record: DeviceRecord = { ...troubled(), lifecycle: 'deleted', deletedAt: AT_DUE };
    expect(alertsOf(record, EXPIRY)).toEqual([]);
  });
});

it('leaves the record it reads untouched', () => {
  const record = deepFreeze(aQuietDevice());
  expect(() => deviceConditions(record, EXPIRY, DEFAULT_ALERT_SETTINGS)).not.toThrow();
});

describe('certificate-changed-unexpectedly', () => {
  const rules = (record: DeviceRecord | undefined, now: string) =>
    record ? deviceConditions(record, now, DEFAULT_ALERT_SETTINGS).map((c) => c.rule) : [];
  const apply = (
    record: DeviceRecord | undefined,
    event: Parameters<typeof applyLedgerEvent>[1],
  ) => {
    const outcome = applyLedgerEvent(record, event, aContext({ now: event.occurredAt }));
    return 'record' in outcome && outcome.record ? outcome.record : record;
  };

  it('holds while the current certificate is one that did not outlive the one it replaced', () => {
    const first = apply(undefined, patch(2, aCertificate(), { occurredAt: AT.firstReport }));
    // A certificate valid only until 20 November replaces the one valid until 1 December.
    const older = apply(
      first,
      patch(
        3,
        aCertificate({
          validFrom: '2026-10-20T00:00:00.000Z',
          validUntil: '2026-11-20T00:00:00.000Z',
        }),
        {
          occurredAt: AT.laterReport,
        },
      ),
    );
    const renewed = apply(older, patch(4, aRenewal(), { occurredAt: AT.renewalReport }));

    expect(rules(first, AT.laterReport)).not.toContain('certificate-changed-unexpectedly');
    expect(rules(older, AT.laterReport)).toContain('certificate-changed-unexpectedly');
    expect(rules(renewed, AT.renewalReport)).not.toContain('certificate-changed-unexpectedly');
  });

  it('is not raised by a renewal', () => {
    const first = apply(undefined, patch(2, aCertificate(), { occurredAt: AT.firstReport }));
    const renewed = apply(first, patch(3, aRenewal(), { occurredAt: AT.renewalReport }));

    expect(renewed?.previous).toBeDefined();
    expect(rules(renewed, AT.renewalReport)).not.toContain('certificate-changed-unexpectedly');
  });
});
