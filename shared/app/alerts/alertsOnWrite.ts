import { AlertSettings } from '../../domain/alerts/AlertSettings';
import { evaluateAlerts } from '../../domain/alerts/evaluateAlerts';
import { DeviceRecord } from '../../domain/DeviceRecord';

/** What is done to a record just before it is written. */
export type BeforeWrite = (record: DeviceRecord) => DeviceRecord;

/**
 * Alerts are evaluated with every write of a record, in the write that changes it: each use
 * case that writes records passes this to updateRecord. Undefined settings (tests of other
 * concerns, tools that write no alerts) leave records as decided.
 */
export function alertsOnWrite(settings: AlertSettings | undefined, now: string): BeforeWrite {
  return settings ? (record) => evaluateAlerts(record, now, settings) : (record) => record;
}
