import { AlertScope, AlertSeverity, rises } from '../domain/alerts/AlertRule';
import { AlertState, AlertTransition, AlertTransitionKind } from '../domain/alerts/AlertState';
import { AuditEntry, ReportFileDigest } from '../domain/AuditEntry';
import { BadAuditLine, ChainVerification } from '../domain/AuditChain';
import { PemInspection } from '../domain/CertificateInspection';
import { DeviceKey } from '../domain/DeviceKey';
import { DeviceRecord } from '../domain/DeviceRecord';
import { MethodOutcome, RenewalRequest } from '../domain/renewal/MethodOutcome';
import { RenewalStatus } from '../domain/renewal/RenewalState';
import { PacingState } from '../domain/renewal/Pacing';
import { Rotation } from '../domain/rotation/Rotation';
import { PartitionEnd } from '../domain/health/partitionLag';

/**
 * The ports the use cases need, shaped to certfleet's needs rather than to an SDK. Azure
 * adapters live in shared/adapters/storage; in-memory doubles for tests in test/support.
 */

/** A record as stored, with the token that guards the next write (an ETag in Azure). */
export interface Versioned<T> {
  value: T;
  etag: string;
}

export interface CertificateLedger {
  read(key: DeviceKey): Promise<Versioned<DeviceRecord> | undefined>;
  /**
   * Writes a record over `previous` (as read; undefined: create, must not exist yet) and keeps
   * the renewal index in step. Throws `WriteConflict` when someone else wrote first: read
   * again and decide again. Returns the new ETag.
   */
  write(record: DeviceRecord, previous: Versioned<DeviceRecord> | undefined): Promise<string>;
  /** The records of a device id in every hub that has one (device ids are unique per hub). */
  findByDeviceId(deviceId: string): Promise<DeviceRecord[]>;
  /**
   * Every record, streamed in pages; order is by hub, then device id (each ledger's own order of
   * them, the same on every call). `after`: only the records that come after that device's place
   * in the order, whether it still exists or not, so a long pass can go on where it stopped.
   */
  list(options?: { hub?: string; after?: DeviceKey }): AsyncIterable<DeviceRecord>;
  /**
   * Devices with something for certfleet to do before `before` (their `nextActionAt`: renewal
   * falls due, a retry, a deadline, an expiry), earliest first within each shard of the index.
   * Costs grow with the answer, not with the fleet (docs/storage.md). An entry can be out of
   * date (a crash between index and record): callers read the record before acting.
   */
  actionsDueBefore(before: string): AsyncIterable<ActionEntry>;
  /**
   * Removes an index entry its record no longer accounts for (a write that crashed, or lost its
   * race, between the index and the record leaves one). Callers pass an entry they found to
   * differ from its record's `nextActionAt`; an entry already gone is no error.
   */
  forgetAction(entry: ActionEntry): Promise<void>;
  /**
   * The renewal index read in order, a part at a time: the entries `actionsDueBefore(before)`
   * would give (the same index, stale entries included), ascending by `actionAt`, then `hub`,
   * then `deviceId`, each string compared by UTF-16 code units as JavaScript's `<` does
   * (shared/domain/renewal/renewalIndexOrder.ts); from `from` (a time, inclusive) when given,
   * strictly after the entry `after` names when given, and at most `limit` (a positive integer)
   * of them. A reader resumes where it stopped by passing the last entry it got as `after`.
   *
   * What it reads grows with what it returns, never with the rest of the index: in Table storage
   * one query per index partition, then pages as the merge of the partitions needs them, sized
   * from `limit` (docs/storage.md). Entries can be out of date, as `actionsDueBefore`'s can.
   *
   * Optional while ledgers are being moved to it: without it, the renewal sweep reads its
   * horizon whole every minute (`actionsDueBefore`), as it did before.
   */
  actionsInOrder?(range: {
    before: string;
    from?: string;
    after?: { actionAt: string; hub: string; deviceId: string };
    limit?: number;
  }): AsyncIterable<ActionEntry>;
}

/**
 * Receipts that the audit entries a record's write stored (its `auditTag`) are in the audit
 * trail, so the next reader of the record drops them instead of a write clearing them.
 */
export interface AuditReceipts {
  /** Whether a receipt was recorded under this tag. */
  has(tag: string): Promise<boolean>;
  record(tags: readonly string[]): Promise<void>;
}

