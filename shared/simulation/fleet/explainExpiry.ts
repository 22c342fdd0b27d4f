import { AuditEntry } from '../../domain/AuditEntry';
import { MINUTE_MS, isoUtc } from '../../domain/Clock';
import { policyFor, renewalDueAt } from '../../domain/RenewalPolicy';
import { Services } from '../../services';
import { reachableDuring } from './DeviceProfile';
import { ExpiryExplanation } from './FleetSummary';
import { Expiry, SimulatedDevice } from './SimulatedDevice';

/**
 * Why a certificate expired, from what the device did and what certfleet recorded, in order:
 * out of reach from the moment it could have been saved; abandoned by certfleet; refusing;
 * failing its re-registration; not answering. Anything else is certfleet's failure.
 */
export function explainExpiry(
  device: SimulatedDevice,
  expiry: Expiry,
  entries: readonly AuditEntry[],
  settings: Services['settings'],
): ExpiryExplanation {
  const profile = device.profile;
  const policy = policyFor(settings.renewalPolicy, settings.renewal.cohortPolicies ?? [], {
    cohort: profile.cohort,
  });
  // certfleet's view of the certificate: the dates reported (off with the device's clock).
  const offset = profile.reportsOnlyDates ? profile.clockOffsetMs : 0;
  const due =
    Date.parse(
      renewalDueAt(
        {
          validFrom: isoUtc(expiry.validFrom + offset),
          validUntil: isoUtc(expiry.validUntil + offset),
        },
        policy,
      ),
    ) - Math.max(0, offset);
  const calls = device.calls.filter((c) => c.at >= expiry.validFrom && c.at < expiry.validUntil);
  const answered = calls.filter((c) => c.answer !== 'offline');
  const lastAnswer = answered[answered.length - 1];
  const from = Math.max(due, lastAnswer ? lastAnswer.at + 2 * MINUTE_MS : due);
  if (!reachableDuring(profile, from, expiry.validUntil)) return 'offline-through-expiry';
  const abandoned = entries.some(
    (e) =>
      e.type === 'renewal.abandoned' &&
      Date.parse(e.occurredAt) >= expiry.validFrom &&
      Date.parse(e.occurredAt) < expiry.validUntil,
  );
  if (abandoned) return 'gave-up';
  if (calls.some((c) => c.answer === 'refused')) return 'refusing';
  const failed = device.failures.some((f) => f.at >= expiry.validFrom && f.at < expiry.validUntil);
  if (failed && calls.some((c) => c.answer === 'accepted')) return 'failed-mid-renewal';
  if (calls.some((c) => c.answer === 'timeout')) return 'not-answering';
  return 'unexplained';
}
