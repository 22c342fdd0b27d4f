// A private key seen in a message about the device outside its reported properties: the
// device's key must be treated as leaked, whatever became of the message itself. Ordered by when
// the message was sent: a leak the record flags at that time or later is no news, nor is one
// from before the device replaced its certificate (a renewal comes from a new key pair, as in
// acceptCertificate).
import { DeviceRecord, newDeviceRecord } from '../DeviceRecord';
import { finding } from '../Finding';
import { PrivateKeyLeakEvent } from '../LedgerEvent';
import { auditEntry } from './auditEntry';
import { clone } from './clone';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';

export function applyPrivateKeyLeak(
  existing: DeviceRecord | undefined,
  event: PrivateKeyLeakEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  const flagged = existing?.findings.find((f) => f.code === 'private-key-reported');
  if (flagged && flagged.detectedAt === event.occurredAt) {
    return { outcome: 'duplicate', reason: 'this leak is already flagged' };
  }
  if (flagged && flagged.detectedAt > event.occurredAt) {
    return { outcome: 'stale', reason: 'a later leak is already flagged' };
  }
  const current = existing?.current;
  if (existing?.previous && current && current.firstSeenAt > event.occurredAt) {
    return { outcome: 'stale', reason: 'the device has replaced its certificate since' };
  }
  const record = existing ? clone(existing) : newDeviceRecord(event.hub, event.deviceId, ctx.now);
  record.findings = [
    ...record.findings.filter((f) => f.code !== 'private-key-reported'),
    finding(
      'private-key-reported',
      'an event about the device carried private key material; it was not stored, and the key must be treated as leaked',
      event.occurredAt,
    ),
  ];
  record.pendingAudit.push(
    auditEntry(record, event, 'device.private-key-reported', ctx, {
      detail: 'private key material redacted before storage',
    }),
  );
  record.updatedAt = ctx.now;
  return { outcome: 'applied', record };
}
