import { AuditCheckSettings, DEFAULT_AUDIT_CHECK_SETTINGS } from '../domain/audit/FleetAuditChecks';
import { Env } from './settingSchemas';
import { SettingsError } from './SettingsError';

/**
 * The fleet audit checks' settings: `CERTFLEET_AUDIT_EXPIRING_DAYS` (default 30),
 * `CERTFLEET_AUDIT_MAX_VALIDITY_DAYS` (default 398) and `CERTFLEET_DISTRUSTED_ISSUERS` (issuer
 * DNs, one a line or separated by `|`). Throws `SettingsError` naming each wrong one.
 */
export function loadAuditCheckSettings(env: Env = process.env): AuditCheckSettings {
  const problems: string[] = [];
  const days = (name: string, fallback: number) => {
    const text = env[name]?.trim() ?? '';
    if (text === '') return fallback;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > 3650) {
      problems.push(`${name}: must be a whole number of days from 1 to 3650`);
      return fallback;
    }
    return n;
  };
  const settings: AuditCheckSettings = {
    expiringWithinDays: days(
      'CERTFLEET_AUDIT_EXPIRING_DAYS',
      DEFAULT_AUDIT_CHECK_SETTINGS.expiringWithinDays,
    ),
    maxValidityDays: days(
      'CERTFLEET_AUDIT_MAX_VALIDITY_DAYS',
      DEFAULT_AUDIT_CHECK_SETTINGS.maxValidityDays,
    ),
    distrustedIssuers: (env.CERTFLEET_DISTRUSTED_ISSUERS ?? '')
      .split(/[\n|]/)
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}
