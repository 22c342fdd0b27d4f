import { CertificateFacts, sameCertificate } from '../../domain/Certificate';
import { Clock, isoUtc } from '../../domain/Clock';
import { DeviceKey, deviceKeyString } from '../../domain/DeviceKey';
import { DeviceRecord } from '../../domain/DeviceRecord';
import { LedgerEvent } from '../../domain/LedgerEvent';
import {
  LedgerContext,
  LedgerOutcome,
  applyLedgerEvent,
  holdsEvent,
} from '../../domain/applyLedgerEvent';
import { Severity } from '../../domain/Finding';
import { pemsToInspect } from '../../domain/ReportedCertificate';
import { CohortPolicy, RenewalPolicy } from '../../domain/RenewalPolicy';
import { movedToAnotherHub } from '../../domain/renewal/renewalTransitions';
import { AuditOutbox, TouchedRecord } from '../AuditOutbox';
import { DecodeResult, decodeIotHubMessage } from './decodeIotHubMessage';
import { RawIotHubMessage } from './RawIotHubMessage';
import { mapWithConcurrency } from '../concurrency';
import { deadLetterOf } from './deadLetterOf';
import {
  AuditTrail,
  CertificateInspector,
  CertificateLedger,
  DeadLetters,
  StorageRejected,
  TransientFault,
  WriteConflict,
} from '../ports';
import { retryOnWriteConflict } from '../retryOnWriteConflict';
import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { alertsOnWrite } from '../alerts/alertsOnWrite';
import { AlertRelay } from '../alerts/AlertRelay';
import { updateRecord } from '../updateRecord';

export interface IngestSettings {
  certificatePath: string;
  maxBodyBytes: number;
  /** Bytes of one PEM string of a report (`pem`, each of `chain`): a twin string's 4 KB. */
  maxPemBytes: number;
  renewalPolicy: RenewalPolicy;
  cohortPolicies?: readonly CohortPolicy[];
  /** Twin tag naming a device's cohort. */
  cohortTag?: string;
  /** CERTFLEET_CN_MISMATCH_SEVERITY; undefined: the domain's default (critical). */
  commonNameMismatchSeverity?: Severity;
  /**
   * The hubs DPS may assign a device among (the configured IoT Hubs, names as events carry
   * them). A device's new certificate in one of them is looked for in the others by point
   * reads, one per hub, never by a scan of the ledger; none or one hub: no look-up.
   */
  hubs?: readonly string[];
  /** Alerts are evaluated with each record written (alertsOnWrite). */
  alerts?: AlertSettings;
}

export interface IngestDependencies {
  ledger: CertificateLedger;
  audit: AuditTrail;
  deadLetters: DeadLetters;
  inspector: CertificateInspector;
  clock: Clock;
  settings: IngestSettings;
  /**
   * Called after the batch with devices whose pending renewal should be requested right away
   * (they just connected). A failure here never fails the batch: the sweep asks them anyway.
   */
  askNow?: (devices: DeviceKey[]) => Promise<void>;
  /** Where alert transitions go once audited (none: they stay in the records and the trail). */
  alertRelay?: AlertRelay;
}

export interface IngestSummary {
  messages: number;
  applied: number;
  duplicate: number;
  stale: number;
  irrelevant: number;
  ignored: number;
  deadLettered: number;
  auditWritten: number;
}

/** A decoder failure is the message's problem: it becomes a dead letter, never a failed batch. */
function safely(decode: () => DecodeResult): DecodeResult {
  try {
    return decode();
  } catch (error) {
    return {
      ok: false,
      code: 'malformed-body',
      reason: `could not be decoded (${(error as Error).name})`,
    };
  }
}

export function emptyIngestSummary(): IngestSummary {
  return {
    messages: 0,
    applied: 0,
    duplicate: 0,
    stale: 0,
    irrelevant: 0,
    ignored: 0,
    deadLettered: 0,
    auditWritten: 0,
  };
}

interface Item {
  event: LedgerEvent;
  messageIndex: number;
}

interface DeviceResult extends TouchedRecord {
  askNow: boolean;
  /** The certificate this batch brought the device (or redelivered): others may have moved. */
  newCertificate?: CertificateFacts;
}

