import { AuditEntry, AuditEventType, auditEntryId } from './AuditEntry';
import {
  CertificateFacts,
  certificateIdentity,
  commonNameOf,
  sameCertificate,
  sameInstant,
} from './Certificate';
import { DeviceRecord, newDeviceRecord } from './DeviceRecord';
import { CERTIFICATE_FINDINGS, certificateFindings, finding } from './Finding';
import { ConnectionEvent, LedgerEvent, LifecycleEvent, TwinReportEvent } from './LedgerEvent';
import {
  ReportedCertificate,
  mergeCertificatePatch,
  toView,
  validateReportedCertificate,
} from './ReportedCertificate';
import { CohortPolicy, RenewalPolicy, policyFor, renewalDueAt } from './RenewalPolicy';
import { deviceConnected, newCertificateArrived } from './renewal/renewalTransitions';
import { DEFAULT_RENEWAL_TIMING, RenewalTiming } from './renewal/RenewalTiming';

/**
 * The ledger's one state change: observes a decoded IoT Hub event and the device's record, and
 * decides the record's next state and the audit entries that go with it. Pure: the caller reads
 * and writes storage, and passes the time in.
 *
 * Ordering rules (IoT Hub delivers at least once, ordered only within a partition):
 * - reported changes are ordered by the reported `$version`; equal is a duplicate, lower is stale;
 * - lifecycle events by operationTimestamp: events from before a deletion are stale;
 * - connection events by their per-device hex sequence number.
 */
export interface LedgerContext {
  /** The clock's time, stamped on what certfleet records. */
  now: string;
  /** The default renewal policy. */
  policy: RenewalPolicy;
  /** Policies for cohorts (by twin tag or issuer); the first that matches wins. */
  cohortPolicies?: readonly CohortPolicy[];
  /** The renewal state machine's patience (a bad renewed certificate counts as a failure). */
  timing?: RenewalTiming;
  maxPemBytes: number;
}

export type LedgerOutcome =
  /** The record changed; save `record`. `askNow`: a pending renewal should be requested now. */
  | { outcome: 'applied'; record: DeviceRecord; askNow?: boolean }
  /** The event could not be used: dead-letter it. `record` carries a finding when the device is known. */
  | { outcome: 'rejected'; record?: DeviceRecord; problems: string[] }
  /** Nothing to change: a redelivery, an older event, or one that does not concern certificates. */
  | { outcome: 'duplicate' | 'stale' | 'irrelevant'; reason: string };

export function applyLedgerEvent(
  existing: DeviceRecord | undefined,
  event: LedgerEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  switch (event.kind) {
    case 'twin-report':
      return applyTwinReport(existing, event, ctx);
    case 'lifecycle':
      return event.change === 'created'
        ? applyCreated(existing, event, ctx)
        : applyDeleted(existing, event, ctx);
    case 'connection':
      return applyConnection(existing, event, ctx);
  }
}

