import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import { nextActionAt } from '../../../shared/domain/renewal/nextActionAt';
import { nextRequest, startCampaign } from '../../../shared/domain/renewal/renewalTransitions';
import {
  RotationScope,
  holdsCertificateFrom,
  issuerUnknown,
  leaveRotation,
  placeInRotation,
  rotationStanding,
} from '../../../shared/domain/rotation/devicePlacement';
import {
  aCertificate,
  aRenewal,
  apply,
  appliedRecord,
  given,
  patch,
} from '../../support/ledgerEvents';
import { AT_DUE, TIMING, accepted, asked, flushed } from '../../support/renewalRecords';

/**
 * One device in a planned CA rotation: whether it is affected, its place, the slot moving its
 * renewal earlier, the campaign that says `rotation`, and where it stands afterwards.
 */
const OLD_CA = 'CN=Contoso Issuing CA 2024, O=Contoso';
const NEW_CA = 'CN=Contoso Issuing CA 2026, O=Contoso';
const ROTATION: RotationScope = {
  id: 'rot-20261110-0a1b2c3d',
  issuer: OLD_CA,
  declaredAt: '2026-11-10T00:00:00.000Z',
  slotsEndAt: '2026-11-20T00:00:00.000Z',
  completeBy: '2026-11-22T00:00:00.000Z',
};
const SLOT = '2026-11-15T08:00:00.000Z';
const PLACED_AT = '2026-11-10T00:05:00.000Z';
const RENEWED_AT = '2026-11-15T08:30:00.000Z';

/** A device holding FIRST (due 26 November, after slots end) from `issuer`. */
function aDeviceFrom(issuer = OLD_CA): DeviceRecord {
  return given(patch(1, aCertificate({ issuer })));
}

/** A device that reports its certificate's dates and subject, and no issuer. */
function aDeviceWithoutIssuer(): DeviceRecord {
  return given(patch(1, aCertificate()));
}

function placed(record: DeviceRecord = aDeviceFrom(), slot = SLOT): DeviceRecord {
  const { next } = placeInRotation(record, ROTATION, () => slot, PLACED_AT);
  if (!next) throw new Error('not placed');
  return flushed(next);
}

/** The device reports its renewal (RENEWED, valid until 26 December) from `issuer`. */
function renewedFrom(record: DeviceRecord, issuer: string): DeviceRecord {
  const event = { ...patch(2, aRenewal({ issuer })), occurredAt: RENEWED_AT };
  return flushed(appliedRecord(apply(record, event)));
}

describe('which devices a rotation affects', () => {
  it('compares the issuer as a distinguished name: order, spacing and case do not matter', () => {
    const record = aDeviceFrom(OLD_CA);

    expect(holdsCertificateFrom(record, 'o=Contoso,CN=contoso issuing ca 2024')).toBe(true);
    expect(holdsCertificateFrom(record, NEW_CA)).toBe(false);
  });

  it('cannot tell for a device that reported dates only, and says so', () => {
    const record = aDeviceWithoutIssuer();

    expect(holdsCertificateFrom(record, OLD_CA)).toBe(false);
    expect(issuerUnknown(record)).toBe(true);
  });
});

describe('placing a device in a rotation', () => {
  it('gives a device whose own renewal comes after slots end a slot, and audits it', () => {
    const { next, placement } = placeInRotation(aDeviceFrom(), ROTATION, () => SLOT, PLACED_AT);

    expect(placement).toEqual({ kind: 'placed', slotAt: SLOT });
    expect(next?.rotation).toEqual({
      id: ROTATION.id,
      issuer: OLD_CA,
      certificateValidUntil: '2026-12-01T00:00:00.000Z',
      slotAt: SLOT,
    });
    const entry = next?.pendingAudit.at(-1);
    expect(entry).toMatchObject({
      type: 'rotation.scheduled',
      rotation: { id: ROTATION.id, slotAt: SLOT },
      old: { issuer: OLD_CA, validUntil: '2026-12-01T00:00:00.000Z' },
    });
  });

  it('gives no slot to a device whose own renewal falls inside the window', () => {
    const late = { ...ROTATION, slotsEndAt: '2026-11-28T00:00:00.000Z' };
    let asked = false;

    const { next } = placeInRotation(aDeviceFrom(), late, () => ((asked = true), SLOT), PLACED_AT);

    expect(asked).toBe(false);
    expect(next?.rotation?.slotAt).toBeUndefined();
    expect(next?.pendingAudit.at(-1)?.detail).toMatch(/own renewal at 2026-11-26T12:00:00.000Z/);
  });

  it('places a device once: placing it again changes nothing', () => {
    const { next, placement } = placeInRotation(placed(), ROTATION, () => 'other', PLACED_AT);

    expect(next).toBeUndefined();
    expect(placement).toEqual({ kind: 'already', slotAt: SLOT });
  });

  it('leaves devices of other issuers alone', () => {
    const { next, placement } = placeInRotation(
      aDeviceFrom(NEW_CA),
      ROTATION,
      () => SLOT,
      PLACED_AT,
    );

    expect(next).toBeUndefined();
    expect(placement.kind).toBe('not-affected');
  });

  it('does not place again a device that renewed from the same issuer after its slot', () => {
    const again = renewedFrom(placed(), OLD_CA);

    expect(placeInRotation(again, ROTATION, () => SLOT, PLACED_AT).placement.kind).toBe(
      'renewed-same-issuer',
    );
  });

  it('takes a cancelled rotation’s unused place off the record, but keeps one that served', () => {
    const unused = leaveRotation(placed(), ROTATION.id, PLACED_AT);
    const served = leaveRotation(renewedFrom(placed(), NEW_CA), ROTATION.id, PLACED_AT);

    expect(unused?.rotation).toBeUndefined();
    expect(nextActionAt(unused!)).toBe(AT_DUE);
    expect(served).toBeUndefined();
  });
});

