import { Env } from './settingSchemas';
import { SettingsError } from './SettingsError';

/**
 * How certfleet reconciles the ledger with IoT Hub's twins (docs/renewal.md, "Backfill and
 * reconcile"). Read from `CERTFLEET_TWIN_QUERIES_PER_MINUTE`: twin query pages a minute, per
 * hub. IoT Hub S1 allows 20 queries a minute per unit (AZURE-FACTS.md), shared with every other
 * caller of the hub; certfleet takes half by default.
 */
export interface ReconcileConfig {
  twinQueriesPerMinute: number;
}

export const DEFAULT_TWIN_QUERIES_PER_MINUTE = 10;

/** Throws `SettingsError` naming the setting when it is not a whole number from 1 to 1000. */
export function loadReconcileSettings(env: Env = process.env): ReconcileConfig {
  const text = env.CERTFLEET_TWIN_QUERIES_PER_MINUTE?.trim() ?? '';
  if (text === '') return { twinQueriesPerMinute: DEFAULT_TWIN_QUERIES_PER_MINUTE };
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 1000) {
    throw new SettingsError([
      'CERTFLEET_TWIN_QUERIES_PER_MINUTE: must be a whole number from 1 to 1000 (query pages a minute per hub; IoT Hub S1 allows 20 per unit)',
    ]);
  }
  return { twinQueriesPerMinute: value };
}
