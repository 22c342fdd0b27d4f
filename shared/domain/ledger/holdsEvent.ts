// Whether the ledger already applied an event: a redelivery, which it decides without parsing
// the event's PEM again.
import { DeviceRecord } from '../DeviceRecord';
import { LedgerEvent } from '../LedgerEvent';
import { rememberedEvent, sameEvent } from './rememberedEvent';

export function holdsEvent(
  record: DeviceRecord | undefined,
  event: LedgerEvent,
  maxPemBytes: number,
): boolean {
  const events = record?.applied?.events;
  if (!events || events.length === 0) return false;
  const remembered = rememberedEvent(event, maxPemBytes);
  return events.some((e) => sameEvent(e, remembered));
}
