import { AuditEntry, AuditEventType, RenewalAuditFields, auditEntryId } from '../AuditEntry';
import { CertificateFacts, certificateIdentity, sameCertificate } from '../Certificate';
import { DeviceRecord } from '../DeviceRecord';
import { MethodOutcome, RenewalRequest } from './MethodOutcome';
import { HEALTHY, RenewalState } from './RenewalState';
import { RenewalTiming, backoffMs } from './RenewalTiming';
import { markRotationServed, rotationCampaignOf } from '../rotation/DeviceRotation';

/**
 * The renewal state machine's transitions: each observes one thing (renewal fell due, a
 * direct-method answer, a deadline, a connection, a new certificate) and returns the record's
 * next state with the audit entries that record it. Pure; the time is passed in.
 */

export function renewalOf(record: DeviceRecord): RenewalState {
  return record.renewal ?? HEALTHY;
}

/** Whether certfleet is in the middle of renewing this device. */
export function inCampaign(record: DeviceRecord): boolean {
  const status = renewalOf(record).status;
  return status !== 'healthy' && status !== 'expired' && status !== 'moved';
}

/**
 * Starts a campaign: renewal fell due (`due`), the capacity planner started it early
 * (`capacity`), or a person asked (`manual`); a campaign that falls due at the device's slot in
 * a planned CA rotation is recorded as `rotation`. A device already in a campaign keeps it.
 */
export function startCampaign(
  record: DeviceRecord,
  now: string,
  trigger: 'due' | 'capacity' | 'manual',
  requestedBy?: { who: string; why: string },
): DeviceRecord {
  const current = record.current;
  if (!current) return record;
  const status = renewalOf(record).status;
  if (trigger === 'manual' && requestedBy && inCampaign(record) && status !== 'failed') {
    // A person asks while a campaign runs: ask again now, and record who and why.
    const next = structuredClone(record);
    next.renewal = { ...renewalOf(record), status: 'due', nextAttemptAt: now };
    delete next.renewal.deadline;
    next.updatedAt = now;
    next.pendingAudit.push(
      renewalAudit(
        next,
        'renewal.due',
        now,
        { trigger, requestedBy: requestedBy.who, requestId: `manual:${now}` },
        `manual renewal: ${requestedBy.why}`,
      ),
    );
    return next;
  }
  // A campaign already runs; but a person may restart one that gave up.
  if (inCampaign(record) && !(trigger === 'manual' && status === 'failed')) return record;
  // Due because of its slot in a planned CA rotation (sooner than its own renewal): the campaign
  // says so, its requests give `rotation` as the reason, and its audit entries name the rotation.
  const cause = trigger !== 'manual' && rotationCampaignOf(record) ? 'rotation' : trigger;
  const next = structuredClone(record);
  const campaignId = auditEntryId([
    'campaign',
    record.hub,
    record.deviceId,
    current.thumbprintSha256 ?? current.validUntil,
    now,
    // The campaign before: two campaigns started in the same millisecond still differ.
    record.renewal?.campaignId,
  ]);
  next.renewal = {
    status: 'due',
    campaignId,
    startedAt: now,
    trigger: cause,
    attempts: 0,
    failures: 0,
    nextAttemptAt: now,
  };
  next.updatedAt = now;
  const fields: Partial<RenewalAuditFields> = { trigger: cause };
  if (requestedBy) fields.requestedBy = requestedBy.who;
  next.pendingAudit.push(
    renewalAudit(
      next,
      'renewal.due',
      now,
      fields,
      requestedBy ? `manual renewal: ${requestedBy.why}` : undefined,
    ),
  );
  return next;
}

/** The request for the next attempt; its id is deterministic, so a retried sweep reuses it. */
export function nextRequest(
  record: DeviceRecord,
  now: string,
  timing: RenewalTiming,
): RenewalRequest {
  const renewal = renewalOf(record);
  const current = record.current;
  if (!current || !renewal.campaignId)
    throw new Error(`${record.deviceId} has no renewal campaign`);
  const validUntil = Date.parse(current.validUntil);
  const deadline = Math.min(Date.parse(now) + timing.requestTimeoutMs, validUntil);
  return {
    requestId: auditEntryId(['request', renewal.campaignId, renewal.attempts + 1]),
    reason: renewal.attempts === 0 ? (renewal.trigger ?? 'due') : 'retry',
    currentValidUntil: current.validUntil,
    deadline: new Date(deadline).toISOString(),
  };
}

