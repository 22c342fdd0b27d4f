import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { appliedRecord, aContext, aRenewal, patch } from '../../support/ledgerEvents';
import { applyLedgerEvent } from '../../../shared/domain/applyLedgerEvent';
import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import { deviceConditions } from '../../../shared/domain/alerts/deviceConditions';
import { nextAlertStates } from '../../../shared/domain/alerts/nextAlertStates';
import { AT_DUE, asked, inCampaign, notFound, refused } from '../../support/renewalRecords';
import {
  CRITICAL_FROM,
  HOUR_MS,
  WARNING_FROM,
  aQuietDevice,
  described,
  driveThrough,
  every,
  plus,
} from './alertFixtures';

const hourly = (from: string, to: string) => every(HOUR_MS, from, to);

/** Connected and heard from, so that only renewal and expiry speak. */
function heardFrom(record: DeviceRecord): DeviceRecord {
  const at = '2026-11-26T00:00:00.000Z';
  return { ...record, connection: { state: 'connected', changedAt: at }, lastSeenAt: at };
}

it('raises certificate-expiring once per episode, however often it is evaluated', () => {
  const record = aQuietDevice();
  const { transitions } = driveThrough(
    hourly('2026-11-26T00:00:00.000Z', '2026-11-27T23:00:00.000Z'),
    () => record,
  );
  const expiring = transitions.filter((t) => t.rule === 'certificate-expiring');
  expect(described(expiring)).toEqual(['raised certificate-expiring:warning']);
  expect(expiring[0]!.at).toBe(WARNING_FROM);
});

it('escalates once when the critical window opens, then expiry raises its own alert', () => {
  const record = aQuietDevice();
  const { transitions } = driveThrough(
    hourly('2026-11-27T00:00:00.000Z', '2026-12-01T06:00:00.000Z'),
    () => record,
  );
  // No renewal started, so renewal-overdue speaks too, 24 hours after renewal fell due.
  expect(described(transitions)).toEqual([
    'raised certificate-expiring:warning',
    'raised renewal-overdue:warning',
    'escalated certificate-expiring:critical',
    'raised certificate-expired:critical',
    'resolved certificate-expiring:critical',
    'resolved renewal-overdue:warning',
  ]);
  expect(transitions.map((t) => t.at)).toEqual([
    WARNING_FROM,
    '2026-11-27T12:00:00.000Z',
    CRITICAL_FROM,
    '2026-12-01T00:00:00.000Z',
    '2026-12-01T00:00:00.000Z',
    '2026-12-01T00:00:00.000Z',
  ]);
});

it('escalates only when the severity rises above the highest it reached', () => {
  const record = aQuietDevice();
  const condition = (severity: 'warning' | 'critical') => ({
    ...deviceConditions(record, WARNING_FROM, DEFAULT_ALERT_SETTINGS)[0]!,
    severity,
  });
  let step = nextAlertStates([], [condition('warning')], '2026-11-27T06:00:00.000Z');
  const kinds = [...step.transitions.map((t) => t.kind)];
  for (const [severity, at] of [
    ['critical', '2026-11-27T07:00:00.000Z'],
    ['warning', '2026-11-27T08:00:00.000Z'],
    ['critical', '2026-11-27T09:00:00.000Z'],
  ] as const) {
    step = nextAlertStates(step.states, [condition(severity)], at);
    kinds.push(...step.transitions.map((t) => t.kind));
  }
  expect(kinds).toEqual(['raised', 'escalated']);
});

it('resolves the alerts when the new certificate arrives', () => {
  const failing = heardFrom(asked(inCampaign(), refused(), AT_DUE));
  const renewed = appliedRecord(
    applyLedgerEvent(failing, patch(2, aRenewal()), aContext({ now: '2026-11-27T10:00:00.000Z' })),
  );
  const { transitions, states } = driveThrough(hourly(AT_DUE, '2026-11-28T00:00:00.000Z'), (now) =>
    now < '2026-11-27T10:00:00.000Z' ? failing : heardFrom(renewed),
  );
  expect(described(transitions)).toEqual([
    'raised renewal-failed:warning',
    'raised certificate-expiring:warning',
    'resolved certificate-expiring:warning',
    'resolved renewal-failed:warning',
  ]);
  expect(transitions.filter((t) => t.kind === 'resolved').map((t) => t.at)).toEqual([
    '2026-11-27T10:00:00.000Z',
    '2026-11-27T10:00:00.000Z',
  ]);
  expect(states).toEqual([]);
});

it('starts a new episode, with a new id, when a resolved condition comes back', () => {
  const givenUp = heardFrom(asked(inCampaign(), notFound(), AT_DUE));
  const healthy = heardFrom(inCampaign());
  const script = (now: string) =>
    now < '2026-11-26T14:00:00.000Z' || now >= '2026-11-26T16:00:00.000Z' ? givenUp : healthy;
  const { transitions } = driveThrough(hourly(AT_DUE, '2026-11-26T17:00:00.000Z'), script);
  expect(described(transitions)).toEqual([
    'raised renewal-failed:critical',
    'resolved renewal-failed:critical',
    'raised renewal-failed:critical',
  ]);
  expect(transitions[0]!.alertId).toBe(transitions[1]!.alertId);
  expect(transitions[2]!.alertId).not.toBe(transitions[0]!.alertId);
});

it('names the same transitions when an evaluation is retried', () => {
  const conditions = deviceConditions(aQuietDevice(), CRITICAL_FROM, DEFAULT_ALERT_SETTINGS);
  const first = nextAlertStates([], conditions, CRITICAL_FROM);
  const retried = nextAlertStates([], conditions, CRITICAL_FROM);
  expect(retried).toEqual(first);
  const later = plus(CRITICAL_FROM, HOUR_MS);
  expect(nextAlertStates(first.states, conditions, later).transitions).toEqual([]);
});

it('gives every transition of an episode its own id', () => {
  const { transitions } = driveThrough(
    hourly('2026-11-27T00:00:00.000Z', '2026-12-01T06:00:00.000Z'),
    () => aQuietDevice(),
  );
  expect(new Set(transitions.map((t) => t.id)).size).toBe(transitions.length);
});
