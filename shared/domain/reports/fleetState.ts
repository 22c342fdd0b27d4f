import { DeviceRecord } from '../DeviceRecord';

/**
 * Where a device of the fleet stands, as the reports count and filter it: its renewal status
 * (shared/domain/renewal/RenewalState.ts), or `unknown` while it has reported no certificate.
 * `moved` is not among them: a device that re-registered in another hub is counted there.
 */
export const FLEET_STATES = [
  'healthy',
  'due',
  'requested',
  'retrying',
  'unreachable',
  'failed',
  'expired',
  'unknown',
] as const;

export type FleetState = (typeof FLEET_STATES)[number];

/**
 * Whether the record is one of the fleet's devices: active, and not moved to another hub (whose
 * record carries on). The same devices the fleet audit checks look at, plus those with no
 * certificate yet.
 */
export function inFleet(record: DeviceRecord): boolean {
  return record.lifecycle === 'active' && record.renewal?.status !== 'moved';
}

/** The device's state; only meaningful for a record `inFleet`. */
export function fleetStateOf(record: DeviceRecord): FleetState {
  if (!record.current) return 'unknown';
  const status = record.renewal?.status ?? 'healthy';
  return status === 'moved' ? 'unknown' : status;
}

/** The names the summary's breakdowns give a device without the value. */
export const UNKNOWN_ISSUER = 'unknown';
export const UNKNOWN_KEY_ALGORITHM = 'unknown';
export const DEFAULT_COHORT = 'default';

export function issuerOf(record: DeviceRecord): string {
  return record.current?.issuer?.trim() || UNKNOWN_ISSUER;
}

export function keyAlgorithmOf(record: DeviceRecord): string {
  return record.current?.keyAlgorithm?.trim() || UNKNOWN_KEY_ALGORITHM;
}

export function cohortOf(record: DeviceRecord): string {
  return record.cohort?.trim() || DEFAULT_COHORT;
}