const DEVICE_CONCURRENCY = 16;

/**
 * Use case: apply a batch of routed IoT Hub events to the certificate ledger and the audit trail.
 *
 * 1. Decode every message; one that cannot be decoded is dead-lettered, the rest go on.
 * 2. Per device, in arrival order: read the record, parse the PEMs of reports newer than it
 *    (the x509 adapter), decide (pure `applyLedgerEvent`), write it
 *    under its ETag; on a conflict, read and decide again. Audit entries travel inside the
 *    record (an outbox), so a record and its audit entries are never out of step.
 * 3. A device that brought a new certificate in one hub may have been assigned there by DPS:
 *    a campaign for the same device id in another hub ends as moved (`movedToAnotherHub`).
 * 4. Append the audit entries, then clear them from the records.
 *
 * Transient storage faults propagate and fail the invocation, so the host redelivers the batch;
 * everything already applied is then recognised as a duplicate.
 */
export class IngestIotHubEvents {
  private readonly outbox: AuditOutbox;

  constructor(private readonly deps: IngestDependencies) {
    this.outbox = new AuditOutbox(deps.ledger, deps.audit, deps.alertRelay);
  }

  async apply(messages: readonly RawIotHubMessage[]): Promise<IngestSummary> {
    const now = isoUtc(this.deps.clock.now());
    const summary = emptyIngestSummary();
    summary.messages = messages.length;
    const deadLettered = new Set<number>();
    const deadLetter = async (index: number, rejection: Parameters<typeof deadLetterOf>[1]) => {
      if (deadLettered.has(index)) return;
      await this.deps.deadLetters.put(
        deadLetterOf(messages[index] as RawIotHubMessage, rejection, now),
      );
      deadLettered.add(index);
      summary.deadLettered += 1;
    };

    const groups = new Map<string, { key: DeviceKey; items: Item[] }>();
    for (const [index, message] of messages.entries()) {
      const decoded = safely(() => decodeIotHubMessage(message, this.deps.settings));
      if (!decoded.ok) await deadLetter(index, decoded);
      else if (decoded.ignored) summary.ignored += 1;
      // An unusable message still leaked its device's private key, when it carried one.
      const events = decoded.ok ? decoded.events : decoded.leak ? [decoded.leak] : [];
      for (const event of events) {
        const key = { hub: event.hub, deviceId: event.deviceId };
        const group = groups.get(deviceKeyString(key)) ?? { key, items: [] };
        group.items.push({ event, messageIndex: index });
        groups.set(deviceKeyString(key), group);
      }
    }

    // The first platform fault, once every device already under way has finished: a failed
    // invocation leaves nothing of its own still writing while the host redelivers the batch.
    let platformFault: unknown;
    const results = await mapWithConcurrency(
      [...groups.values()],
      DEVICE_CONCURRENCY,
      async (group) => {
        if (platformFault !== undefined) return undefined;
        try {
          return await this.applyOrDeadLetter(group.key, group.items, now, summary, deadLetter);
        } catch (error) {
          platformFault ??= error;
          return undefined;
        }
      },
    );
    if (platformFault !== undefined) throw platformFault;
    const touched = results.filter((r): r is DeviceResult => r !== undefined);
    const moved = await this.endCampaignsOfMovedDevices(touched, now);
    summary.auditWritten = await this.outbox.flush(moved);
    await this.askPendingRenewals(touched.filter((r) => r.askNow).map((r) => r.key));
    return summary;
  }

  /**
   * Applies one device's events; when that fails for the events' own sake (a record storage can
   * never hold: RecordRejected, whatever storage answer made it one; or a bug), keeps them as
   * dead letters, to replay once fixed, so the rest of the batch goes on. The platform's faults
   * (storage down, or refusing certfleet itself) are thrown: they fail the invocation, so the
   * host retries and nothing is checkpointed away.
   */
  private async applyOrDeadLetter(
    ...args: Parameters<IngestIotHubEvents['applyToDevice']>
  ): Promise<DeviceResult | undefined> {
    const [key, items, , , deadLetter] = args;
    try {
      return await this.applyToDevice(...args);
    } catch (error) {
      if (error instanceof TransientFault || error instanceof StorageRejected) throw error;
      const reason = `ledger update failed: ${(error as Error).message}`;
      for (const item of items) {
        await deadLetter(item.messageIndex, { code: 'ledger-update-failed', reason, ...key });
      }
      return undefined;
    }
  }

