import { loadAlertSettings } from '../../shared/config/alertSettings';
import { SettingsError } from '../../shared/config/SettingsError';
import { DEFAULT_ALERT_SETTINGS } from '../../shared/domain/alerts/AlertSettings';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../shared/domain/Clock';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadAlertSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

const TEAMS = 'https://contoso.webhook.office.com/workflows/abc/triggers/manual?sig=s3cr3t-sig';
const SLACK = 'https://hooks.slack.com/services/T000/B000/s3cr3tpath';

describe('alert settings', () => {
  it('has the documented defaults and no sink when nothing is set', () => {
    expect(loadAlertSettings({})).toEqual({ rules: DEFAULT_ALERT_SETTINGS });
  });

  it('reads every sink, several at once', () => {
    const config = loadAlertSettings({
      CERTFLEET_ALERT_WEBHOOK_URL: 'https://ops.contoso.example/certfleet',
      CERTFLEET_ALERT_WEBHOOK_SECRET: 'sixteen-chars-or-more',
      CERTFLEET_ALERT_TEAMS_URL: TEAMS,
      CERTFLEET_ALERT_SLACK_URL: SLACK,
      CERTFLEET_ALERT_EVENTGRID_ENDPOINT:
        'https://alerts.westeurope-1.eventgrid.azure.net/api/events',
    });

    expect(config.webhook).toEqual({
      url: 'https://ops.contoso.example/certfleet',
      secret: 'sixteen-chars-or-more',
    });
    expect(config.teams).toEqual({ url: TEAMS });
    expect(config.slack).toEqual({ url: SLACK });
    expect(config.eventGrid).toEqual({
      endpoint: 'https://alerts.westeurope-1.eventgrid.azure.net/api/events',
      auth: { kind: 'identity', credential: 'managedidentity' },
    });
  });

  it('takes an Event Grid key, or a credential with a client id, but not both', () => {
    const endpoint = 'https://alerts.westeurope-1.eventgrid.azure.net/api/events';
    expect(
      loadAlertSettings({
        CERTFLEET_ALERT_EVENTGRID_ENDPOINT: endpoint,
        CERTFLEET_ALERT_EVENTGRID_KEY: 'k3y',
      }).eventGrid,
    ).toEqual({ endpoint, auth: { kind: 'key', key: 'k3y' } });
    expect(
      loadAlertSettings({
        CERTFLEET_ALERT_EVENTGRID_ENDPOINT: endpoint,
        CERTFLEET_ALERT_EVENTGRID_CREDENTIAL: 'default',
        CERTFLEET_ALERT_EVENTGRID_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
      }).eventGrid,
    ).toEqual({
      endpoint,
      auth: {
        kind: 'identity',
        credential: 'default',
        clientId: '00000000-0000-0000-0000-000000000001',
      },
    });
    expect(
      problemsOf({
        CERTFLEET_ALERT_EVENTGRID_ENDPOINT: endpoint,
        CERTFLEET_ALERT_EVENTGRID_KEY: 'k3y',
        CERTFLEET_ALERT_EVENTGRID_CREDENTIAL: 'managedidentity',
      }),
    ).toEqual([
      'CERTFLEET_ALERT_EVENTGRID_KEY: set together with CERTFLEET_ALERT_EVENTGRID_CREDENTIAL; use one',
    ]);
    expect(problemsOf({ CERTFLEET_ALERT_EVENTGRID_KEY: 'k3y' })).toEqual([
      'CERTFLEET_ALERT_EVENTGRID_ENDPOINT: required with an Event Grid key or credential',
    ]);
  });

  it('changes the rules from settings, in days, hours and minutes', () => {
    const { rules } = loadAlertSettings({
      CERTFLEET_ALERT_WARNING_DAYS: '28',
      CERTFLEET_ALERT_CRITICAL_DAYS: '7',
      CERTFLEET_ALERT_OVERDUE_HOURS: '12',
      CERTFLEET_ALERT_SILENT_DAYS: '3',
      CERTFLEET_ALERT_ROLLUP_THRESHOLD: '50',
      CERTFLEET_ALERT_HOLD_MINUTES: '1',
    });

    expect(rules).toEqual({
      ...DEFAULT_ALERT_SETTINGS,
      warningWindowMs: 28 * DAY_MS,
      criticalWindowMs: 7 * DAY_MS,
      overdueAfterMs: 12 * HOUR_MS,
      silentAfterMs: 3 * DAY_MS,
      rollUpThreshold: 50,
      rollUpHoldMs: MINUTE_MS,
      rollUpHoldCriticalMs: MINUTE_MS,
    });
  });

  it('names every wrong setting at once and never repeats a value', () => {
    const problems = problemsOf({
      CERTFLEET_ALERT_WEBHOOK_URL: 'http://ops.contoso.example/hook?token=s3cr3t',
      CERTFLEET_ALERT_WEBHOOK_SECRET: 'short',
      CERTFLEET_ALERT_TEAMS_URL: 'not a url s3cr3t',
      CERTFLEET_ALERT_SLACK_URL: 'https://user:s3cr3t@hooks.slack.com/x',
      CERTFLEET_ALERT_WARNING_DAYS: '2',
      CERTFLEET_ALERT_CRITICAL_DAYS: '3',
      CERTFLEET_ALERT_ROLLUP_THRESHOLD: 'lots',
    });

    expect(problems).toEqual([
      'CERTFLEET_ALERT_ROLLUP_THRESHOLD: must be devices from 2 to 1000000',
      'CERTFLEET_ALERT_CRITICAL_DAYS: must be shorter than the warning window (CERTFLEET_ALERT_WARNING_DAYS, default 14)',
      'CERTFLEET_ALERT_WEBHOOK_URL: must be an https URL (http only to a loopback address)',
      'CERTFLEET_ALERT_WEBHOOK_SECRET: must be at least 16 characters',
      'CERTFLEET_ALERT_TEAMS_URL: must be an absolute https URL',
      'CERTFLEET_ALERT_SLACK_URL: must not carry a user name or password',
    ]);
    expect(problems.join('\n')).not.toContain('s3cr3t');
  });

  it('lets the webhook use plain http only to a loopback address, as a local run does', () => {
    expect(
      loadAlertSettings({ CERTFLEET_ALERT_WEBHOOK_URL: 'http://127.0.0.1:8123/alerts' }).webhook,
    ).toEqual({ url: 'http://127.0.0.1:8123/alerts' });
  });
});
