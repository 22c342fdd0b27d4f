// The ledger's history: every certificate a device held, in the order it held them.
import { certificateIdentity } from '../Certificate';
import { DeviceRecord, HISTORY_LIMIT, HeldCertificate } from '../DeviceRecord';

/**
 * Notes the record's current certificate in its history: a new holding when the certificate is
 * new to this life or comes back after another, the same holding known better when it is the
 * one already noted (a later report of it, its PEM learned).
 */
export function recordHeld(record: DeviceRecord): void {
  const current = record.current;
  if (!current) return;
  const held: HeldCertificate = {
    ...certificateIdentity(current),
    source: current.source,
    firstSeenAt: current.firstSeenAt,
    reportedVersion: current.reportedVersion,
    incarnation: record.incarnation ?? 0,
  };
  const history = [...(record.history ?? [])];
  const last = history[history.length - 1];
  const sameHolding =
    last !== undefined &&
    last.incarnation === held.incarnation &&
    last.firstSeenAt === held.firstSeenAt &&
    last.reportedVersion === held.reportedVersion;
  if (sameHolding) history[history.length - 1] = held;
  else history.push(held);
  record.history = history.slice(-HISTORY_LIMIT);
}