export interface ActionEntry extends DeviceKey {
  actionAt: string;
  /** When the renewal is due, when `actionAt` is earlier for an alert check (RenewalIndexEntry). */
  renewalAt?: string;
  /** The record's next alert check (RenewalIndexEntry). */
  alertCheckAt?: string;
  /** Enough for the capacity planner without reading the record. */
  validUntil: string;
  status: RenewalStatus;
}

export class WriteConflict extends Error {
  readonly code = 'WRITE_CONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'WriteConflict';
  }
}

export interface AuditTrail {
  /**
   * Appends entries, each exactly once. `mayAlreadyBeWritten` marks entries left pending by an
   * earlier invocation that may have died after writing them: those are checked first. Returns
   * how many records this call appended: entries found already written (by an earlier
   * invocation, or another instance a moment ago) are not counted.
   */
  append(
    entries: readonly AuditEntry[],
    options: { mayAlreadyBeWritten: boolean },
  ): Promise<number>;
  /** The records of one UTC date, in order, each blob's chain verified. */
  verifyDate(date: string): Promise<AuditDateVerification>;
  /**
   * The records of one UTC date that verify, in order. Each line that does not is left out and
   * passed to `onBadLine` (where it is and what is wrong, never its content).
   */
  readDate(
    date: string,
    options?: { onBadLine?: (bad: BadAuditLine) => void },
  ): AsyncIterable<AuditEntry>;
}

/**
 * The audit trail's blobs as stored, byte for byte: what signed checkpoints seal and what
 * verification compares with them.
 */
export interface AuditBlobs {
  /** Every audit blob whose name starts with `prefix` (all of them by default), with its length. */
  listBlobs(prefix?: string): AsyncIterable<{ name: string; bytes: number }>;
  /** The blob's bytes from `from` on (all of them by default); undefined when it does not exist. */
  readBlob(name: string, from?: number): Promise<Buffer | undefined>;
}

/**
 * Signed checkpoints, stored under their numbers. Numbers are taken, never overwritten: two
 * checkpointers that race for the same number get one winner.
 */
export interface CheckpointStore {
  /** The numbers stored, ascending. */
  list(): Promise<number[]>;
  /** The checkpoint's text as stored; undefined when there is none under that number. */
  read(seq: number): Promise<string | undefined>;
  /** Stores a new checkpoint; false when that number is taken already. */
  create(seq: number, text: string): Promise<boolean>;
}

/**
 * Signs checkpoints with a key the storage writer cannot use: a Key Vault key in Azure, a local
 * key file for local runs. ES256: ECDSA P-256 over the message's SHA-256, the signature r || s.
 */
export interface CheckpointSigner {
  /** The key (and version) the next signature is made with, as checkpoints name it. */
  keyId(): Promise<string>;
  sign(keyId: string, message: Buffer): Promise<Buffer>;
}

export type SignatureCheck = 'valid' | 'invalid' | 'untrusted-key';

/** Checks checkpoint signatures against the keys this deployment trusts, and no other. */
export interface CheckpointKeys {
  verify(keyId: string, message: Buffer, signature: Buffer): Promise<SignatureCheck>;
}

/**
 * The daily point-in-time reports, one folder a day (`reports/YYYY-MM-DD/`). A file, once
 * written, is never rewritten: the audit trail's report.written record holds its digest.
 */
export interface ReportArchive {
  /**
   * Writes one file of a day's report from `content`, streamed, unless the day has it already:
   * then nothing is written (`existed`), and the digest is of what is stored.
   */
  write(
    date: string,
    name: string,
    content: AsyncIterable<string>,
    contentType: string,
  ): Promise<ReportFileDigest & { existed: boolean }>;
  /**
   * The file's bytes, streamed, and its version (ETag); undefined when the day has no such file.
   * With `ifMatch`, only that version: a file changed since is a `ReportChanged` error.
   */
  read(
    date: string,
    name: string,
    options?: { ifMatch?: string },
  ): Promise<{ content: AsyncIterable<Buffer>; etag?: string } | undefined>;
  /** The days with a report, ascending. */
  dates(): Promise<string[]>;
}

export interface AuditDateVerification {
  date: string;
  blobs: { name: string; result: ChainVerification }[];
}

/** A report file changed between two reads of it (ReportArchive.read with `ifMatch`). */
export class ReportChanged extends Error {
  readonly code = 'REPORT_CHANGED';
  constructor(message: string) {
    super(message);
    this.name = 'ReportChanged';
  }
}

