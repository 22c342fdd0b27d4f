import { DeviceRecord } from '../../domain/DeviceRecord';
import { RenewalTiming } from '../../domain/renewal/RenewalTiming';
import { nextActionAt } from '../../domain/renewal/nextActionAt';
import {
  certificateExpired,
  deadlinePassed,
  renewalOf,
} from '../../domain/renewal/renewalTransitions';
import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { TouchedRecord } from '../AuditOutbox';
import { alertsOnWrite } from '../alerts/alertsOnWrite';
import { ActionEntry, CertificateLedger } from '../ports';
import { RecordDecision, updateRecord } from '../updateRecord';

/**
 * What the bookkeeping did to one record: `deadline-passed`, a requested renewal's deadline
 * passed with no new certificate (a no-show); `expired`, its certificate expired;
 * `index-repaired`, the index entry no longer matched its record (left by a write that crashed
 * between the index and the record) and was removed; `alerts-checked`, its alerts were due for a
 * look (alertCheckAt) and were evaluated; `none`, nothing was due.
 */
export type BookkeepingChange =
  'deadline-passed' | 'expired' | 'index-repaired' | 'alerts-checked' | 'none';

export interface Bookkeeping {
  /** The records changed, in order, for the audit outbox. */
  touched: TouchedRecord[];
  /** The entries whose renewal deadline passed (their hubs count the no-shows). */
  deadlinesPassed: ActionEntry[];
  expired: number;
}

/**
 * The sweep's bookkeeping: the changes of state that need no request. Each due entry that is not
 * waiting for a request is read and, when its certificate expired or its renewal's deadline
 * passed, moved on; one at a time, in the order of the index.
 */
export async function applyDeadlinesAndExpiries(
  ledger: CertificateLedger,
  entries: readonly ActionEntry[],
  now: string,
  timing: RenewalTiming,
  alerts?: AlertSettings,
): Promise<Bookkeeping> {
  const bookkeeping: Bookkeeping = { touched: [], deadlinesPassed: [], expired: 0 };
  for (const entry of entries) {
    const { verdict, touched, changed } = await updateRecord(
      ledger,
      entry,
      (record) => deadlineOrExpiry(record, entry, now, timing, alerts !== undefined),
      alertsOnWrite(alerts, now),
    );
    if (changed) bookkeeping.touched.push(touched);
    if (verdict === 'index-repaired') await ledger.forgetAction(entry);
    if (verdict === 'deadline-passed') bookkeeping.deadlinesPassed.push(entry);
    if (verdict === 'expired') bookkeeping.expired += 1;
  }
  return bookkeeping;
}

/**
 * What `applyDeadlinesAndExpiries` would find, told from the index entries alone (a dry run
 * reads no record).
 */
export function countDeadlinesAndExpiries(
  entries: readonly ActionEntry[],
  now: string,
): { deadlinesPassed: number; expired: number } {
  return {
    deadlinesPassed: entries.filter((e) => e.status === 'requested' && e.validUntil > now).length,
    expired: entries.filter((e) => e.validUntil <= now).length,
  };
}

function deadlineOrExpiry(
  record: DeviceRecord | undefined,
  entry: ActionEntry,
  now: string,
  timing: RenewalTiming,
  alertsOn: boolean,
): RecordDecision<BookkeepingChange> {
  if (!record) return { verdict: 'none' };
  if (record.current && record.current.validUntil <= now) {
    const next = certificateExpired(record, now);
    return next !== record ? { next, verdict: 'expired' } : { verdict: 'none' };
  }
  const renewal = renewalOf(record);
  if (renewal.status === 'requested' && renewal.deadline && renewal.deadline <= now) {
    return { next: deadlinePassed(record, now, timing), verdict: 'deadline-passed' };
  }
  // The record's own entry is in the index already (a write puts it before the record): an
  // entry that differs is one a crash left behind. Rewriting the record would not remove it.
  if (nextActionAt(record) !== entry.actionAt) return { verdict: 'index-repaired' };
  // Written as it is, the record has its alerts evaluated (alertsOnWrite) and its next check set.
  // Never evaluated (written before alerts were): evaluated once, with a check from then on.
  if (alertsOn && (record.alertCheckAt ?? entry.actionAt) <= now)
    return { next: record, verdict: 'alerts-checked' };
  return { verdict: 'none' };
}
