import { AlertSettings, DEFAULT_ALERT_SETTINGS } from '../domain/alerts/AlertSettings';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../domain/Clock';
import { Env } from './settingSchemas';
import { SettingsError } from './SettingsError';

/** How an Event Grid topic is reached: its access key, or Entra ID (no secret). */
export type EventGridAuth =
  | { kind: 'key'; key: string }
  | { kind: 'identity'; credential: 'managedidentity' | 'default'; clientId?: string };

/** The alert sinks configured (each optional, several at once) and the rules' settings. */
export interface AlertConfig {
  rules: AlertSettings;
  webhook?: { url: string; secret?: string };
  teams?: { url: string };
  slack?: { url: string };
  eventGrid?: { endpoint: string; auth: EventGridAuth };
}

/**
 * Reads the alert settings (docs/alerts.md, "Settings"). Throws `SettingsError` naming every
 * setting that is wrong; a message never repeats a value, since URLs of Teams and Slack
 * webhooks and the keys are secrets.
 */
export function loadAlertSettings(env: Env = process.env): AlertConfig {
  const problems: string[] = [];
  const text = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const number = (name: string, min: number, max: number, unit: string) => {
    const value = text(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || n < min || n > max) {
      problems.push(`${name}: must be ${unit} from ${min} to ${max}`);
      return undefined;
    }
    return n;
  };
  const url = (name: string, loopbackHttp: boolean) => {
    const value = text(name);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      problems.push(`${name}: must be an absolute https URL`);
      return undefined;
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
    if (
      parsed.protocol !== 'https:' &&
      !(loopbackHttp && loopback && parsed.protocol === 'http:')
    ) {
      problems.push(
        `${name}: must be an https URL${loopbackHttp ? ' (http only to a loopback address)' : ''}`,
      );
      return undefined;
    }
    if (parsed.username || parsed.password) {
      problems.push(`${name}: must not carry a user name or password`);
      return undefined;
    }
    return value;
  };

  const rules: AlertSettings = { ...DEFAULT_ALERT_SETTINGS };
  const warningDays = number('CERTFLEET_ALERT_WARNING_DAYS', 1, 365, 'days');
  const criticalDays = number('CERTFLEET_ALERT_CRITICAL_DAYS', 0.5, 90, 'days');
  const overdueHours = number('CERTFLEET_ALERT_OVERDUE_HOURS', 1, 24 * 30, 'hours');
  const silentDays = number('CERTFLEET_ALERT_SILENT_DAYS', 1, 90, 'days');
  const threshold = number('CERTFLEET_ALERT_ROLLUP_THRESHOLD', 2, 1_000_000, 'devices');
  const holdMinutes = number('CERTFLEET_ALERT_HOLD_MINUTES', 0, 120, 'minutes');
  if (warningDays !== undefined) rules.warningWindowMs = warningDays * DAY_MS;
  if (criticalDays !== undefined) rules.criticalWindowMs = criticalDays * DAY_MS;
  if (overdueHours !== undefined) rules.overdueAfterMs = overdueHours * HOUR_MS;
  if (silentDays !== undefined) rules.silentAfterMs = silentDays * DAY_MS;
  if (threshold !== undefined) rules.rollUpThreshold = Math.round(threshold);
  if (holdMinutes !== undefined) {
    rules.rollUpHoldMs = holdMinutes * MINUTE_MS;
    rules.rollUpHoldCriticalMs = Math.min(rules.rollUpHoldCriticalMs, rules.rollUpHoldMs);
  }
  if (rules.criticalWindowMs >= rules.warningWindowMs) {
    problems.push(
      'CERTFLEET_ALERT_CRITICAL_DAYS: must be shorter than the warning window (CERTFLEET_ALERT_WARNING_DAYS, default 14)',
    );
  }

  const config: AlertConfig = { rules };
  const webhookUrl = url('CERTFLEET_ALERT_WEBHOOK_URL', true);
  const secret = text('CERTFLEET_ALERT_WEBHOOK_SECRET');
  if (secret !== undefined && secret.length < 16)
    problems.push('CERTFLEET_ALERT_WEBHOOK_SECRET: must be at least 16 characters');
  if (secret !== undefined && text('CERTFLEET_ALERT_WEBHOOK_URL') === undefined)
    problems.push('CERTFLEET_ALERT_WEBHOOK_SECRET: set without CERTFLEET_ALERT_WEBHOOK_URL');
  if (webhookUrl) config.webhook = { url: webhookUrl, ...(secret ? { secret } : {}) };
  const teams = url('CERTFLEET_ALERT_TEAMS_URL', false);
  if (teams) config.teams = { url: teams };
  const slack = url('CERTFLEET_ALERT_SLACK_URL', false);
  if (slack) config.slack = { url: slack };

  const endpoint = url('CERTFLEET_ALERT_EVENTGRID_ENDPOINT', false);
  const key = text('CERTFLEET_ALERT_EVENTGRID_KEY');
  const credential = text('CERTFLEET_ALERT_EVENTGRID_CREDENTIAL')?.toLowerCase();
  const clientId = text('CERTFLEET_ALERT_EVENTGRID_CLIENT_ID');
  if (credential !== undefined && credential !== 'managedidentity' && credential !== 'default')
    problems.push('CERTFLEET_ALERT_EVENTGRID_CREDENTIAL: must be managedidentity or default');
  if (key !== undefined && credential !== undefined)
    problems.push(
      'CERTFLEET_ALERT_EVENTGRID_KEY: set together with CERTFLEET_ALERT_EVENTGRID_CREDENTIAL; use one',
    );
  if (
    (key !== undefined || credential !== undefined) &&
    text('CERTFLEET_ALERT_EVENTGRID_ENDPOINT') === undefined
  )
    problems.push(
      'CERTFLEET_ALERT_EVENTGRID_ENDPOINT: required with an Event Grid key or credential',
    );
  if (endpoint) {
    if (key !== undefined) config.eventGrid = { endpoint, auth: { kind: 'key', key } };
    else
      config.eventGrid = {
        endpoint,
        auth: {
          kind: 'identity',
          credential: credential === 'default' ? 'default' : 'managedidentity',
          ...(clientId ? { clientId } : {}),
        },
      };
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return config;
}
