// One event applied to the record as it stands, as if every event before it had arrived first:
// the ledger's state change proper. applyLedgerEvent calls it for each event in the order the
// events happened.
import { DeviceRecord } from '../DeviceRecord';
import { LedgerEvent } from '../LedgerEvent';
import { applyConnection } from './applyConnection';
import { applyLifecycle } from './applyLifecycle';
import { applyPrivateKeyLeak } from './applyPrivateKeyLeak';
import { applyTwinReport } from './applyTwinReport';
import { LedgerContext } from './LedgerContext';
import { LedgerOutcome } from './LedgerOutcome';
import { recordHeld } from './recordHeld';

export function applyInOrder(
  existing: DeviceRecord | undefined,
  event: LedgerEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  const outcome = decide(existing, event, ctx);
  if ((outcome.outcome === 'applied' || outcome.outcome === 'rejected') && outcome.record)
    recordHeld(outcome.record);
  return outcome;
}

function decide(
  existing: DeviceRecord | undefined,
  event: LedgerEvent,
  ctx: LedgerContext,
): LedgerOutcome {
  switch (event.kind) {
    case 'twin-report':
      return applyTwinReport(existing, event, ctx);
    case 'lifecycle':
      return applyLifecycle(existing, event, ctx);
    case 'connection':
      return applyConnection(existing, event, ctx);
    case 'private-key-leak':
      return applyPrivateKeyLeak(existing, event, ctx);
  }
}
