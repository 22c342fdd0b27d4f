// How much of a device's history the ledger keeps to place late events, and what it lets go.
import { DeviceKey } from '../DeviceKey';
import { AppliedEvents, RememberedEvent } from '../DeviceRecord';
import { isInferredCreation } from './eventOrder';
import { LedgerContext } from './LedgerContext';
import { replayEvents, settled } from './replayEvents';

/**
 * Events kept per device. An event that arrives after this many later ones is judged against the
 * record as it stood before them (`base`), as a late event always was: it is stale unless it is
 * news by its version or sequence number. Reports with a PEM inspection take about 1 KB, others
 * a few hundred bytes, so this stays far below what one table entity holds.
 */
export const REMEMBERED_EVENTS = 64;

/**
 * And at most this much of them (as JSON), however large a device makes its reports: the record
 * must fit in one table entity (docs/storage.md, "The ledger entity").
 */
export const REMEMBERED_CHARACTERS = 192 * 1024;

/**
 * The memory after `events` (in the order they happened, ledger/eventOrder): connection changes
 * that a later one of the same life supersedes are dropped (the last change of a life is its
 * state, and the last connect the one that brings a deleted device back), and the oldest events
 * beyond REMEMBERED_EVENTS or REMEMBERED_CHARACTERS are folded into `base`, up to the start of a
 * life where one is near, so the events kept still know which life they belong to. Inferred
 * creations are not remembered: the order infers them again from the events.
 */
export function rememberEvents(
  base: AppliedEvents['base'],
  events: readonly RememberedEvent[],
  key: DeviceKey,
  ctx: LedgerContext,
): AppliedEvents {
  const ordered = withoutSupersededConnections(events);
  const real = ordered.filter((e) => !isInferredCreation(e));
  const first = firstKept(real);
  if (first === 0) return base ? { base, events: real } : { events: real };
  const kept = real.slice(first);
  // The events before the first kept one, inferred creations included, make the new base.
  const oldest = ordered.slice(0, ordered.indexOf(kept[0]!));
  const replayed = replayEvents(base, oldest, key, ctx).record;
  const folded = replayed ? settled(replayed) : base;
  return folded ? { base: folded, events: kept } : { events: kept };
}

/** The index of the oldest event kept: within both limits, at a life's start when one is. */
function firstKept(events: readonly RememberedEvent[]): number {
  let first = events.length;
  let characters = 0;
  while (first > 0 && events.length - first < REMEMBERED_EVENTS) {
    characters += JSON.stringify(events[first - 1]).length;
    if (characters > REMEMBERED_CHARACTERS && first < events.length) break;
    first -= 1;
  }
  if (first === 0) return 0;
  const lifeStart = events.findIndex((e, i) => i >= first && e.kind === 'lifecycle');
  return lifeStart > 0 ? lifeStart : first;
}

function withoutSupersededConnections(events: readonly RememberedEvent[]): RememberedEvent[] {
  const keep = new Set<number>();
  let lastChange: number | undefined;
  let lastConnect: number | undefined;
  const closeLife = () => {
    if (lastChange !== undefined) keep.add(lastChange);
    if (lastConnect !== undefined) keep.add(lastConnect);
    lastChange = undefined;
    lastConnect = undefined;
  };
  events.forEach((event, index) => {
    if (event.kind === 'lifecycle') {
      closeLife();
      keep.add(index);
    } else if (event.kind === 'connection') {
      lastChange = index;
      if (event.connected) lastConnect = index;
    } else keep.add(index);
  });
  closeLife();
  return events.filter((_, index) => keep.has(index));
}