/** Records a direct-method answer and decides what comes next, by the answer's class. */
export function attemptAnswered(
  record: DeviceRecord,
  request: RenewalRequest,
  outcome: MethodOutcome,
  now: string,
  timing: RenewalTiming,
): DeviceRecord {
  const next = structuredClone(record);
  const before = renewalOf(record);
  const at = Date.parse(now);
  const later = (ms: number) => new Date(at + ms).toISOString();

  if (outcome.kind === 'throttled' || outcome.kind === 'error') {
    // Not the device's doing: no attempt counted, nothing audited per device (the sweep raises
    // one incident for the fleet).
    const wait =
      outcome.kind === 'throttled'
        ? Math.max(outcome.retryAfterMs ?? 0, timing.serviceRetryMs)
        : timing.serviceRetryMs;
    next.renewal = {
      ...before,
      status: before.status === 'healthy' ? 'due' : before.status,
      nextAttemptAt: later(wait),
    };
    next.updatedAt = now;
    return next;
  }

  const attempt = {
    at: now,
    requestId: request.requestId,
    outcome: outcome.kind,
    ...('status' in outcome && outcome.status !== undefined ? { status: outcome.status } : {}),
  };
  const renewal: RenewalState = { ...before, attempts: before.attempts + 1, lastAttempt: attempt };
  delete renewal.deadline;
  delete renewal.reason;
  next.renewal = renewal;
  next.updatedAt = now;
  next.pendingAudit.push(
    renewalAudit(next, 'renewal.requested', now, {
      requestId: request.requestId,
      outcome: outcome.kind,
      ...(attempt.status !== undefined ? { status: attempt.status } : {}),
    }),
  );

  switch (outcome.kind) {
    case 'accepted':
      renewal.status = 'requested';
      renewal.deadline = request.deadline;
      delete renewal.nextAttemptAt;
      return next;
    case 'offline':
      renewal.status = 'unreachable';
      renewal.reason = 'device offline (404103)';
      renewal.nextAttemptAt = later(timing.offlineRecheckMs);
      return next;
    case 'not-found':
      return abandon(next, now, 'device not found or disabled in IoT Hub (404001)');
    case 'refused':
      return failAttempt(
        next,
        now,
        `device refused (status ${outcome.status})`,
        timing.refusalBackoff,
        timing,
      );
    case 'timeout':
      return failAttempt(
        next,
        now,
        'device did not answer in time (504101)',
        timing.timeoutBackoff,
        timing,
      );
  }
}

/** A request was accepted but no new certificate arrived by its deadline. */
export function deadlinePassed(
  record: DeviceRecord,
  now: string,
  timing: RenewalTiming,
): DeviceRecord {
  const renewal = renewalOf(record);
  if (renewal.status !== 'requested' || !renewal.deadline || now < renewal.deadline) return record;
  const next = structuredClone(record);
  next.renewal = { ...renewal };
  delete next.renewal.deadline;
  next.updatedAt = now;
  return failAttempt(
    next,
    now,
    'no new certificate reported by the deadline',
    timing.refusalBackoff,
    timing,
  );
}

/** The certificate's validUntil has passed without a renewal: the device cannot connect any more. */
export function certificateExpired(record: DeviceRecord, now: string): DeviceRecord {
  const current = record.current;
  const status = renewalOf(record).status;
  if (!current || now < current.validUntil || status === 'expired' || status === 'moved')
    return record;
  const next = structuredClone(record);
  const before = renewalOf(record);
  next.renewal = {
    ...before,
    status: 'expired',
    reason: `certificate expired at ${current.validUntil}`,
  };
  delete next.renewal.nextAttemptAt;
  delete next.renewal.deadline;
  next.updatedAt = now;
  const entry = renewalAudit(
    next,
    'certificate.expired',
    now,
    {},
    'the device must re-provision through DPS with its onboarding credential',
  );
  entry.old = certificateIdentity(current);
  next.pendingAudit.push(entry);
  return next;
}