describe('the slot in the renewal index and the sweep', () => {
  it('moves the renewal index entry to the slot when it comes before the device’s own renewal', () => {
    expect(nextActionAt(aDeviceFrom())).toBe(AT_DUE);
    expect(nextActionAt(placed())).toBe(SLOT);
  });

  it('keeps the device’s own renewal time when that comes first', () => {
    expect(nextActionAt(placed(aDeviceFrom(), '2026-11-27T00:00:00.000Z'))).toBe(AT_DUE);
  });

  it('starts a campaign at the slot as a rotation: the request says so, the audit names it', () => {
    const started = startCampaign(placed(), SLOT, 'due');

    expect(started.renewal?.trigger).toBe('rotation');
    expect(started.pendingAudit.at(-1)?.renewal).toMatchObject({
      trigger: 'rotation',
      rotationId: ROTATION.id,
    });
    expect(nextRequest(started, SLOT, TIMING).reason).toBe('rotation');
    const answered = asked(flushed(started), accepted(), SLOT);
    expect(answered.pendingAudit.at(-1)?.renewal?.rotationId).toBe(ROTATION.id);
  });

  it('starts an ordinary campaign when the device’s own renewal is what fell due', () => {
    const ordinary = startCampaign(
      placed(aDeviceFrom(), '2026-11-27T00:00:00.000Z'),
      AT_DUE,
      'due',
    );

    expect(ordinary.renewal?.trigger).toBe('due');
    expect(ordinary.pendingAudit.at(-1)?.renewal?.rotationId).toBeUndefined();
  });

  it('spends the slot once a new certificate arrives, whoever renewed, from whichever issuer', () => {
    const itself = renewedFrom(placed(), NEW_CA);
    const again = renewedFrom(placed(), OLD_CA);

    expect(itself.rotation).toMatchObject({ replacedAt: RENEWED_AT, renewedBy: 'device' });
    // The new certificate's own renewal (85% of 30 days from 26 November), not the old slot.
    expect(nextActionAt(itself)).toBe('2026-12-21T12:00:00.000Z');
    expect(nextActionAt(again)).toBe('2026-12-21T12:00:00.000Z');
  });

  it('records that certfleet renewed a device whose rotation campaign brought the certificate', () => {
    const campaign = flushed(
      asked(flushed(startCampaign(placed(), SLOT, 'due')), accepted(), SLOT),
    );

    const renewed = renewedFrom(campaign, NEW_CA);

    expect(renewed.rotation).toMatchObject({ replacedAt: RENEWED_AT, renewedBy: 'certfleet' });
    expect(renewed.renewal?.status).toBe('healthy');
  });
});

describe('where a device stands in a rotation', () => {
  it('is done once it holds a certificate from another issuer, and says who renewed it', () => {
    expect(rotationStanding(renewedFrom(placed(), NEW_CA), ROTATION)).toEqual({
      kind: 'done',
      renewedBy: 'device',
    });
  });

  it('is done when it moved off the issuer before it was placed, by an unknown hand', () => {
    const record = renewedFrom(aDeviceFrom(), NEW_CA);

    expect(rotationStanding(record, ROTATION)).toEqual({ kind: 'done', renewedBy: 'unknown' });
  });

  it('is not affected when it moved off the issuer before the rotation was declared', () => {
    const record = renewedFrom(aDeviceFrom(), NEW_CA);
    const later = { ...ROTATION, declaredAt: '2026-12-01T00:00:00.000Z' };

    expect(rotationStanding(record, later)).toEqual({ kind: 'not-affected' });
  });

  it('waits for its slot, planned then, or for its own renewal', () => {
    expect(rotationStanding(placed(), ROTATION)).toEqual({ kind: 'scheduled', plannedAt: SLOT });
    expect(rotationStanding(aDeviceFrom(), ROTATION)).toEqual({ kind: 'unplaced' });
  });

  it('is at risk when its turn comes after the deadline', () => {
    const late = placed(aDeviceFrom(), '2026-11-23T00:00:00.000Z');

    expect(rotationStanding(late, ROTATION)).toEqual({
      kind: 'scheduled',
      plannedAt: '2026-11-23T00:00:00.000Z',
      atRisk: 'turn-after-deadline',
    });
  });

  it('is at risk when it renewed from the rotated issuer again', () => {
    expect(rotationStanding(renewedFrom(placed(), OLD_CA), ROTATION)).toEqual({
      kind: 'renewed-same-issuer',
      atRisk: 'renewed-from-same-issuer',
    });
  });

  it('is in a campaign once asked, planned at its deadline', () => {
    const campaign = flushed(
      asked(flushed(startCampaign(placed(), SLOT, 'due')), accepted(), SLOT),
    );

    expect(rotationStanding(campaign, ROTATION)).toEqual({
      kind: 'in-campaign',
      plannedAt: campaign.renewal!.deadline,
    });
  });

  it('names no device of the fleet that was never affected', () => {
    expect(rotationStanding(aDeviceFrom(NEW_CA), ROTATION)).toEqual({ kind: 'not-affected' });
    expect(rotationStanding(aDeviceWithoutIssuer(), ROTATION)).toEqual({ kind: 'unknown-issuer' });
  });
});