export interface DeadLetter {
  /** Deterministic: the same message always gets the same id. */
  id: string;
  code: string;
  reason: string;
  receivedAt: string;
  hub?: string;
  deviceId?: string;
  /** The message as received, private key material redacted. */
  message: unknown;
}

export interface DeadLetters {
  put(letter: DeadLetter): Promise<void>;
  list(): AsyncIterable<DeadLetter>;
}

/** A CA of the trust bundle, as the fleet-risk review needs it. */
export interface TrustAnchor {
  subject: string;
  validUntil: string;
}

export interface CertificateInspector {
  /**
   * Parses a reported leaf PEM and verifies it, with the certificates after it and those of
   * the report's `chain` (PEM or base64 DER strings), as of `at`. Never throws for bad input.
   */
  inspect(pem: string, at: Date, chain?: readonly string[]): Promise<PemInspection>;
}

/**
 * Storage refused a request for a reason that is not the event's: missing permissions, a
 * missing table or container, a wrong endpoint, a credential that cannot get a token. The
 * operator must fix it; until then the invocation fails and the host keeps retrying, so no
 * event is checkpointed and lost.
 */
export class StorageRejected extends Error {
  readonly code = 'STORAGE_REJECTED';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageRejected';
  }
}

/**
 * A record that storage can never hold (too large, or keys storage refuses: an answer no retry
 * can change, shared/adapters/storage/storageFaults.ts): the events that made it are
 * dead-lettered, and the rest of the batch goes on.
 */
export class RecordRejected extends Error {
  readonly code = 'RECORD_REJECTED';
  constructor(message: string) {
    super(message);
    this.name = 'RecordRejected';
  }
}

/**
 * A storage fault worth retrying (throttling, timeouts, a service or network hiccup). Adapters
 * throw it; the Event Hubs trigger lets it fail the invocation so the host's retry policy
 * redelivers the batch. Any other error is the event's problem, not the platform's.
 */
export class TransientFault extends Error {
  readonly code = 'TRANSIENT_FAULT';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientFault';
  }
}

/**
 * Asks devices to renew their certificate by IoT Hub direct method, routed to each device's
 * hub. Never throws for what a hub or a device answers: every answer is a `MethodOutcome`.
 */
export interface DeviceMethods {
  requestRenewal(device: DeviceKey, request: RenewalRequest): Promise<MethodOutcome>;
}

/** The fleet's pacing state (shared/domain/renewal/Pacing.ts), one record guarded by an ETag. */
export interface PacingStore {
  read(): Promise<Versioned<PacingState> | undefined>;
  /** Throws `WriteConflict` when someone else wrote first. */
  write(state: PacingState, previous: Versioned<PacingState> | undefined): Promise<string>;
}

/**
 * The device twins of each hub, read a page at a time (IoT Hub's twin query), so the ledger can
 * import a fleet it has never seen and catch up on events it missed. Each page is one query
 * against the hub's quota (S1: 20 a minute per unit): callers pace themselves.
 */
export interface TwinSource {
  /** The hubs to reconcile: every configured hub. */
  readonly hubs: readonly string[];
  /**
   * One page of the hub's device twins (whole twins, as IoT Hub returns them), from the start
   * or from `continuation`; `continuation` in the answer means there is more. Throws
   * `TwinQueryFailed` for whatever the hub or the network answers instead.
   */
  queryTwins(hub: string, continuation?: string): Promise<TwinPage>;
}

export interface TwinPage {
  twins: unknown[];
  continuation?: string;
}

/**
 * Why a twin query page did not come back:
 * - `throttled`: IoT Hub's 429 (or a quota spent): wait (`retryAfterMs` when the hub says how
 *   long) and ask for the same page again;
 * - `unavailable`: a 5xx, a timeout, a network fault, a token service hiccup: worth a retry;
 * - `refused`: credentials, roles, a hub certfleet has no connection for, a request IoT Hub
 *   rejects: retrying will not help until an operator acts.
 */
export type TwinQueryFailure = 'throttled' | 'unavailable' | 'refused';

