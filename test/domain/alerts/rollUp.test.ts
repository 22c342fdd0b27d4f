import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import { deviceConditions } from '../../../shared/domain/alerts/deviceConditions';
import { nextAlertStates } from '../../../shared/domain/alerts/nextAlertStates';
import { rollUp } from '../../../shared/domain/alerts/rollUp';
import { CRITICAL_FROM, WARNING_FROM, aQuietDevice, described } from './alertFixtures';

const CA = 'CN=Contoso Issuing CA 1, O=Contoso';
const OTHER_CA = 'CN=Fabrikam Devices CA, O=Fabrikam';

function cohort(size: number, issuer: string, prefix = 'sensor'): DeviceRecord[] {
  return Array.from({ length: size }, (_, i) =>
    aQuietDevice(`${prefix}-${String(i).padStart(5, '0')}`, { issuer, cohort: 'line-3' }),
  );
}

function evaluate(records: readonly DeviceRecord[], now: string) {
  const conditions = records.flatMap((r) => deviceConditions(r, now, DEFAULT_ALERT_SETTINGS));
  const { fleet, devices } = rollUp(conditions, DEFAULT_ALERT_SETTINGS);
  return nextAlertStates([], [...fleet, ...devices], now);
}

it('rolls a cohort of 5,000 devices expiring together into one fleet alert', () => {
  const { transitions } = evaluate(cohort(5000, CA), WARNING_FROM);
  const sent = transitions.filter((t) => t.rolledUpInto === undefined);
  expect(described(sent)).toEqual(['raised certificate-expiring:warning']);
  const [fleet] = sent;
  expect(fleet).toMatchObject({
    scope: 'fleet',
    count: 5000,
    validUntil: '2026-12-01T00:00:00.000Z',
  });
  expect(fleet!.sample).toHaveLength(10);
  expect(fleet!.sample![0]).toBe('contoso-hub/sensor-00000');
  expect(fleet!.summary).toBe(
    `5000 devices: certificate-expiring (issuer ${CA}, cohort line-3, expires 2026-12-01).`,
  );
  // The device alerts are kept, marked as covered by the fleet alert.
  const kept = transitions.filter((t) => t.rolledUpInto === fleet!.subject);
  expect(kept).toHaveLength(5000);
});

it('escalates the fleet alert once, not each device, and rolls up the next rule too', () => {
  const records = cohort(5000, CA);
  const warned = evaluate(records, WARNING_FROM);
  const conditions = records.flatMap((r) =>
    deviceConditions(r, CRITICAL_FROM, DEFAULT_ALERT_SETTINGS),
  );
  const { fleet, devices } = rollUp(conditions, DEFAULT_ALERT_SETTINGS);
  const { transitions } = nextAlertStates(warned.states, [...fleet, ...devices], CRITICAL_FROM);
  expect(described(transitions.filter((t) => t.rolledUpInto === undefined))).toEqual([
    'escalated certificate-expiring:critical',
    'raised renewal-overdue:warning',
  ]);
});

it('keeps one fleet alert per cause', () => {
  const { transitions } = evaluate(
    [...cohort(30, CA), ...cohort(25, OTHER_CA, 'meter')],
    WARNING_FROM,
  );
  const sent = transitions.filter((t) => t.rolledUpInto === undefined);
  expect(sent.map((t) => [t.scope, t.count])).toEqual([
    ['fleet', 30],
    ['fleet', 25],
  ]);
});

it('sends each device alert when fewer than 20 devices share the cause', () => {
  const { transitions } = evaluate(cohort(19, CA), WARNING_FROM);
  expect(transitions).toHaveLength(19);
  expect(transitions.every((t) => t.scope === 'device' && t.rolledUpInto === undefined)).toBe(true);
});
