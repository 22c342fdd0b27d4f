// An event that arrives after events that happened later: the ledger applies it where it
// happened, as if it had arrived in order, and keeps what it had already written down.
import { AuditEntry } from '../AuditEntry';
import { certificateIdentity, sameCertificate } from '../Certificate';
import { DeviceKey } from '../DeviceKey';
import { AppliedEvents, DeviceRecord, RememberedEvent } from '../DeviceRecord';
import { inCampaign, newCertificateArrived } from '../renewal/renewalTransitions';
import { DEFAULT_RENEWAL_TIMING } from '../renewal/RenewalTiming';
import { RENEWAL_BLOCKERS } from './acceptCertificate';
import { eventOrder } from './eventOrder';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';
import { rememberEvents } from './rememberEvents';
import { canonicalJson } from './rememberedEvent';
import { replayEvents } from './replayEvents';

/**
 * Places `late` among the remembered events (`events`: all of them in the order they happened,
 * ledger/eventOrder) and applies them again from the record as it stood before them
 * (`memory.base`). What the record shows is then what in-order delivery shows. Audit entries are
 * append-only: those the earlier order made stay written (one still pending that the new order
 * does not make is withdrawn), and those the new order makes are added; audit ids name what
 * happened, not the event that told it, so an entry made either way is written once.
 */
export function placeLateEvent(
  existing: DeviceRecord | undefined,
  late: RememberedEvent,
  events: readonly RememberedEvent[],
  memory: AppliedEvents,
  key: DeviceKey,
  ctx: LedgerContext,
): LedgerOutcome {
  const before = replayEvents(memory.base, eventOrder(memory.events), key, ctx);
  const after = replayEvents(memory.base, events, key, ctx);
  const own = after.outcomes[events.indexOf(late)];
  const next = after.record;
  if (!next || !own) return { outcome: 'stale', reason: 'older than what the ledger holds' };

  const made = before.record?.pendingAudit ?? [];
  const remade = next.pendingAudit;
  const record = structuredClone(next);
  record.pendingAudit = auditAfter(existing?.pendingAudit ?? [], made, remade);
  keepCampaign(existing, record, made, ctx);
  // A planned rotation's slot is not an event's doing: replaying the events keeps it.
  if (existing?.rotation && !record.rotation) record.rotation = existing.rotation;
  record.applied = rememberEvents(memory.base, events, key, ctx);
  record.updatedAt = ctx.now;

  if (own.outcome === 'rejected') return { outcome: 'rejected', record, problems: own.problems };
  if (!before.record || shown(before.record) !== shown(next)) return { outcome: 'applied', record };
  // What the record shows stands; the event is remembered, with any audit entry it makes.
  const reason = 'reason' in own ? own.reason : 'it changes nothing the record shows';
  return { outcome: 'stale', reason: `arrived after later events; ${reason}`, record };
}

/**
 * The outbox after the late event: what was pending, less the entries the old order made and the
 * new one does not (not yet written, so never written), plus the entries only the new order makes.
 */
function auditAfter(
  pending: readonly AuditEntry[],
  made: readonly AuditEntry[],
  remade: readonly AuditEntry[],
): AuditEntry[] {
  const madeIds = new Set(made.map((e) => e.id));
  const remadeIds = new Set(remade.map((e) => e.id));
  const kept = pending.filter((e) => !(madeIds.has(e.id) && !remadeIds.has(e.id)));
  const keptIds = new Set(kept.map((e) => e.id));
  return [...kept, ...remade.filter((e) => !madeIds.has(e.id) && !keptIds.has(e.id))];
}

/**
 * certfleet's own renewal campaign is not an event: it carries over while the device lives the
 * same life, and a certificate that the late event makes current counts as the new one it waits
 * for, as it would have in order.
 */
function keepCampaign(
  existing: DeviceRecord | undefined,
  record: DeviceRecord,
  made: readonly AuditEntry[],
  ctx: LedgerContext,
): void {
  const renewal = existing?.renewal;
  if (!existing || !renewal) return;
  if (record.lifecycle !== 'active' || (record.incarnation ?? 0) !== (existing.incarnation ?? 0))
    return;
  record.renewal = structuredClone(renewal);
  const was = existing.current;
  const now = record.current;
  if (
    !inCampaign(record) ||
    !now ||
    (was && sameCertificate(certificateIdentity(was), certificateIdentity(now)))
  )
    return;
  const madeIds = new Set(made.map((e) => e.id));
  const entry = record.pendingAudit.find(
    (e) =>
      !madeIds.has(e.id) &&
      e.new !== undefined &&
      sameCertificate(e.new, certificateIdentity(now)) &&
      e.type.startsWith('certificate.'),
  );
  if (!entry) return;
  const problems = (entry.findings ?? []).filter((code) => RENEWAL_BLOCKERS.includes(code));
  newCertificateArrived(
    record,
    entry,
    entry.occurredAt,
    ctx.now,
    [...problems],
    ctx.timing ?? DEFAULT_RENEWAL_TIMING,
  );
}

/** What the record shows, without what changes on every write. */
function shown(record: DeviceRecord): string {
  const {
    updatedAt: _updatedAt,
    applied: _applied,
    pendingAudit: _pendingAudit,
    renewal: _renewal,
    ...rest
  } = record;
  return canonicalJson(rest);
}