export class TwinQueryFailed extends Error {
  readonly code = 'TWIN_QUERY_FAILED';
  constructor(
    readonly failure: TwinQueryFailure,
    message: string,
    readonly details: { status?: number; errorCode?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'TwinQueryFailed';
  }
}

/**
 * What an alert sink is sent: one alert transition (shared/domain/alerts/AlertState.ts), or a
 * test notification (`certfleet alerts test`). Carries certfleet's own sentences and fields,
 * never text a device sent.
 */
export interface AlertNotification {
  /** The transition's id: the idempotency key that receivers deduplicate on. */
  id: string;
  alertId: string;
  /** An AlertRule, or `test` for a test notification. */
  rule: string;
  severity: AlertSeverity;
  status: AlertTransitionKind;
  scope: AlertScope;
  /** One human sentence. */
  summary: string;
  /** When the alert's episode began. */
  raisedAt: string;
  /** When this transition happened. */
  at: string;
  /** Device alerts. */
  hub?: string;
  deviceId?: string;
  /** Certificate alerts: the certificate's (the earliest, for a fleet alert) expiry. */
  validUntil?: string;
  /** Fleet alerts: how many devices, and some of their keys (`hub/deviceId`). */
  count?: number;
  sample?: string[];
  /** A test notification sent by `certfleet alerts test`: no alert behind it. */
  test?: boolean;
}

export type AlertSinkName = 'webhook' | 'teams' | 'slack' | 'eventgrid';

/**
 * One place ops hear alerts: a generic webhook, Teams, Slack, an Event Grid topic. Sinks
 * never see a secret in a notification, and never put one in an error message.
 */
export interface AlertSink {
  readonly name: AlertSinkName;
  /**
   * Sends one notification; resolves when the receiver accepted it (2xx). Throws
   * `AlertSinkFailed` otherwise: `retryable` for timeouts, network faults, 408, 429 and 5xx;
   * not for the other 4xx (a wrong URL or key: an operator must act).
   */
  send(notification: AlertNotification): Promise<void>;
}

export class AlertSinkFailed extends Error {
  readonly code = 'ALERT_SINK_FAILED';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly details: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'AlertSinkFailed';
  }
}

/** A notification waiting for (or done with) one sink: the notification outbox. */
export interface AlertDelivery {
  sink: AlertSinkName;
  notification: AlertNotification;
  /** When it was queued, and when it may next be tried. */
  queuedAt: string;
  nextAttemptAt: string;
  attempts: number;
  /** Pending until sent; `rolled-up` when a fleet alert says it for many devices. */
  state: 'pending' | 'delivered' | 'rolled-up';
  /** A device alert's fleet subject (`rule;cause`): the group it may be rolled up into. */
  group?: string;
  /** Why the last attempt failed (the sink's message, never a secret). */
  lastError?: string;
  settledAt?: string;
}

/**
 * Where alert lines go: the Functions host's log (Application Insights), one line per alert
 * transition and per failed delivery, each a fixed prefix and JSON (docs/alerts.md has the KQL).
 */
export interface AlertLog {
  info(line: string): void;
  error(line: string): void;
}

export interface AlertFilter {
  severity?: AlertSeverity;
  rule?: string;
  scope?: AlertScope;
  hub?: string;
}

/**
 * Open alerts and the notification outbox. The open alerts are kept in step with the
 * transitions the ledger decides (each device's own are in its record too); devices with one
 * rule and one cause are kept together, so a roll-up counts a group without reading the fleet.
 */
export interface AlertStore {
  /** Puts raised and escalated alerts, removes resolved ones; idempotent, in the given order. */
  applyTransitions(transitions: readonly AlertTransition[]): Promise<void>;
  /** Open alerts, device and fleet, that match the filter. */
  listOpen(filter?: AlertFilter): AsyncIterable<AlertState>;
  /** The open device alerts of one fleet subject (`rule;cause`, see rollUp). */
  listGroup(fleetSubject: string): Promise<AlertState[]>;
  /**
   * Queues deliveries; one that is already queued, delivered or rolled up (same sink and
   * notification id) is left as it is, so queuing again never sends twice.
   */
  enqueue(deliveries: readonly AlertDelivery[]): Promise<void>;
  /** Pending deliveries whose `nextAttemptAt` has come, oldest first, at most `limit`. */
  duePending(now: string, limit: number): Promise<Versioned<AlertDelivery>[]>;
  /** Writes a delivery's new state over the one read; throws `WriteConflict` if it changed. */
  settle(next: AlertDelivery, previous: Versioned<AlertDelivery>): Promise<void>;
  /** One delivery, by sink and notification id. */
  findDelivery(sink: AlertSinkName, notificationId: string): Promise<AlertDelivery | undefined>;
  /** Every delivery, for reports and tests (`certfleet alerts --all`). */
  listDeliveries(): AsyncIterable<AlertDelivery>;
}

