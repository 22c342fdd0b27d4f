import { applyLedgerEvent } from '../../../shared/domain/applyLedgerEvent';
import { PrivateKeyLeakEvent } from '../../../shared/domain/LedgerEvent';
import {
  AT,
  DEVICE,
  HUB,
  aCertificate,
  aContext,
  aRenewal,
  appliedRecord,
  created,
  given,
  patch,
} from '../../support/ledgerEvents';

/** Private key material seen in a message about the device, outside its reported properties. */
const leaked = (occurredAt: string): PrivateKeyLeakEvent => ({
  kind: 'private-key-leak',
  hub: HUB,
  deviceId: DEVICE,
  occurredAt,
  opType: 'deviceConnected',
});

const LEAK_AT = '2026-11-05T08:00:00.000Z';
const LATER_LEAK_AT = '2026-11-06T08:00:00.000Z';

describe('a private key leaked outside the reported properties', () => {
  it('flags the known device critically and audits it, without touching its certificate', () => {
    const before = given(created(), patch(1, aCertificate()));

    const record = appliedRecord(applyLedgerEvent(before, leaked(LEAK_AT), aContext()));

    expect(record.findings).toEqual([
      expect.objectContaining({
        code: 'private-key-reported',
        severity: 'critical',
        detectedAt: LEAK_AT,
      }),
    ]);
    expect(record.pendingAudit).toEqual([
      expect.objectContaining({
        type: 'device.private-key-reported',
        deviceId: DEVICE,
        occurredAt: LEAK_AT,
      }),
    ]);
    expect(record.current).toEqual(before.current);
    expect(record.reportedVersion).toBe(before.reportedVersion);
  });

  it('records a device it has not seen yet, to hold the finding', () => {
    const record = appliedRecord(applyLedgerEvent(undefined, leaked(LEAK_AT), aContext()));

    expect(record).toMatchObject({ hub: HUB, deviceId: DEVICE, lifecycle: 'active' });
    expect(record.findings.map((f) => f.code)).toEqual(['private-key-reported']);
  });

  it('is a duplicate when the same message is delivered again', () => {
    const record = given(created(), leaked(LEAK_AT));

    expect(applyLedgerEvent(record, leaked(LEAK_AT), aContext())).toMatchObject({
      outcome: 'duplicate',
    });
  });

  it('is stale when a later leak is already flagged', () => {
    const record = given(created(), leaked(LATER_LEAK_AT));

    expect(applyLedgerEvent(record, leaked(LEAK_AT), aContext())).toMatchObject({
      outcome: 'stale',
    });
  });

  it('moves the finding to a later leak, with another audit entry', () => {
    const record = given(created(), leaked(LEAK_AT));

    const next = appliedRecord(applyLedgerEvent(record, leaked(LATER_LEAK_AT), aContext()));

    expect(next.findings.map((f) => [f.code, f.detectedAt])).toEqual([
      ['private-key-reported', LATER_LEAK_AT],
    ]);
    expect(next.pendingAudit.map((e) => e.occurredAt)).toEqual([LATER_LEAK_AT]);
  });

  it('is stale when the device has replaced its certificate (a new key pair) since', () => {
    const record = given(
      created(),
      patch(1, aCertificate()),
      patch(2, aRenewal(), { occurredAt: AT.renewalReport }),
    );

    expect(applyLedgerEvent(record, leaked(LEAK_AT), aContext())).toMatchObject({
      outcome: 'stale',
    });
  });
});