  /**
   * DPS re-registration can assign a device to another hub, which then reports its new
   * certificate: a campaign for the same device id elsewhere, with an older certificate, ends as
   * moved (the domain decides which), so it neither goes on failing nor expires. Returns the
   * touched records with the moved ones, each device once as it now stands, for the outbox.
   */
  private async endCampaignsOfMovedDevices(
    touched: readonly DeviceResult[],
    now: string,
  ): Promise<TouchedRecord[]> {
    const byKey = new Map<string, TouchedRecord>(touched.map((t) => [deviceKeyString(t.key), t]));
    const hubs = this.deps.settings.hubs ?? [];
    const arrivals = touched.filter((t) => t.newCertificate !== undefined && hubs.length > 1);
    const moves = await mapWithConcurrency(arrivals, DEVICE_CONCURRENCY, async (arrival) => {
      const { deviceId } = arrival.key;
      const others = hubs.filter((hub) => hub !== arrival.key.hub);
      const elsewhere = (
        await Promise.all(others.map((hub) => this.deps.ledger.read({ hub, deviceId })))
      ).flatMap((stored) => (stored ? [stored.value] : []));
      const candidates = elsewhere.filter(
        (r) => movedToAnotherHub(r, arrival.key.hub, arrival.newCertificate!, now) !== r,
      );
      const updated = [];
      for (const candidate of candidates) {
        const key = { hub: candidate.hub, deviceId: candidate.deviceId };
        updated.push(
          await updateRecord(
            this.deps.ledger,
            key,
            (record) => {
              const next = record
                ? movedToAnotherHub(record, arrival.key.hub, arrival.newCertificate!, now)
                : record;
              return next === record ? { verdict: 'unchanged' } : { next, verdict: 'moved' };
            },
            alertsOnWrite(this.deps.settings.alerts, now),
          ),
        );
      }
      return updated;
    });
    for (const { touched: record, changed } of moves.flat()) {
      if (!changed) continue;
      const id = deviceKeyString(record.key);
      // Touched by this batch too: its earlier pending entries are in this record as well.
      const earlier = byKey.get(id);
      byKey.set(id, earlier ? { ...record, inheritedAuditIds: earlier.inheritedAuditIds } : record);
    }
    return [...byKey.values()];
  }

  /** Devices that just connected with a renewal pending are asked now, not at the next sweep. */
  private async askPendingRenewals(devices: DeviceKey[]): Promise<void> {
    if (devices.length === 0 || !this.deps.askNow) return;
    try {
      await this.deps.askNow(devices);
    } catch {
      // The renewal stays pending in the ledger; the next sweep asks.
    }
  }

  /**
   * Parses the PEM of every report the ledger may apply: the ledger refuses a PEM it has no
   * inspection for (PemNotInspected). Only redeliveries of events the record holds skip the
   * crypto. Each event is parsed once, however often a write conflict makes us decide again.
   */
  private async inspectPems(items: Item[], record: DeviceRecord | undefined): Promise<void> {
    for (const { event } of items) {
      if (event.kind !== 'twin-report' || !event.certificate.present || event.pem) continue;
      if (event.reportedVersion === undefined) continue;
      // Only a redelivery is decided without its PEM: the batch's earlier events may start a new
      // life, and a late report is placed among later ones, so no version here says "old news".
      if (holdsEvent(record, event, this.deps.settings.maxPemBytes)) continue;
      const pems = pemsToInspect(event.certificate.value, this.deps.settings);
      if (!pems) continue;
      event.pem = await this.deps.inspector.inspect(
        pems.pem,
        new Date(event.occurredAt),
        pems.chain,
      );
    }
  }

