import { DEFAULT_AUDIT_CHECK_SETTINGS } from '../../../shared/domain/audit/FleetAuditChecks';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import {
  DeviceFilter,
  DeviceFilterQuery,
  deviceChecksOf,
  deviceFilterFrom,
  matchesDeviceFilter,
} from '../../../shared/domain/reports/DeviceFilter';
import { ISSUER, NOW, aDevice } from './reportFixtures';

function filterOf(query: DeviceFilterQuery): DeviceFilter {
  const parsed = deviceFilterFrom(query);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.filter;
}

const checksOf = (record: DeviceRecord) =>
  deviceChecksOf(record, NOW, DEFAULT_AUDIT_CHECK_SETTINGS);

function passing(records: DeviceRecord[], query: DeviceFilterQuery): string[] {
  const filter = filterOf(query);
  return records.filter((r) => matchesDeviceFilter(r, filter, checksOf)).map((r) => r.deviceId);
}

const fleet = [
  aDevice('healthy'),
  aDevice('retrying', { renewal: { status: 'retrying', attempts: 1, failures: 1 } }),
  aDevice('no-certificate', { certificate: null }),
  aDevice('expiring', {
    certificate: { validFrom: '2026-11-01T00:00:00.000Z', validUntil: '2026-12-01T00:00:00.000Z' },
  }),
  aDevice('expired', {
    certificate: { validFrom: '2026-10-01T00:00:00.000Z', validUntil: '2026-11-01T00:00:00.000Z' },
  }),
  aDevice('partner', {
    hub: 'plant-b',
    cohort: 'line-7',
    certificate: { issuer: 'O=Partner,CN=Partner CA' },
  }),
  aDevice('weak', { certificate: { keyAlgorithm: 'RSA 1024', keySize: 1024 } }),
];
fleet[1]!.findings = [
  {
    code: 'chain-untrusted',
    severity: 'critical',
    message: 'chain does not verify',
    detectedAt: '2026-11-01T00:00:00.000Z',
  },
];

describe('the device report filter', () => {
  it('passes every device when empty', () => {
    expect(passing(fleet, {})).toHaveLength(fleet.length);
  });

  it('filters by state, with unknown for a device that has no certificate yet', () => {
    expect(passing(fleet, { state: 'retrying' })).toEqual(['retrying']);
    expect(passing(fleet, { state: 'unknown' })).toEqual(['no-certificate']);
  });

  it('filters by expiry before a date (midnight UTC) or a time, expired ones included', () => {
    expect(passing(fleet, { expiringBefore: '2026-12-01' })).toEqual(['expired']);
    expect(passing(fleet, { expiringBefore: '2026-12-01T00:00:00.001Z' })).toEqual([
      'expiring',
      'expired',
    ]);
  });

  it('compares issuers as distinguished names, and matches unknown to no issuer', () => {
    expect(passing(fleet, { issuer: 'CN=Partner CA, O=Partner' })).toEqual(['partner']);
    expect(passing(fleet, { issuer: 'unknown' })).toEqual(['no-certificate']);
    expect(passing(fleet, { issuer: ISSUER })).toHaveLength(5);
  });

  it('filters by hub (any way IoT Hub names it) and by cohort, default for none', () => {
    expect(passing(fleet, { hub: 'Plant-B.azure-devices.net' })).toEqual(['partner']);
    expect(passing(fleet, { cohort: 'line-7' })).toEqual(['partner']);
    expect(passing(fleet, { cohort: 'default' })).toHaveLength(6);
  });

  it('filters by a finding code on the record or by a fleet audit check', () => {
    expect(passing(fleet, { finding: 'chain-untrusted' })).toEqual(['retrying']);
    expect(passing(fleet, { finding: 'weak-key-or-signature' })).toEqual(['weak']);
    expect(passing(fleet, { finding: 'device-certificate-expiring' })).toEqual([
      'expiring',
      'expired',
    ]);
  });

  it('requires every given field to hold', () => {
    expect(passing(fleet, { hub: 'plant-b', state: 'retrying' })).toEqual([]);
  });

  it.each([
    [{ state: 'sleeping' }, /^state must be one of healthy, due, requested/],
    [{ state: 'moved' }, /^state must be one of/],
    [{ expiringBefore: '2026-02-30' }, /^expiringBefore must be a UTC date/],
    [{ expiringBefore: 'tomorrow' }, /^expiringBefore must be a UTC date/],
    [{ expiringBefore: '2026-12-01T00:00:00' }, /^expiringBefore must be a UTC date/],
    [{ hub: 'no_such/hub' }, /^hub must be an IoT Hub name/],
    [{ issuer: '  ' }, /^issuer must be a distinguished name/],
    [{ finding: 'everything' }, /^finding must be an audit check or a finding code/],
    [{ finding: 'ca-certificate-expiring' }, /names no device/],
  ])('refuses %j with a sentence naming the field', (query, problem) => {
    const parsed = deviceFilterFrom(query);
    expect('problem' in parsed && parsed.problem).toMatch(problem);
  });
});