/**
 * What every AlertStore means by its filter and its orders, and when a stored alert gives way
 * to a transition: one definition for the Table adapter and the in-memory double alike.
 */
export const alertStoreRules = {
  /** Whether an open alert passes the filter (each given field must equal; all must hold). */
  matches(state: AlertState, filter: AlertFilter): boolean {
    return (
      (filter.severity === undefined || state.severity === filter.severity) &&
      (filter.rule === undefined || state.rule === filter.rule) &&
      (filter.scope === undefined || state.scope === filter.scope) &&
      (filter.hub === undefined || state.hub === filter.hub)
    );
  },
  /** listOpen's order: scope, then rule, then subject. */
  byScopeRuleSubject(a: AlertState, b: AlertState): number {
    return compare(a.scope, b.scope) || compare(a.rule, b.rule) || compare(a.subject, b.subject);
  },
  /** duePending's order: the oldest attempt first. */
  oldestFirst(a: AlertDelivery, b: AlertDelivery): number {
    return (
      compare(a.nextAttemptAt, b.nextAttemptAt) ||
      compare(a.queuedAt, b.queuedAt) ||
      compare(a.notification.id, b.notification.id) ||
      compare(a.sink, b.sink)
    );
  },
  /**
   * Whether a raised or escalated transition changes the stored alert: for a later episode, or
   * for this one at a severity no lower than its peak. A replay of an older transition (an
   * earlier episode, or a raise after its escalation) changes nothing.
   */
  replaces(stored: AlertState, t: AlertTransition): boolean {
    if (stored.id === t.alertId) return !rises(t.severity, stored.peakSeverity);
    return t.episodeStartedAt > stored.episodeStartedAt;
  },
};

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Planned CA rotations (shared/domain/rotation/Rotation.ts), each one record guarded by an ETag:
 * the timer's work and a cancellation never overwrite each other.
 */
export interface RotationStore {
  read(id: string): Promise<Versioned<Rotation> | undefined>;
  /** Every rotation, in id order (ids begin with the day they were declared). */
  list(): Promise<Versioned<Rotation>[]>;
  /** Throws `WriteConflict` when someone else wrote (or created) it first. Returns the new ETag. */
  write(rotation: Rotation, previous: Versioned<Rotation> | undefined): Promise<string>;
}

// The health check's ports (shared/app/health/CheckHealth.ts). Each call takes the signal that
// aborts it when the check gives up on it (5 s).

/**
 * A health check that got an answer other than the one it wanted, or none. `problem` is short
 * and classified (`403 AuthorizationPermissionMismatch`, `ENOTFOUND`, `401
 * IotHubUnauthorizedAccess`): a status, a service's error code, a network error's code, a
 * setting's name; never a key, a token, a connection string or an answer's body, since operators
 * read it in `GET /api/health/details`.
 */
export class ProbeFailed extends Error {
  readonly code = 'PROBE_FAILED';
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'ProbeFailed';
  }
}

/** Whether the fleet storage answers certfleet: one cheap read of a table and of a container. */
export interface StorageProbe {
  /** Resolves when storage answered as it should; throws `ProbeFailed` otherwise. */
  probe(signal: AbortSignal): Promise<void>;
}

/** The end of each partition of the Event Hub that IoT Hub routes to. */
export interface EventHubPartitions {
  readonly eventHub: string;
  readonly consumerGroup: string;
  /** Every partition's end; throws `ProbeFailed` when Event Hubs does not answer. */
  partitionEnds(signal: AbortSignal): Promise<PartitionEnd[]>;
}

/**
 * Where the Event Hubs trigger checkpointed each partition of its consumer group: the sequence
 * number of the last event it finished, by partition id; `'unknown'` for a checkpoint without
 * one. A partition never checkpointed is absent. Throws `ProbeFailed` when they cannot be read.
 */
export interface TriggerCheckpoints {
  checkpoints(signal: AbortSignal): Promise<ReadonlyMap<string, number | 'unknown'>>;
}

/** Each configured IoT hub's service statistics. */
export interface HubStatistics {
  /** The hubs to check: every configured hub. */
  readonly hubs: readonly string[];
  /** The hub's connected-device count; throws `ProbeFailed` when the hub does not answer so. */
  connectedDevices(hub: string, signal: AbortSignal): Promise<number | undefined>;
}
