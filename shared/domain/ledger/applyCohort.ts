// The device's cohort (a twin tag, ordered by the twin's `version`), and so which renewal
// policy its certificate follows.
import { DeviceRecord } from '../DeviceRecord';
import { TwinReportEvent } from '../LedgerEvent';
import { RenewalPolicy, policyFor, renewalDueAt } from '../RenewalPolicy';
import { clone } from './clone';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';

/**
 * A change of the device's cohort tag (twin tags, ordered by the twin's `version`) picks its
 * renewal policy anew. Returns an outcome only when the event is about nothing else.
 */
export function applyCohort(
  existing: DeviceRecord | undefined,
  event: TwinReportEvent,
  ctx: LedgerContext,
): LedgerOutcome | undefined {
  const touchesCertificate = event.certificate.present || event.privateKeyReported;
  if (event.cohort === undefined || event.twinVersion === undefined) return undefined;
  const cohort = event.cohort.value ?? undefined;
  const fresh =
    !existing ||
    existing.cohortTwinVersion === undefined ||
    event.twinVersion > existing.cohortTwinVersion;
  if (!fresh || !existing || existing.lifecycle === 'deleted') {
    return touchesCertificate
      ? undefined
      : { outcome: 'irrelevant', reason: 'the cohort did not change' };
  }
  if (touchesCertificate) return undefined; // the certificate path below sets the cohort too
  // An unchanged cohort at a newer twin version is still recorded: an older tag change that
  // arrives late must not undo it.
  const record = clone(existing);
  setCohort(record, cohort, event.twinVersion);
  if (record.current) record.renewalDueAt = renewalDueAt(record.current, policyOf(record, ctx));
  record.updatedAt = ctx.now;
  return { outcome: 'applied', record };
}

export function cohortIsNews(record: DeviceRecord, event: TwinReportEvent): boolean {
  if (event.cohort === undefined || event.twinVersion === undefined) return false;
  if (record.cohortTwinVersion !== undefined && event.twinVersion <= record.cohortTwinVersion)
    return false;
  return (event.cohort.value ?? undefined) !== record.cohort;
}

export function setCohort(
  record: DeviceRecord,
  cohort: string | undefined,
  twinVersion: number,
): void {
  if (cohort === undefined) delete record.cohort;
  else record.cohort = cohort;
  record.cohortTwinVersion = twinVersion;
}

export function policyOf(record: DeviceRecord, ctx: LedgerContext): RenewalPolicy {
  return policyFor(ctx.policy, ctx.cohortPolicies ?? [], {
    cohort: record.cohort,
    issuer: record.current?.issuer,
  });
}
