import { DeviceRecord } from './DeviceRecord';
import { LedgerEvent } from './LedgerEvent';
import { LedgerContext } from './ledger/LedgerContext';
import { LedgerOutcome } from './ledger/LedgerOutcome';
import { applyConnection } from './ledger/applyConnection';
import { applyLifecycle } from './ledger/applyLifecycle';
import { applyTwinReport } from './ledger/applyTwinReport';

// applyLedgerEvent's parameter and result types: its callers import them from here.
export type { LedgerContext, LedgerOutcome };

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
export function applyLedgerEvent(
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
  }
}