/**
 * The same device id reported a newer certificate in another hub: DPS re-registration assigned
 * the device there, and that hub's record carries on. A campaign running here (or given up on)
 * ends as `moved`, not as a failure; the record stays, with its history, for auditors. A device
 * with no campaign, or a certificate there that is not newer than this one (another device under
 * the same id, or a late report), changes nothing.
 */
export function movedToAnotherHub(
  record: DeviceRecord,
  toHub: string,
  newCertificate: CertificateFacts,
  now: string,
): DeviceRecord {
  const current = record.current;
  if (toHub === record.hub || record.lifecycle !== 'active' || !current) return record;
  if (!inCampaign(record)) return record;
  if (newCertificate.validFrom <= current.validFrom || sameCertificate(current, newCertificate))
    return record;
  const reason = `re-registered through DPS in hub ${toHub}`;
  const next = structuredClone(record);
  next.renewal = { ...renewalOf(record), status: 'moved', reason };
  delete next.renewal.nextAttemptAt;
  delete next.renewal.deadline;
  next.updatedAt = now;
  const entry = renewalAudit(next, 'renewal.moved', now, {}, reason);
  entry.old = certificateIdentity(current);
  entry.new = certificateIdentity(newCertificate);
  next.pendingAudit.push(entry);
  return next;
}

/**
 * The device connected. A renewal that waits on it (offline, or due and not yet asked) is
 * asked right away rather than at the next sweep. Returns whether to ask now.
 */
export function deviceConnected(
  record: DeviceRecord,
  now: string,
): { record: DeviceRecord; askNow: boolean } {
  const renewal = renewalOf(record);
  if (renewal.status !== 'unreachable' && renewal.status !== 'due')
    return { record, askNow: false };
  const next = structuredClone(record);
  next.renewal = { ...renewal, nextAttemptAt: now };
  return { record: next, askNow: true };
}

/**
 * A new certificate was accepted into the record (applyLedgerEvent). When certfleet was
 * renewing the device, the renewal succeeds only if the certificate is really better: valid
 * until later, CN still the device id, chain still trusted. Otherwise the campaign goes on.
 */
