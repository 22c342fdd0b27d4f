import { HOUR_MS } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { RenewalState } from '../../../shared/domain/renewal/RenewalState';
import { nextActionAt } from '../../../shared/domain/renewal/nextActionAt';
import { AT_DUE, EXPIRY, aDevice, plus } from '../../support/renewalRecords';

const IN_AN_HOUR = plus(AT_DUE, HOUR_MS);
const AFTER_EXPIRY = plus(EXPIRY, HOUR_MS);

function withRenewal(renewal: Partial<RenewalState>): DeviceRecord {
  return {
    ...aDevice(),
    renewal: { status: 'healthy', campaignId: 'c', attempts: 1, failures: 0, ...renewal },
  };
}

describe('nextActionAt', () => {
  it('is the renewal due time of a healthy device', () => {
    expect(nextActionAt(aDevice())).toBe(AT_DUE);
  });

  it('is the expiry of a healthy device whose renewal time is unknown', () => {
    expect(nextActionAt({ ...aDevice(), renewalDueAt: undefined })).toBe(EXPIRY);
  });

  it('is never later than the certificate’s expiry, whatever the policy says', () => {
    expect(nextActionAt({ ...aDevice(), renewalDueAt: AFTER_EXPIRY })).toBe(EXPIRY);
  });

  it.each(['due', 'retrying', 'unreachable'] as const)(
    'is the next attempt of a device that is %s',
    (status) => {
      expect(nextActionAt(withRenewal({ status, nextAttemptAt: IN_AN_HOUR }))).toBe(IN_AN_HOUR);
    },
  );

  it.each(['due', 'retrying', 'unreachable'] as const)(
    'is the expiry when the next attempt of a device that is %s would come after it',
    (status) => {
      expect(nextActionAt(withRenewal({ status, nextAttemptAt: AFTER_EXPIRY }))).toBe(EXPIRY);
    },
  );

  it('is the expiry of a device waiting for an attempt with no time set', () => {
    expect(nextActionAt(withRenewal({ status: 'due' }))).toBe(EXPIRY);
  });

  it('is the deadline of a device asked to renew', () => {
    expect(nextActionAt(withRenewal({ status: 'requested', deadline: IN_AN_HOUR }))).toBe(
      IN_AN_HOUR,
    );
  });

  it('is the expiry of a device whose deadline falls after it', () => {
    expect(nextActionAt(withRenewal({ status: 'requested', deadline: AFTER_EXPIRY }))).toBe(EXPIRY);
  });

  it('is the expiry of a device certfleet gave up on, so the expiry is recorded', () => {
    expect(nextActionAt(withRenewal({ status: 'failed', nextAttemptAt: IN_AN_HOUR }))).toBe(EXPIRY);
  });

  it('is nothing for a certificate already recorded as expired', () => {
    expect(nextActionAt(withRenewal({ status: 'expired' }))).toBeUndefined();
  });

  it('is nothing for a deleted device', () => {
    expect(nextActionAt({ ...aDevice(), lifecycle: 'deleted' })).toBeUndefined();
  });

  it('is nothing for a device without a certificate', () => {
    expect(nextActionAt({ ...aDevice(), current: undefined })).toBeUndefined();
  });
});
