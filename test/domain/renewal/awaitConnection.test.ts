import { HOUR_MS, MINUTE_MS } from '../../../shared/domain/Clock';
import { DeviceRecord } from '../../../shared/domain/DeviceRecord';
import {
  awaitConnection,
  blindTryAt,
  knownDisconnected,
  shouldAwaitConnection,
} from '../../../shared/domain/renewal/awaitConnection';
import { renewalIndexEntry } from '../../../shared/domain/renewal/renewalIndexEntry';
import { deviceConnected, renewalOf } from '../../../shared/domain/renewal/renewalTransitions';
import {
  AT_DUE,
  EXPIRY,
  TIMING,
  aDevice,
  deepFreeze,
  inCampaign,
  plus,
} from '../../support/renewalRecords';

/** Six hours before FIRST expires: the default blind try. */
const BLIND_TRY = plus(EXPIRY, -6 * HOUR_MS);
const DISCONNECTED_AT = '2026-11-26T08:00:00.000Z';

/** The record after a DeviceDisconnected at `at`, the last thing heard from the device. */
function disconnected(record: DeviceRecord, at = DISCONNECTED_AT): DeviceRecord {
  return {
    ...record,
    connection: { state: 'disconnected', sequenceNumber: '0a', changedAt: at },
    lastSeenAt: at,
  };
}

function connected(record: DeviceRecord, at = DISCONNECTED_AT): DeviceRecord {
  return {
    ...record,
    connection: { state: 'connected', sequenceNumber: '0b', changedAt: at },
    lastSeenAt: at,
  };
}

describe('waiting for a device known to be disconnected', () => {
  describe('knownDisconnected', () => {
    it('is true after a DeviceDisconnected event with nothing heard since', () => {
      expect(knownDisconnected(disconnected(aDevice()))).toBe(true);
    });

    it('is false for a connected device, and for one whose state no event has told', () => {
      expect(knownDisconnected(connected(aDevice()))).toBe(false);
      expect(aDevice().connection.state).toBe('unknown');
      expect(knownDisconnected(aDevice())).toBe(false);
    });

    it('is false when the device reported its twin after it disconnected: a connection event is missing or late', () => {
      const record = disconnected(aDevice());

      expect(knownDisconnected({ ...record, lastSeenAt: plus(DISCONNECTED_AT, MINUTE_MS) })).toBe(
        false,
      );
    });
  });

  describe('shouldAwaitConnection', () => {
    it('waits for a disconnected device until its blind try, offlineBlindTryMs before expiry', () => {
      const record = disconnected(inCampaign());

      expect(blindTryAt(record, TIMING)).toBe(BLIND_TRY);
      expect(shouldAwaitConnection(record, AT_DUE, TIMING)).toBe(true);
      expect(shouldAwaitConnection(record, plus(BLIND_TRY, -1), TIMING)).toBe(true);
      expect(shouldAwaitConnection(record, BLIND_TRY, TIMING)).toBe(false);
      expect(shouldAwaitConnection(record, plus(EXPIRY, -MINUTE_MS), TIMING)).toBe(false);
    });

    it('calls a connected device, or one whose state is unknown, as before', () => {
      expect(shouldAwaitConnection(connected(inCampaign()), AT_DUE, TIMING)).toBe(false);
      expect(shouldAwaitConnection(inCampaign(), AT_DUE, TIMING)).toBe(false);
    });

    it('never waits when the blind try spans the lifetime, and always when it is zero', () => {
      const record = disconnected(inCampaign());
      const lifetime = { ...TIMING, offlineBlindTryMs: 90 * 24 * HOUR_MS };
      const never = { ...TIMING, offlineBlindTryMs: 0 };

      expect(shouldAwaitConnection(record, AT_DUE, lifetime)).toBe(false);
      expect(shouldAwaitConnection(record, plus(EXPIRY, -MINUTE_MS), never)).toBe(true);
    });
  });

  describe('awaitConnection', () => {
    it('leaves the campaign unreachable until the blind try, with no attempt counted and nothing audited', () => {
      const record = deepFreeze(disconnected(inCampaign()));

      const next = awaitConnection(record, AT_DUE, TIMING);

      expect(next.renewal).toEqual({
        ...renewalOf(record),
        status: 'unreachable',
        reason: `device disconnected since ${DISCONNECTED_AT}: asked when it connects`,
        nextAttemptAt: BLIND_TRY,
      });
      expect(next.renewal?.attempts).toBe(0);
      expect(next.renewal?.failures).toBe(0);
      expect(next.pendingAudit).toEqual([]);
      expect(next.updatedAt).toBe(AT_DUE);
      // The index holds it at the blind try, not at its due time: the sweep does not plan it
      // again every minute.
      expect(renewalIndexEntry(next)).toMatchObject({ actionAt: BLIND_TRY, status: 'unreachable' });
    });

    it('keeps a running campaign and its failures, and drops a deadline', () => {
      const campaign = inCampaign();
      const record = disconnected({
        ...campaign,
        renewal: {
          ...renewalOf(campaign),
          status: 'retrying',
          attempts: 2,
          failures: 2,
          nextAttemptAt: AT_DUE,
          deadline: AT_DUE,
        },
      });

      const next = awaitConnection(record, AT_DUE, TIMING);

      expect(next.renewal).toMatchObject({ status: 'unreachable', attempts: 2, failures: 2 });
      expect(next.renewal?.deadline).toBeUndefined();
      expect(next.renewal?.campaignId).toBe(renewalOf(record).campaignId);
    });

    it('is asked the moment the device connects', () => {
      const waiting = awaitConnection(disconnected(inCampaign()), AT_DUE, TIMING);
      const connectedAt = '2026-11-27T09:00:00.000Z';

      const { record, askNow } = deviceConnected(connected(waiting, connectedAt), connectedAt);

      expect(askNow).toBe(true);
      expect(record.renewal?.nextAttemptAt).toBe(connectedAt);
    });

    it('changes nothing for a device with no campaign', () => {
      const record = disconnected(aDevice());

      expect(awaitConnection(record, AT_DUE, TIMING)).toBe(record);
    });
  });
});