export function newCertificateArrived(
  record: DeviceRecord,
  entry: AuditEntry,
  occurredAt: string,
  now: string,
  problems: string[],
  timing: RenewalTiming,
): void {
  const renewal = renewalOf(record);
  // An expiry recorded while certfleet was not renewing the device (never asked, requests
  // disabled) is no campaign: the device got its new certificate by itself.
  const campaign =
    inCampaign(record) || (renewal.status === 'expired' && renewal.campaignId !== undefined);
  markRotationServed(record, occurredAt, campaign ? 'certfleet' : 'device');
  if (!campaign) {
    // Back from another hub, or re-provisioned after expiry: the record carries on.
    if (renewal.status === 'expired' || renewal.status === 'moved') record.renewal = { ...HEALTHY };
    if (entry.type === 'certificate.renewed')
      entry.renewal = { campaignId: '', attempts: 0, failures: 0, renewedBy: 'device' };
    return;
  }
  if (entry.type !== 'certificate.renewed')
    problems.push('the new certificate is not valid until later than the old one');
  if (problems.length === 0) {
    const durationMs = renewal.startedAt
      ? Math.max(0, Date.parse(occurredAt) - Date.parse(renewal.startedAt))
      : undefined;
    const succeeded = renewalAudit(record, 'renewal.succeeded', occurredAt, {
      renewedBy: 'certfleet',
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
    succeeded.recordedAt = now;
    if (entry.old) succeeded.old = entry.old;
    if (entry.new) succeeded.new = entry.new;
    record.pendingAudit.push(succeeded);
    entry.renewal = { ...succeeded.renewal!, renewedBy: 'certfleet' };
    record.renewal = { ...HEALTHY };
    return;
  }
  // A certificate that is not the renewal asked for is a failed attempt like a refusal: it
  // backs off, and a device that keeps producing bad certificates is given up on.
  const reason = problems.join('; ');
  const failures = renewal.failures + 1;
  const next: RenewalState = { ...renewal, failures, reason };
  delete next.deadline;
  record.renewal = next;
  const failed = renewalAudit(record, 'renewal.failed', occurredAt, { reason });
  failed.recordedAt = now;
  record.pendingAudit.push(failed);
  if (failures >= timing.maxFailures) {
    abandon(record, now, `${failures} failed attempts; last: ${reason}`);
    return;
  }
  record.renewal = {
    ...next,
    status: 'retrying',
    nextAttemptAt: new Date(
      Date.parse(now) +
        cappedBackoff(record, now, backoffMs(timing.refusalBackoff, failures), timing),
    ).toISOString(),
  };
}

function failAttempt(
  record: DeviceRecord,
  now: string,
  reason: string,
  backoff: RenewalTiming['refusalBackoff'],
  timing: RenewalTiming,
): DeviceRecord {
  const renewal = renewalOf(record);
  const failures = renewal.failures + 1;
  record.renewal = { ...renewal, failures, reason };
  if (failures >= timing.maxFailures) {
    record.pendingAudit.push(renewalAudit(record, 'renewal.failed', now, { reason }));
    return abandon(record, now, `${failures} failed attempts; last: ${reason}`);
  }
  const wait = cappedBackoff(record, now, backoffMs(backoff, failures), timing);
  const nextAttemptAt = new Date(Date.parse(now) + wait).toISOString();
  record.renewal = { ...record.renewal, status: 'retrying', nextAttemptAt };
  record.pendingAudit.push(renewalAudit(record, 'renewal.failed', now, { reason }));
  return record;
}

/**
 * A backoff never waits away the certificate's last chances: at most half the time left before
 * it expires (and not less than the shortest backoff), so a 7-day certificate refused a few times
 * is still tried again before it runs out.
 */
function cappedBackoff(
  record: DeviceRecord,
  now: string,
  ms: number,
  timing: RenewalTiming,
): number {
  const validUntil = record.current ? Date.parse(record.current.validUntil) : Infinity;
  const half = (validUntil - Date.parse(now)) / 2;
  return Math.max(timing.timeoutBackoff.baseMs, Math.min(ms, half));
}

function abandon(record: DeviceRecord, now: string, reason: string): DeviceRecord {
  const renewal = renewalOf(record);
  record.renewal = { ...renewal, status: 'failed', reason };
  delete record.renewal.nextAttemptAt;
  delete record.renewal.deadline;
  record.pendingAudit.push(renewalAudit(record, 'renewal.abandoned', now, { reason }));
  return record;
}

/** A renewal audit entry; its id is fixed by the campaign, the type and the attempt. */
export function renewalAudit(
  record: DeviceRecord,
  type: AuditEventType,
  occurredAt: string,
  fields: Partial<RenewalAuditFields>,
  detail?: string,
): AuditEntry {
  const renewal = renewalOf(record);
  const campaignId = renewal.campaignId ?? '';
  const entry: AuditEntry = {
    id: auditEntryId([
      type,
      record.hub,
      record.deviceId,
      campaignId,
      renewal.attempts,
      renewal.failures,
      fields.requestId,
      // Which certificate it is about: two bad certificates in turn, or the expiries of two
      // certificates outside any campaign, are distinct events.
      record.current?.thumbprintSha256 ?? record.current?.validUntil,
      record.current?.reportedVersion,
    ]),
    type,
    hub: record.hub,
    deviceId: record.deviceId,
    occurredAt,
    recordedAt: occurredAt,
    renewal: {
      campaignId,
      attempts: renewal.attempts,
      failures: renewal.failures,
      ...(renewal.trigger ? { trigger: renewal.trigger } : {}),
      ...(renewal.trigger === 'rotation' && record.rotation
        ? { rotationId: record.rotation.id }
        : {}),
      ...fields,
    },
  };
  if (detail) entry.detail = detail;
  return entry;
}
