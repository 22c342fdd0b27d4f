// The ledger never changes the record it was given: it changes a deep copy.
import { DeviceRecord } from '../DeviceRecord';

export function clone(record: DeviceRecord): DeviceRecord {
  return structuredClone(record);
}
