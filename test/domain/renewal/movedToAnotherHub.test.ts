import { CertificateFacts } from '../../../shared/domain/Certificate';
import { HOUR_MS } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { nextActionAt } from '../../../shared/domain/renewal/nextActionAt';
import { renewalIndexEntry } from '../../../shared/domain/renewal/renewalIndexEntry';
import {
  inCampaign as isInCampaign,
  movedToAnotherHub,
  renewalOf,
} from '../../../shared/domain/renewal/renewalTransitions';
import { FIRST, RENEWED } from '../../support/ledgerEvents';
import {
  AT_DUE,
  aDevice,
  accepted,
  asked,
  deepFreeze,
  flushed,
  inCampaign,
  offline,
  plus,
} from '../../support/renewalRecords';

const OTHER_HUB = 'fabrikam-hub';
const MOVED_AT = plus(AT_DUE, 2 * HOUR_MS);

/** The certificate the device got when DPS assigned it to the other hub. */
const REPROVISIONED: CertificateFacts = {
  source: 'reported',
  ...RENEWED,
  firstSeenAt: MOVED_AT,
  reportedVersion: 2,
};

function requested(): DeviceRecord {
  return flushed(asked(inCampaign(), accepted(), AT_DUE));
}

describe('movedToAnotherHub', () => {
  it('ends a running campaign as moved, naming the new hub, and leaves nothing to do', () => {
    const before = requested();
    const record = movedToAnotherHub(deepFreeze(before), OTHER_HUB, REPROVISIONED, MOVED_AT);

    expect(renewalOf(record)).toMatchObject({
      status: 'moved',
      campaignId: renewalOf(before).campaignId,
      reason: `re-registered through DPS in hub ${OTHER_HUB}`,
    });
    expect(renewalOf(record).deadline).toBeUndefined();
    expect(renewalOf(record).nextAttemptAt).toBeUndefined();
    expect(isInCampaign(record)).toBe(false);
    expect(nextActionAt(record)).toBeUndefined();
    expect(renewalIndexEntry(record)).toBeUndefined();
    // The record and its history stay, for auditors.
    expect(record.current).toEqual(before.current);
    expect(record.lifecycle).toBe('active');
  });

  it('audits the move as renewal.moved, with the old certificate and the new one', () => {
    const record = movedToAnotherHub(requested(), OTHER_HUB, REPROVISIONED, MOVED_AT);

    expect(record.pendingAudit).toEqual([
      expect.objectContaining({
        type: 'renewal.moved',
        occurredAt: MOVED_AT,
        detail: `re-registered through DPS in hub ${OTHER_HUB}`,
        old: expect.objectContaining({ validFrom: FIRST.validFrom }),
        new: expect.objectContaining({ validFrom: RENEWED.validFrom }),
        renewal: expect.objectContaining({ attempts: 1, failures: 0 }),
      }),
    ]);
  });

  it.each([
    ['due', () => inCampaign()],
    ['unreachable', () => flushed(asked(inCampaign(), offline(), AT_DUE))],
  ])('ends a campaign that is %s', (_status, given) => {
    expect(renewalOf(movedToAnotherHub(given(), OTHER_HUB, REPROVISIONED, MOVED_AT)).status).toBe(
      'moved',
    );
  });

  it('leaves a device with no campaign alone', () => {
    const record = aDevice();
    expect(movedToAnotherHub(record, OTHER_HUB, REPROVISIONED, MOVED_AT)).toBe(record);
  });

  it('leaves the campaign alone when the other hub’s certificate is not newer than this one', () => {
    const record = requested();
    const older: CertificateFacts = { ...REPROVISIONED, ...FIRST };
    expect(movedToAnotherHub(record, OTHER_HUB, older, MOVED_AT)).toBe(record);
  });

  it('never moves a device to its own hub', () => {
    const record = requested();
    expect(movedToAnotherHub(record, record.hub, REPROVISIONED, MOVED_AT)).toBe(record);
  });

  it('is a move once: a second report from the new hub changes nothing', () => {
    const once = flushed(movedToAnotherHub(requested(), OTHER_HUB, REPROVISIONED, MOVED_AT));
    expect(movedToAnotherHub(once, OTHER_HUB, REPROVISIONED, plus(MOVED_AT, HOUR_MS))).toBe(once);
  });
});
