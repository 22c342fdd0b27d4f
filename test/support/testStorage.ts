import { loadSettings } from '../../shared/config/settings';
import { ManualClock } from '../../shared/domain/Clock';
import { Services, buildServices } from '../../shared/services';
import { azuriteConnectionString, freshPrefix } from './rawStorage';

/** Settings for the run's Azurite, under a storage prefix of this test's own. */
export function testEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    FleetStorage: azuriteConnectionString(),
    CERTFLEET_STORAGE_PREFIX: freshPrefix(),
    ...extra,
  };
}

/** Real services (Table ledger, Blob audit and dead letters) on Azurite, with a manual clock. */
export function azuriteServices(options: { now?: string; env?: Record<string, string> } = {}): {
  services: Services;
  clock: ManualClock;
  env: Record<string, string>;
} {
  const env = testEnvironment(options.env);
  const clock = new ManualClock(options.now ?? '2026-11-23T12:00:00.000Z');
  return { services: buildServices(loadSettings(env), clock), clock, env };
}
