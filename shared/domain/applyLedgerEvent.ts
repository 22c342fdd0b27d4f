import { DeviceKey } from './DeviceKey';
import { AppliedEvents, DeviceRecord, RememberedEvent } from './DeviceRecord';
import { LedgerEvent } from './LedgerEvent';
import { applyInOrder } from './ledger/applyInOrder';
import { eventOrder } from './ledger/eventOrder';
import { LedgerContext } from './ledger/LedgerContext';
import { LedgerOutcome } from './ledger/LedgerOutcome';
import { PemNotInspected } from './ledger/PemNotInspected';
import { placeLateEvent } from './ledger/placeLateEvent';
import { rememberEvents } from './ledger/rememberEvents';
import { identityOf, ledgerEventOf, rememberedEvent, sameEvent } from './ledger/rememberedEvent';
import { settled } from './ledger/replayEvents';

// applyLedgerEvent's parameter and result types, and what its callers ask it: import them here.
export type { LedgerContext, LedgerOutcome };
export { holdsEvent } from './ledger/holdsEvent';
export { PemNotInspected };

/**
 * The ledger's one state change: observes a decoded IoT Hub event and the device's record, and
 * decides the record's next state and the audit entries that go with it. Pure: the caller reads
 * and writes storage, and passes the time in.
 *
 * Events arrive at least once and, across partitions and replays, in any order (docs/storage.md,
 * "Delivery order"); the record ends the same whatever the order. It remembers the device's
 * recent events in the order they happened (`applied`): an event that happened after all of
 * them is applied to the record as it stands (ledger/applyInOrder: reported changes ordered by
 * the reported `$version`, connection changes by sequence number, lifecycle by the operation's
 * time); one that happened earlier is placed among them and they are applied again from the
 * record as it stood before (ledger/placeLateEvent); a redelivery changes nothing.
 */
export function applyLedgerEvent(
  existing: DeviceRecord | undefined,
  event: LedgerEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  if (!mayChangeTheLedger(event)) return applyInOrder(existing, event, ctx);
  const key: DeviceKey = { hub: event.hub, deviceId: event.deviceId };
  const remembered = rememberedEvent(event, ctx.maxPemBytes);
  const memory = memoryOf(existing);
  if (memory.events.some((e) => sameEvent(e, remembered)))
    return alreadyApplied(existing, ledgerEventOf(remembered, key), ctx);
  const events = eventOrder([...memory.events, remembered]);
  const inPlace = events[events.length - 1] === remembered && endsIn(events, memory.events);
  if (inPlace) return inOrder(existing, remembered, memory, events, key, ctx);
  // Placed elsewhere, or after a life its report shows began (an inferred creation before it).
  if (outdatedWholeTwin(remembered, events) || supersededConnection(remembered, events))
    return alreadyApplied(existing, ledgerEventOf(remembered, key), ctx);
  return placeLateEvent(existing, remembered, events, memory, key, ctx);
}

/** Whether `events` is the order of `before` with one event more, at its end. */
function endsIn(events: readonly RememberedEvent[], before: readonly RememberedEvent[]) {
  const was = eventOrder(before);
  return (
    events.length === was.length + 1 &&
    was.every((event, i) => identityOf(events[i]!) === identityOf(event))
  );
}

/** A twin report that touches neither the certificate, nor a key, nor the cohort changes nothing. */
function mayChangeTheLedger(event: LedgerEvent): boolean {
  if (event.kind !== 'twin-report') return true;
  return event.certificate.present || event.privateKeyReported || event.cohort !== undefined;
}

/** The record's event memory; a record from before it was kept starts one from where it stands. */
function memoryOf(existing: DeviceRecord | undefined): AppliedEvents {
  if (!existing) return { events: [] };
  return existing.applied ?? { base: settled(existing), events: [] };
}

/** The event happened after everything the record remembers: apply it to the record. */
function inOrder(
  existing: DeviceRecord | undefined,
  remembered: RememberedEvent,
  memory: AppliedEvents,
  events: readonly RememberedEvent[],
  key: DeviceKey,
  ctx: LedgerContext,
): LedgerOutcome {
  const outcome = applyInOrder(withoutMemory(existing), ledgerEventOf(remembered, key), ctx);
  // In their order, inferred creations included, so what is folded away keeps its lives.
  const applied = rememberEvents(memory.base, events, key, ctx);
  if ((outcome.outcome === 'applied' || outcome.outcome === 'rejected') && outcome.record) {
    outcome.record.applied = applied;
    return outcome;
  }
  // Nothing changes now; but the event is remembered: one that arrives later may show it
  // belongs to another life (a deleted device's disconnect, once its re-creation is known).
  if (!existing || outcome.outcome === 'applied' || outcome.outcome === 'rejected') return outcome;
  return { ...outcome, record: { ...structuredClone(existing), applied, updatedAt: ctx.now } };
}

/**
 * A redelivery, a whole twin older than what the record holds, or a connection change a later
 * one supersedes: nothing changes. The outcome says why, as applying the event to the record as
 * it stands would.
 */
function alreadyApplied(
  existing: DeviceRecord | undefined,
  event: LedgerEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  const already: LedgerOutcome = { outcome: 'duplicate', reason: 'this event is already applied' };
  try {
    const outcome = applyInOrder(withoutMemory(existing), event, ctx);
    return outcome.outcome === 'applied' || outcome.outcome === 'rejected' ? already : outcome;
  } catch (error) {
    if (error instanceof PemNotInspected) return already;
    throw error;
  }
}

/**
 * A whole twin (replaceTwin, or a twin read by reconcile) is a snapshot, not a change: the
 * reported changes that led to it are events of their own. One older than a report of the same
 * life that the record holds, or from a life that has ended, tells nothing they do not.
 */
function outdatedWholeTwin(event: RememberedEvent, events: readonly RememberedEvent[]): boolean {
  if (event.kind !== 'twin-report' || !event.complete) return false;
  const version = event.reportedVersion ?? -1;
  return events
    .slice(events.indexOf(event) + 1)
    .some(
      (e) =>
        e.kind === 'lifecycle' ||
        (e.kind === 'twin-report' && (e.reportedVersion ?? -1) >= version),
    );
}

/**
 * A connection change that a later one of the same life supersedes (by sequence number) changes
 * nothing: a life's state is its last change, and only its last connect can bring a deleted
 * device back (ledger/rememberEvents keeps no more of them).
 */
function supersededConnection(event: RememberedEvent, events: readonly RememberedEvent[]) {
  if (event.kind !== 'connection') return false;
  let laterChange = false;
  let laterConnect = false;
  for (const e of events.slice(events.indexOf(event) + 1)) {
    if (e.kind === 'lifecycle') break;
    if (e.kind !== 'connection') continue;
    laterChange = true;
    if (e.connected) laterConnect = true;
  }
  return laterChange && (!event.connected || laterConnect);
}

function withoutMemory(record: DeviceRecord | undefined): DeviceRecord | undefined {
  if (!record?.applied) return record;
  const { applied: _applied, ...rest } = record;
  return rest;
}
