// What applying one ledger event decided: save the changed record, dead-letter the event, or
// change nothing (and why).
import { DeviceRecord } from '../DeviceRecord';

export type LedgerOutcome =
  /** The record changed; save `record`. `askNow`: a pending renewal should be requested now. */
  | { outcome: 'applied'; record: DeviceRecord; askNow?: boolean }
  /** The event could not be used: dead-letter it. `record` carries a finding when the device is known. */
  | { outcome: 'rejected'; record?: DeviceRecord; problems: string[] }
  /**
   * Nothing the record shows changes: a redelivery, an older event, or one that does not concern
   * certificates. `record`, when present, is to be saved all the same: it remembers the event
   * (an event that arrives later may place it in another life) and holds any audit entry its
   * place in the device's history makes.
   */
  | { outcome: 'duplicate' | 'stale' | 'irrelevant'; reason: string; record?: DeviceRecord };
