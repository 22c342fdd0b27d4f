import { DAY_MS } from '../Clock';
import { ForecastDay } from '../renewal/forecast';
import { AlertCondition } from './AlertCondition';
import { AlertSettings } from './AlertSettings';

/** A CA certfleet knows of (the trust bundle's), by subject and expiry. */
export interface KnownCa {
  subject: string;
  validUntil: string;
}

/**
 * Fleet risk, looked at once a day: a trust-bundle CA near its end (`ca-expiring`: a warning 90
 * days ahead, critical 30 days ahead or once expired: leaves it signed stop verifying, and
 * devices that trust only it cannot move to its successor), and days ahead when more renewals
 * fall due than the paced rate can ask (`renewal-capacity`: certfleet then starts them early
 * where it can, but a day over capacity within three days is critical).
 */
export function fleetRiskConditions(input: {
  cas: readonly KnownCa[];
  forecast: readonly ForecastDay[];
  now: string;
  settings: AlertSettings;
}): AlertCondition[] {
  const { now, settings } = input;
  const at = Date.parse(now);
  const conditions: AlertCondition[] = [];
  for (const ca of input.cas) {
    const left = Date.parse(ca.validUntil) - at;
    if (left > settings.caWarningWindowMs) continue;
    const expired = left <= 0;
    conditions.push({
      rule: 'ca-expiring',
      severity: left <= settings.caCriticalWindowMs ? 'critical' : 'warning',
      scope: 'fleet',
      subject: `ca ${ca.subject}`,
      summary: expired
        ? `Trust-bundle CA ${ca.subject} expired at ${ca.validUntil}: certificates it signed no longer verify.`
        : `Trust-bundle CA ${ca.subject} expires at ${ca.validUntil}, in ${Math.floor(left / DAY_MS)} days: put its successor in DPS and the trust bundle, and renew the leaves it signed.`,
      validUntil: ca.validUntil,
      cause: `ca=${ca.subject}`,
    });
  }
  const over = input.forecast.filter((d) => d.overCapacity);
  if (over.length > 0) {
    const first = over[0]!;
    const soon = Date.parse(`${first.date}T00:00:00.000Z`) - at < 3 * DAY_MS;
    conditions.push({
      rule: 'renewal-capacity',
      severity: soon ? 'critical' : 'warning',
      scope: 'fleet',
      subject: 'renewal capacity',
      summary: `${over.length} of the next ${input.forecast.length} days have more renewals due than the rate can ask (first ${first.date}: ${first.due} due, ${first.capacity} a day): raise CERTFLEET_RENEWALS_PER_MINUTE within the hub's quota, or spread the cohort.`,
      cause: 'capacity',
      count: over.reduce((sum, d) => sum + d.due, 0),
    });
  }
  return conditions;
}
