import { HOUR_MS } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import {
  renewalIndexChange,
  renewalIndexEntry,
} from '../../../shared/domain/renewal/renewalIndexEntry';
import { renewalOf } from '../../../shared/domain/renewal/renewalTransitions';
import { AT_DUE, EXPIRY, aDevice, inCampaign, plus } from '../../support/renewalRecords';
import { DEVICE, HUB } from '../../support/ledgerEvents';

const IN_AN_HOUR = plus(AT_DUE, HOUR_MS);

function retryingAt(
  nextAttemptAt: string,
  status: 'retrying' | 'unreachable' = 'retrying',
): DeviceRecord {
  const record = inCampaign();
  return { ...record, renewal: { ...renewalOf(record), status, nextAttemptAt } };
}

describe('renewalIndexEntry', () => {
  it('indexes a device at its next action, with its expiry and status for the planner', () => {
    expect(renewalIndexEntry(aDevice())).toEqual({
      hub: HUB,
      deviceId: DEVICE,
      actionAt: AT_DUE,
      validUntil: EXPIRY,
      status: 'healthy',
    });
    expect(renewalIndexEntry(retryingAt(IN_AN_HOUR))).toMatchObject({
      actionAt: IN_AN_HOUR,
      status: 'retrying',
    });
  });

  it('leaves out a device with nothing to do: deleted, without a certificate, or expired', () => {
    const device = aDevice();
    expect(renewalIndexEntry({ ...device, lifecycle: 'deleted' })).toBeUndefined();
    expect(renewalIndexEntry({ ...device, current: undefined })).toBeUndefined();
    expect(
      renewalIndexEntry({ ...device, renewal: { status: 'expired', attempts: 0, failures: 0 } }),
    ).toBeUndefined();
  });
});

describe('renewalIndexChange', () => {
  it('puts the entry of a new record and removes nothing', () => {
    expect(renewalIndexChange(undefined, aDevice())).toEqual({
      put: renewalIndexEntry(aDevice()),
    });
  });

  it('leaves the index alone when the entry does not change', () => {
    const device = aDevice();
    expect(renewalIndexChange(device, { ...device, lastSeenAt: IN_AN_HOUR })).toEqual({});
  });

  it('puts the new entry and removes the old one when the next action moves', () => {
    const before = aDevice();
    const after = retryingAt(IN_AN_HOUR);
    expect(renewalIndexChange(before, after)).toEqual({
      put: renewalIndexEntry(after),
      remove: renewalIndexEntry(before),
    });
  });

  it('only puts when the time stays and the status changes: the new entry takes the old one’s place', () => {
    const after = retryingAt(IN_AN_HOUR, 'unreachable');
    expect(renewalIndexChange(retryingAt(IN_AN_HOUR), after)).toEqual({
      put: renewalIndexEntry(after),
    });
  });

  it('only removes when nothing is left to do', () => {
    const before = aDevice();
    expect(renewalIndexChange(before, { ...before, lifecycle: 'deleted' })).toEqual({
      remove: renewalIndexEntry(before),
    });
  });
});
