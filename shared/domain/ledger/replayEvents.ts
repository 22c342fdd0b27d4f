// The record that a run of events makes, applied one by one in the order they happened, from the
// record as it stood before them.
import { DeviceKey } from '../DeviceKey';
import { DeviceRecord, RememberedEvent } from '../DeviceRecord';
import { applyInOrder } from './applyInOrder';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';
import { ledgerEventOf } from './rememberedEvent';

export interface Replay {
  /** The record the events make; undefined when none of them made one. */
  record: DeviceRecord | undefined;
  /** What applying each event decided, in the events' order. */
  outcomes: LedgerOutcome[];
}

/**
 * Applies `events` (in the order they happened) to `base`. Only what events decide is replayed:
 * the record starts with an empty audit outbox and no renewal campaign (certfleet's own work,
 * which the caller keeps), so the audit entries it ends with are the ones these events make.
 */
export function replayEvents(
  base: DeviceRecord | undefined,
  events: readonly RememberedEvent[],
  key: DeviceKey,
  ctx: LedgerContext,
): Replay {
  let record = base ? settled(base) : undefined;
  const outcomes: LedgerOutcome[] = [];
  for (const event of events) {
    const outcome = applyInOrder(record, ledgerEventOf(event, key), ctx);
    outcomes.push(outcome);
    if ((outcome.outcome === 'applied' || outcome.outcome === 'rejected') && outcome.record)
      record = outcome.record;
  }
  return { record, outcomes };
}

/** The record as events leave it: no audit entries pending, no campaign, no event memory. */
export function settled(record: DeviceRecord): DeviceRecord {
  const copy = structuredClone(record);
  delete copy.renewal;
  delete copy.applied;
  copy.pendingAudit = [];
  return copy;
}