  private async applyToDevice(
    key: DeviceKey,
    items: Item[],
    now: string,
    summary: IngestSummary,
    deadLetter: (
      index: number,
      rejection: { code: string; reason: string; hub?: string; deviceId?: string },
    ) => Promise<void>,
  ): Promise<DeviceResult> {
    const ctx: LedgerContext = {
      now,
      policy: this.deps.settings.renewalPolicy,
      cohortPolicies: this.deps.settings.cohortPolicies ?? [],
      maxPemBytes: this.deps.settings.maxPemBytes,
      ...(this.deps.settings.commonNameMismatchSeverity
        ? {
            findingSeverities: {
              'common-name-mismatch': this.deps.settings.commonNameMismatchSeverity,
            },
          }
        : {}),
    };
    // A device IoT Hub has just created is most likely new to the ledger too: its record is
    // created without reading first, and read only when one exists already (a conflict).
    let unread = isCreation(items[0]?.event);
    return retryOnWriteConflict(`ledger record ${deviceKeyString(key)}`, async () => {
      const assumedNew = unread;
      unread = false;
      const stored = assumedNew ? undefined : await this.deps.ledger.read(key);
      await this.inspectPems(items, stored?.value);
      const inheritedAuditIds = new Set(stored?.value.pendingAudit.map((e) => e.id) ?? []);
      let record = stored?.value;
      let changed = false;
      let askNow = false;
      const outcomes: { item: Item; outcome: LedgerOutcome }[] = [];
      for (const item of items) {
        const outcome = applyLedgerEvent(record, item.event, ctx);
        outcomes.push({ item, outcome });
        // A stale event may come with a record too: one that remembers it, to be saved.
        if ('record' in outcome && outcome.record) {
          record = outcome.record;
          changed = true;
        }
        // The device's latest connection change decides: a connect asks, a later disconnect not.
        if (outcome.outcome === 'applied' && item.event.kind === 'connection') {
          askNow = outcome.askNow ?? false;
        }
      }
      // A rejection is decided on the stored record, never on a guess that there is none.
      if (assumedNew && outcomes.some(({ outcome }) => outcome.outcome === 'rejected'))
        throw new WriteConflict(`ledger record ${deviceKeyString(key)} was not read`);
      // Dead letters first: they are idempotent, and the record must not claim a version
      // whose rejected event was never kept.
      for (const { item, outcome } of outcomes) {
        if (outcome.outcome === 'rejected') {
          await deadLetter(item.messageIndex, {
            code: 'invalid-certificate-report',
            reason: outcome.problems.join('; '),
            ...key,
          });
        }
      }
      let etag = stored?.etag;
      // A WriteConflict (someone wrote first) makes the helper read and decide again.
      if (changed && record) {
        record = alertsOnWrite(this.deps.settings.alerts, now)(record);
        etag = await this.deps.ledger.write(record, stored);
      }
      for (const { outcome } of outcomes) {
        if (outcome.outcome !== 'rejected') summary[outcome.outcome] += 1;
      }
      const newCertificate = certificateBrought(stored?.value, record, outcomes);
      return {
        key,
        inheritedAuditIds,
        askNow,
        ...(newCertificate ? { newCertificate } : {}),
        ...(record ? { record } : {}),
        ...(etag ? { etag } : {}),
      };
    });
  }
}

function isCreation(event: LedgerEvent | undefined): boolean {
  return event?.kind === 'lifecycle' && event.change === 'created';
}

/**
 * The certificate a device's events brought it: a new current certificate, or the one a
 * redelivered report had set (the invocation that applied it may have failed before the
 * other hubs were looked at). A report repeating the certificate it holds brings nothing.
 */
function certificateBrought(
  before: DeviceRecord | undefined,
  after: DeviceRecord | undefined,
  outcomes: readonly { item: Item; outcome: LedgerOutcome }[],
): CertificateFacts | undefined {
  const current = after?.lifecycle === 'active' ? after.current : undefined;
  if (!current) return undefined;
  if (!before?.current || !sameCertificate(before.current, current)) return current;
  const redelivered = outcomes.some(
    ({ item, outcome }) =>
      outcome.outcome === 'duplicate' &&
      item.event.kind === 'twin-report' &&
      item.event.reportedVersion === current.reportedVersion,
  );
  return redelivered ? current : undefined;
}
