import { AlertRelay } from '../../../shared/app/alerts/AlertRelay';
import { DEFAULT_DELIVERY_POLICY, DeliverAlerts } from '../../../shared/app/alerts/DeliverAlerts';
import { AlertDelivery } from '../../../shared/app/ports';
import { SlackSink } from '../../../shared/adapters/alerts/SlackSink';
import { TeamsSink } from '../../../shared/adapters/alerts/TeamsSink';
import { WebhookSink } from '../../../shared/adapters/alerts/WebhookSink';
import { AlertCondition } from '../../../shared/domain/alerts/AlertCondition';
import { DEFAULT_ALERT_SETTINGS } from '../../../shared/domain/alerts/AlertSettings';
import { alertAuditEntry } from '../../../shared/domain/alerts/evaluateAlerts';
import { nextAlertStates } from '../../../shared/domain/alerts/nextAlertStates';
import { HOUR_MS, MINUTE_MS, ManualClock } from '../../../shared/domain/Clock';
import { InMemoryAlertStore } from '../../support/InMemoryAlertStore';
import { InMemoryAuditTrail } from '../../support/memoryPorts';
import { RecordingServer, recordingServer } from '../../support/recordingServer';

/**
 * The notification outbox against real HTTP receivers on loopback, each behind its own sink:
 * the webhook's receiver fails for two hours and then recovers, Teams' is slow (answers after
 * the sink's timeout at first, then in time), Slack's answers 500 forever. The clock is moved
 * a minute at a time, as the delivery timer would run.
 */
const START = '2026-11-27T06:00:00.000Z';

function conditions(): AlertCondition[] {
  return ['meter-1', 'meter-2', 'meter-3'].map((deviceId) => ({
    rule: 'certificate-expiring',
    severity: 'critical',
    scope: 'device',
    subject: `contoso-hub/${deviceId}`,
    summary: `Device ${deviceId} in contoso-hub: expires at 2026-11-30T00:00:00.000Z and its renewal is failing.`,
    hub: 'contoso-hub',
    deviceId,
    validUntil: '2026-11-30T00:00:00.000Z',
    cause: `issuer=CN=Contoso Issuing CA;cohort=;expires=2026-11-30;device=${deviceId}`,
  }));
}

describe('delivery to real receivers on loopback', () => {
  let recovering: RecordingServer;
  let slow: RecordingServer;
  let broken: RecordingServer;

  beforeEach(async () => {
    [recovering, slow, broken] = await Promise.all([
      recordingServer(),
      recordingServer(),
      recordingServer(),
    ]);
  });

  afterEach(async () => {
    await Promise.all([recovering.close(), slow.close(), broken.close()]);
  });

  it('reaches the recovering and the slow receiver exactly once each, and keeps retrying the broken one without end', async () => {
    const clock = new ManualClock(START);
    const recoversAt = Date.parse(START) + 2 * HOUR_MS;
    const acceptedByWebhook: string[] = [];
    recovering.answerWith((request) => {
      if (clock.now().getTime() < recoversAt) return { status: 503 };
      acceptedByWebhook.push(String(request.headers['idempotency-key']));
      return { status: 200 };
    });
    let slowAnswers = 0;
    const acceptedByTeams: string[] = [];
    slow.answerWith((request) => {
      if ((slowAnswers += 1) <= 2) return { hang: true };
      acceptedByTeams.push(request.body);
      return { status: 202 };
    });
    broken.answerWith({ status: 500, body: 'internal error' });

    const store = new InMemoryAlertStore();
    const audit = new InMemoryAuditTrail();
    const lines: string[] = [];
    const log = { info: (l: string) => lines.push(l), error: (l: string) => lines.push(l) };
    const sinks = [
      new WebhookSink({
        url: `${recovering.origin}/hooks/certfleet`,
        secret: 'a-secret-of-sixteen+',
      }),
      new TeamsSink({ url: `${slow.origin}/workflows/abc?sig=secret`, timeoutMs: 300 }),
      new SlackSink({ url: `${broken.origin}/services/T000/B000/XXXX` }),
    ];
    const settings = { ...DEFAULT_ALERT_SETTINGS, rollUpHoldCriticalMs: 0 };
    const relay = new AlertRelay({
      store,
      audit,
      sinks: sinks.map((s) => s.name),
      log,
      settings,
    });
    const delivery = new DeliverAlerts({
      store,
      sinks,
      audit,
      relay,
      log,
      clock,
      settings,
      policy: DEFAULT_DELIVERY_POLICY,
    });
    const { transitions } = nextAlertStates([], conditions(), START);
    await audit.append(
      transitions.map((t) => alertAuditEntry(t, START)),
      { mayAlreadyBeWritten: false },
    );
    await relay.accept(transitions);
    // Handed over again (a retried invocation): nothing is queued twice.
    await relay.accept(transitions);

    for (let minute = 0; minute <= 4 * 60; minute += 1) {
      clock.set(new Date(Date.parse(START) + minute * MINUTE_MS));
      await delivery.deliver();
    }

    const ids = transitions.map((t) => t.id).sort();
    // The webhook: refused for two hours, then each notification once (by idempotency key).
    expect(recovering.requests.length).toBeGreaterThan(3);
    expect([...acceptedByWebhook].sort()).toEqual(ids);
    // Teams: two answers that never came (timeouts), then each notification once.
    expect(acceptedByTeams).toHaveLength(3);
    expect(new Set(acceptedByTeams).size).toBe(3);
    // Slack: still tried four hours on, with backoff (not every minute), never settled.
    expect(broken.requests.length).toBeGreaterThan(5);
    expect(broken.requests.length).toBeLessThan(40);

    const deliveries: AlertDelivery[] = [];
    for await (const d of store.listDeliveries()) deliveries.push(d);
    const state = (sink: string) =>
      deliveries
        .filter((d) => d.sink === sink)
        .map((d) => d.state)
        .sort();
    expect(state('webhook')).toEqual(['delivered', 'delivered', 'delivered']);
    expect(state('teams')).toEqual(['delivered', 'delivered', 'delivered']);
    expect(state('slack')).toEqual(['pending', 'pending', 'pending']);
    // Delivered is audited once per sink and notification; failures are logged, never a URL.
    const delivered = audit.all().filter((e) => e.type === 'alert.delivered');
    expect(delivered).toHaveLength(6);
    const failures = lines.filter((l) => l.startsWith('CERTFLEET_ALERT_DELIVERY_FAILED'));
    expect(failures.length).toBeGreaterThan(5);
    expect(failures.join('\n')).not.toMatch(/hooks\/certfleet|sig=secret|T000|a-secret-of-sixteen/);
  }, 60_000);
});
