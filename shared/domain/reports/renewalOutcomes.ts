import { DeviceRecord } from '../DeviceRecord';

/**
 * What happened to a device's certificates, for the summary's renewal outcomes per day. Read
 * from the ledger record alone, not from the audit trail: the summary is asked for on every
 * dashboard load, and the audit trail of the last 30 days grows with the fleet's activity (every
 * request, attempt and alert), while the record already keeps what the outcomes need:
 *
 * - `renewed`: a certificate followed by another in the same life of the device id before it
 *   expired, on the day the new one was first seen (the record's history: every certificate
 *   held, oldest first). Renewals by certfleet and by the device itself alike.
 * - `expired`: a certificate whose `validUntil` passed with no newer one before it (the device
 *   re-provisioned later, or has not yet), on the day it expired.
 * - `failed`: a campaign certfleet gave up on (renewal status `failed`), on the day of its last
 *   attempt. A campaign given up and later followed by a renewal is no longer failed: it is
 *   counted as renewed.
 *
 * Limits, said in the docs: the history keeps the last 64 certificates (HISTORY_LIMIT), ample for
 * 30 days of any real lifetime; a record without history (written before it was kept) has its
 * `previous` and `current` certificates instead.
 */
export interface RenewalOutcome {
  kind: 'renewed' | 'failed' | 'expired';
  at: string;
}

interface Held {
  validUntil: string;
  firstSeenAt: string;
  incarnation: number;
}

export function renewalOutcomesOf(record: DeviceRecord, now: string): RenewalOutcome[] {
  const outcomes: RenewalOutcome[] = [];
  const held = heldCertificates(record);
  const at = Date.parse(now);
  const life = record.incarnation ?? 0;
  held.forEach((certificate, i) => {
    const next = held[i + 1];
    const until = Date.parse(certificate.validUntil);
    if (next !== undefined && next.incarnation === certificate.incarnation) {
      const replacedAt = Date.parse(next.firstSeenAt);
      if (replacedAt < until) outcomes.push({ kind: 'renewed', at: next.firstSeenAt });
      else outcomes.push({ kind: 'expired', at: certificate.validUntil });
    } else if (next === undefined && record.current && certificate.incarnation === life) {
      // The device's current certificate. One that ended an earlier life of the device id ended
      // with that life (when, the record does not say): not counted.
      if (until > at) return;
      outcomes.push({ kind: 'expired', at: certificate.validUntil });
    }
  });
  const renewal = record.renewal;
  if (renewal?.status === 'failed') {
    const failedAt = renewal.lastAttempt?.at ?? renewal.startedAt;
    if (failedAt !== undefined) outcomes.push({ kind: 'failed', at: failedAt });
  }
  return outcomes;
}

function heldCertificates(record: DeviceRecord): Held[] {
  if (record.history && record.history.length > 0) return record.history;
  const life = record.incarnation ?? 0;
  return [record.previous, record.current]
    .filter((c) => c !== undefined)
    .map((c) => ({ validUntil: c.validUntil, firstSeenAt: c.firstSeenAt, incarnation: life }));
}