function applyTwinReport(
  existing: DeviceRecord | undefined,
  event: TwinReportEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  const withCohort = applyCohort(existing, event, ctx);
  if (withCohort) return withCohort;
  if (!event.certificate.present && !event.privateKeyReported) {
    return { outcome: 'irrelevant', reason: 'the report does not touch the certificate' };
  }
  let record = existing ? clone(existing) : newDeviceRecord(event.hub, event.deviceId, ctx.now);
  if (record.lifecycle === 'deleted') {
    if (record.deletedAt && event.occurredAt <= record.deletedAt) {
      return { outcome: 'stale', reason: 'reported before the device was deleted' };
    }
    // A report after a deletion means the device exists again, even if its create event is late.
    record = reincarnate(record, event.occurredAt, ctx.now);
  } else if (record.createdAt && event.occurredAt < record.createdAt) {
    // From an earlier life of this device id (a replay of history): its $version counts from
    // another start, so comparing it with this life's would roll the record back.
    return {
      outcome: 'stale',
      reason: 'reported before this incarnation of the device was created',
    };
  }
  const version = event.reportedVersion;
  if (version === undefined) {
    if (event.privateKeyReported) recordPrivateKeyLeak(record, event, ctx);
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, ['reported $version is missing'], ctx),
      problems: ['reported $version is missing'],
    };
  }
  if (record.reportedVersion !== undefined && version <= record.reportedVersion) {
    if (event.privateKeyReported && leakIsNews(record, version)) {
      // An older report is still evidence that the current key leaked.
      recordPrivateKeyLeak(record, event, ctx);
      record.updatedAt = ctx.now;
      return { outcome: 'applied', record };
    }
    // The certificate part is old news, but the twin's tags may be newer (a reconcile reads the
    // whole twin): the cohort still counts.
    if (cohortIsNews(record, event)) {
      setCohort(record, event.cohort!.value ?? undefined, event.twinVersion!);
      if (record.current) record.renewalDueAt = renewalDueAt(record.current, policyOf(record, ctx));
      record.updatedAt = ctx.now;
      return { outcome: 'applied', record };
    }
    return version === record.reportedVersion
      ? { outcome: 'duplicate', reason: `reported $version ${version} already applied` }
      : {
          outcome: 'stale',
          reason: `reported $version ${version} is older than ${record.reportedVersion}`,
        };
  }

  record.reportedVersion = version;
  if (event.cohort !== undefined && event.twinVersion !== undefined) {
    if (record.cohortTwinVersion === undefined || event.twinVersion > record.cohortTwinVersion) {
      setCohort(record, event.cohort.value ?? undefined, event.twinVersion);
    }
  }
  record.lastSeenAt = later(record.lastSeenAt, event.occurredAt);
  record.updatedAt = ctx.now;
  if (event.privateKeyReported) recordPrivateKeyLeak(record, event, ctx);
  if (!event.certificate.present) return { outcome: 'applied', record };

  const value = event.certificate.value;
  if (value === null) return { outcome: 'applied', record: removeCertificate(record, event, ctx) };
  if (typeof value !== 'object' || Array.isArray(value)) {
    const problems = [
      `certificate must be an object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
    ];
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, problems, ctx),
      problems,
    };
  }
  const merged = event.complete
    ? (value as Record<string, unknown>)
    : mergeCertificatePatch(record.reported, value as Record<string, unknown>);
  const validation = validateReportedCertificate(merged, { maxPemBytes: ctx.maxPemBytes });
  if (!validation.ok) {
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, validation.problems, ctx),
      problems: validation.problems,
    };
  }
  const reported = validation.certificate;
  if (reported.pem !== undefined && event.pem && !event.pem.ok) {
    const problems = [`pem: ${event.pem.reason}`];
    return {
      outcome: 'rejected',
      record: withInvalidReport(record, event, problems, ctx),
      problems,
    };
  }
  return { outcome: 'applied', record: acceptCertificate(record, event, reported, version, ctx) };
}

/**
 * A change of the device's cohort tag (twin tags, ordered by the twin's `version`) picks its
 * renewal policy anew. Returns an outcome only when the event is about nothing else.
 */
function applyCohort(
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

function cohortIsNews(record: DeviceRecord, event: TwinReportEvent): boolean {
  if (event.cohort === undefined || event.twinVersion === undefined) return false;
  if (record.cohortTwinVersion !== undefined && event.twinVersion <= record.cohortTwinVersion)
    return false;
  return (event.cohort.value ?? undefined) !== record.cohort;
}

function setCohort(record: DeviceRecord, cohort: string | undefined, twinVersion: number): void {
  if (cohort === undefined) delete record.cohort;
  else record.cohort = cohort;
  record.cohortTwinVersion = twinVersion;
}

function acceptCertificate(
  record: DeviceRecord,
  event: TwinReportEvent,
  reported: ReportedCertificate,
  version: number,
  ctx: LedgerContext,
): DeviceRecord {
  const facts = certificateFacts(record.current, reported, event, version);
  const old = record.current;
  const isNew = !old || !sameCertificate(certificateIdentity(old), certificateIdentity(facts));
  const chain = reported.pem !== undefined && event.pem?.ok ? event.pem.chain : undefined;

  let sticky = record.findings.filter((f) => !CERTIFICATE_FINDINGS.includes(f.code));
  // A certificate that replaces an earlier one comes from a new CSR: the leaked key is retired.
  // (A first certificate after a leak may well carry the leaked key.)
  if (isNew && old && !event.privateKeyReported)
    sticky = sticky.filter((f) => f.code !== 'private-key-reported');
  const found = certificateFindings({
    deviceId: record.deviceId,
    reported,
    facts,
    chain,
    reportedAt: event.occurredAt,
    reportedVersion: version,
  });
  if (!isNew) {
    // The same certificate again: what was found about its renewal still holds.
    found.push(...record.findings.filter((f) => f.code === 'key-not-rotated'));
  } else if (old?.publicKeySha256 && old.publicKeySha256 === facts.publicKeySha256) {
    found.push(
      finding(
        'key-not-rotated',
        'the new certificate has the same public key as the one it replaces: the CSR reused the key pair',
        event.occurredAt,
        version,
      ),
    );
  }
  record.findings = [...sticky, ...found];
  record.reported = toView(reported);

  if (isNew) {
    const type: AuditEventType = !old
      ? 'certificate.first-seen'
      : Date.parse(facts.validUntil) > Date.parse(old.validUntil)
        ? 'certificate.renewed'
        : 'certificate.changed-unexpectedly';
    if (old) record.previous = old;
    record.current = facts;
    const entry = auditEntry(record, event, type, ctx, {
      old: old && certificateIdentity(old),
      new: certificateIdentity(facts),
      findings: found.map((f) => f.code),
    });
    record.pendingAudit.push(entry);
    // When certfleet asked for this certificate, check it really is the renewal it asked for.
    const problems = found.filter((f) => RENEWAL_BLOCKERS.includes(f.code)).map((f) => f.message);
    newCertificateArrived(
      record,
      entry,
      event.occurredAt,
      ctx.now,
      problems,
      ctx.timing ?? DEFAULT_RENEWAL_TIMING,
    );
  } else {
    // The same certificate again: keep when it was first seen, refresh what the PEM proves.
    record.current = {
      ...facts,
      firstSeenAt: old.firstSeenAt,
      reportedVersion: old.reportedVersion,
    };
  }
  record.renewalDueAt = renewalDueAt(record.current, policyOf(record, ctx));
  return record;
}

/** Findings that mean a new certificate is not the renewal certfleet asked for. */
const RENEWAL_BLOCKERS: readonly string[] = [
  'common-name-mismatch',
  'chain-untrusted',
  'expired-when-reported',
];

function policyOf(record: DeviceRecord, ctx: LedgerContext): RenewalPolicy {
  return policyFor(ctx.policy, ctx.cohortPolicies ?? [], {
    cohort: record.cohort,
    issuer: record.current?.issuer,
  });
}

/**
 * The facts about the reported certificate: from its PEM when this report carried one; else the
 * PEM facts already known when the fields still describe that certificate; else the fields.
 */
function certificateFacts(
  current: CertificateFacts | undefined,
  reported: ReportedCertificate,
  event: TwinReportEvent,
  version: number,
): CertificateFacts {
  const seen = { firstSeenAt: event.occurredAt, reportedVersion: version };
  if (reported.pem !== undefined && event.pem?.ok) {
    const leaf = event.pem.leaf;
    const facts: CertificateFacts = {
      source: 'pem',
      validFrom: leaf.validFrom,
      validUntil: leaf.validUntil,
      thumbprintSha1: leaf.thumbprintSha1,
      thumbprintSha256: leaf.thumbprintSha256,
      serialNumber: leaf.serialNumber,
      subject: leaf.subject,
      issuer: leaf.issuer,
      keyAlgorithm: leaf.keyAlgorithm,
      publicKeySha256: leaf.publicKeySha256,
      signatureAlgorithm: leaf.signatureAlgorithm,
      chainLength: leaf.chainLength,
      ...seen,
    };
    if (leaf.commonName !== undefined) facts.commonName = leaf.commonName;
    if (leaf.keySize !== undefined) facts.keySize = leaf.keySize;
    return facts;
  }
  if (current?.source === 'pem' && fieldsDescribe(reported, current)) return current;
  const facts: CertificateFacts = {
    source: 'reported',
    validFrom: reported.validFrom,
    validUntil: reported.validUntil,
    ...seen,
  };
  if (reported.thumbprint?.length === 40) facts.thumbprintSha1 = reported.thumbprint;
  if (reported.thumbprint?.length === 64) facts.thumbprintSha256 = reported.thumbprint;
  if (reported.serialNumber) facts.serialNumber = reported.serialNumber;
  if (reported.issuer) facts.issuer = reported.issuer;
  if (reported.subject) {
    facts.subject = reported.subject;
    const cn = commonNameOf(reported.subject);
    if (cn !== undefined) facts.commonName = cn;
  }
  return facts;
}

function fieldsDescribe(reported: ReportedCertificate, facts: CertificateFacts): boolean {
  if (!sameInstant(reported.validFrom, facts.validFrom)) return false;
  if (!sameInstant(reported.validUntil, facts.validUntil)) return false;
  if (reported.serialNumber && reported.serialNumber !== facts.serialNumber) return false;
  if (reported.thumbprint) {
    const known = reported.thumbprint.length === 64 ? facts.thumbprintSha256 : facts.thumbprintSha1;
    if (reported.thumbprint !== known) return false;
  }
  return true;
}

function removeCertificate(
  record: DeviceRecord,
  event: TwinReportEvent,
  ctx: LedgerContext,
): DeviceRecord {
  record.findings = record.findings.filter((f) => !CERTIFICATE_FINDINGS.includes(f.code));
  delete record.reported;
  delete record.renewalDueAt;
  delete record.renewal;
  const old = record.current;
  if (old) {
    record.previous = old;
    delete record.current;
    record.pendingAudit.push(
      auditEntry(record, event, 'certificate.removed', ctx, { old: certificateIdentity(old) }),
    );
  }
  return record;
}

/**
 * Whether an older report's leaked key is still worth a finding: none is flagged yet, and the
 * leak is not older than the current certificate (whose key it may be).
 */
function leakIsNews(record: DeviceRecord, version: number): boolean {
  if (record.findings.some((f) => f.code === 'private-key-reported')) return false;
  return record.current === undefined || record.current.reportedVersion <= version;
}

function recordPrivateKeyLeak(record: DeviceRecord, event: TwinReportEvent, ctx: LedgerContext) {
  record.findings = [
    ...record.findings.filter((f) => f.code !== 'private-key-reported'),
    finding(
      'private-key-reported',
      'the device reported private key material in its twin; it was not stored, and the key must be treated as leaked',
      event.occurredAt,
      event.reportedVersion,
    ),
  ];
  record.pendingAudit.push(
    auditEntry(record, event, 'device.private-key-reported', ctx, {
      detail: 'private key material redacted before storage',
    }),
  );
}

function withInvalidReport(
  record: DeviceRecord,
  event: TwinReportEvent,
  problems: string[],
  ctx: LedgerContext,
): DeviceRecord {
  if (event.reportedVersion !== undefined) {
    record.reportedVersion = Math.max(record.reportedVersion ?? 0, event.reportedVersion);
  }
  record.findings = [
    ...record.findings.filter((f) => f.code !== 'invalid-certificate-report'),
    finding(
      'invalid-certificate-report',
      `certificate report rejected: ${problems.join('; ')}`,
      event.occurredAt,
      event.reportedVersion,
    ),
  ];
  record.updatedAt = ctx.now;
  return record;
}

function applyCreated(
  existing: DeviceRecord | undefined,
  event: LifecycleEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  if (!existing) {
    const record = newDeviceRecord(event.hub, event.deviceId, ctx.now);
    record.createdAt = event.occurredAt;
    return { outcome: 'applied', record };
  }
  if (existing.lifecycle === 'deleted') {
    if (existing.deletedAt && event.occurredAt <= existing.deletedAt) {
      return { outcome: 'stale', reason: 'created before the device was last deleted' };
    }
    return { outcome: 'applied', record: reincarnate(clone(existing), event.occurredAt, ctx.now) };
  }
  if (existing.createdAt && event.occurredAt < existing.createdAt) {
    return { outcome: 'stale', reason: 'created before this incarnation' };
  }
  if (existing.createdAt === event.occurredAt) {
    return { outcome: 'duplicate', reason: 'this incarnation is already recorded' };
  }
  if (existing.createdAt) {
    // Created again after an earlier creation: a deletion in between was missed.
    return { outcome: 'applied', record: reincarnate(clone(existing), event.occurredAt, ctx.now) };
  }
  const record = clone(existing);
  record.createdAt = event.occurredAt;
  record.updatedAt = ctx.now;
  return { outcome: 'applied', record };
}

function applyDeleted(
  existing: DeviceRecord | undefined,
  event: LifecycleEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  if (existing?.lifecycle === 'deleted') {
    if (!existing.deletedAt || event.occurredAt <= existing.deletedAt) {
      return { outcome: 'duplicate', reason: 'the device is already deleted' };
    }
    // Deleted again (its re-creation was never seen): later events are judged by this deletion.
    const record = clone(existing);
    record.deletedAt = event.occurredAt;
    record.updatedAt = ctx.now;
    return { outcome: 'applied', record };
  }
  if (existing?.createdAt && event.occurredAt < existing.createdAt) {
    return { outcome: 'stale', reason: 'deletion of an earlier incarnation' };
  }
  const record = existing ? clone(existing) : newDeviceRecord(event.hub, event.deviceId, ctx.now);
  record.lifecycle = 'deleted';
  record.deletedAt = event.occurredAt;
  record.connection = { state: 'disconnected', changedAt: event.occurredAt };
  delete record.renewalDueAt;
  delete record.renewal;
  record.updatedAt = ctx.now;
  record.pendingAudit.push(
    auditEntry(record, event, 'device.deleted', ctx, {
      old: record.current && certificateIdentity(record.current),
    }),
  );
  return { outcome: 'applied', record };
}

function applyConnection(
  existing: DeviceRecord | undefined,
  event: ConnectionEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  if (
    existing?.lifecycle === 'deleted' &&
    existing.deletedAt &&
    event.occurredAt <= existing.deletedAt
  ) {
    return { outcome: 'stale', reason: 'connection change from before the device was deleted' };
  }
  if (existing?.lifecycle === 'deleted' && !event.connected) {
    // A deleted device's last disconnect trails its deletion: it does not bring the device back.
    return { outcome: 'stale', reason: 'a deleted device disconnecting' };
  }
  let record = existing ? clone(existing) : newDeviceRecord(event.hub, event.deviceId, ctx.now);
  if (record.lifecycle === 'deleted') record = reincarnate(record, event.occurredAt, ctx.now);
  const last = record.connection.sequenceNumber;
  if (last !== undefined) {
    const order = compareHex(event.sequenceNumber, last);
    if (order === 0)
      return { outcome: 'duplicate', reason: `sequence number ${last} already applied` };
    if (order < 0) return { outcome: 'stale', reason: `sequence number is older than ${last}` };
  }
  record.connection = {
    state: event.connected ? 'connected' : 'disconnected',
    sequenceNumber: event.sequenceNumber,
    changedAt: event.occurredAt,
  };
  record.lastSeenAt = later(record.lastSeenAt, event.occurredAt);
  record.updatedAt = ctx.now;
  if (event.connected) {
    // A renewal waiting on this device is asked right away, not at the next sweep.
    const { record: next, askNow } = deviceConnected(record, ctx.now);
    return askNow
      ? { outcome: 'applied', record: next, askNow }
      : { outcome: 'applied', record: next };
  }
  return { outcome: 'applied', record };
}

/** A device id created again starts a new life: its old certificate becomes history. */
function reincarnate(record: DeviceRecord, at: string, now: string): DeviceRecord {
  const next = newDeviceRecord(record.hub, record.deviceId, now);
  next.createdAt = at;
  const previous = record.current ?? record.previous;
  if (previous) next.previous = previous;
  if (record.lastSeenAt) next.lastSeenAt = record.lastSeenAt;
  next.pendingAudit = record.pendingAudit;
  return next;
}

function auditEntry(
  record: DeviceRecord,
  event: LedgerEvent,
  type: AuditEventType,
  ctx: LedgerContext,
  fields: Pick<AuditEntry, 'old' | 'new' | 'findings' | 'detail'>,
): AuditEntry {
  const reportedVersion = event.kind === 'twin-report' ? event.reportedVersion : undefined;
  const entry: AuditEntry = {
    id: auditEntryId([
      type,
      record.hub,
      record.deviceId,
      record.createdAt,
      reportedVersion ?? event.occurredAt,
      fields.new?.thumbprintSha256 ?? fields.new?.validUntil,
    ]),
    type,
    hub: record.hub,
    deviceId: record.deviceId,
    occurredAt: event.occurredAt,
    recordedAt: ctx.now,
    opType: event.opType,
  };
  if (reportedVersion !== undefined) entry.reportedVersion = reportedVersion;
  if (fields.old) entry.old = fields.old;
  if (fields.new) entry.new = fields.new;
  if (fields.findings && fields.findings.length > 0) entry.findings = fields.findings;
  if (fields.detail) entry.detail = fields.detail;
  return entry;
}

function compareHex(a: string, b: string): number {
  const x = BigInt(`0x${a}`);
  const y = BigInt(`0x${b}`);
  return x === y ? 0 : x < y ? -1 : 1;
}

function later(a: string | undefined, b: string): string {
  return a === undefined || b > a ? b : a;
}

function clone(record: DeviceRecord): DeviceRecord {
  return structuredClone(record);
}
