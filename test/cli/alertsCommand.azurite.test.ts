import { createHmac } from 'node:crypto';
import { useServices } from '../../shared/services';
import { RecordingServer, closedOrigin, recordingServer } from '../support/recordingServer';
import { certfleet } from '../support/runCli';
import { testEnvironment } from '../support/testStorage';

/** `certfleet alerts test`: a test notification to every configured sink, and each answer. */
describe('certfleet alerts test', () => {
  const saved = { ...process.env };
  const SECRET = 'a-webhook-secret-for-tests';
  let receiver: RecordingServer;

  beforeEach(async () => {
    useServices(undefined);
    receiver = await recordingServer();
  });

  afterEach(async () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await receiver.close();
  });

  function configure(env: Record<string, string>): void {
    Object.assign(process.env, testEnvironment(env));
  }

  it('sends a signed test notification to the webhook and reports it accepted', async () => {
    configure({
      CERTFLEET_ALERT_WEBHOOK_URL: `${receiver.origin}/hooks/certfleet`,
      CERTFLEET_ALERT_WEBHOOK_SECRET: SECRET,
    });

    const run = await certfleet('alerts', 'test');

    expect(run).toMatchObject({ code: 0, stdout: 'webhook: accepted\n' });
    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ rule: 'test', test: true, status: 'raised', scope: 'fleet' });
    expect(request!.headers['x-certfleet-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(request!.body).digest('hex')}`,
    );
  });

  it('reports each sink, and exits 1 when one fails, naming no secret', async () => {
    receiver.answerWith({ status: 500 });
    const slack = `${(await closedOrigin()).replace('http:', 'https:')}/services/T0/B0/s3cr3tpath`;
    configure({
      CERTFLEET_ALERT_WEBHOOK_URL: `${receiver.origin}/hooks/certfleet`,
      CERTFLEET_ALERT_SLACK_URL: slack,
    });

    const run = await certfleet('alerts', 'test');

    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^webhook: FAILED: .*500.* \(worth retrying\)$/);
    expect(lines[1]).toMatch(/^slack: FAILED: /);
    expect(run.stderr).toBe('certfleet: 2 of 2 sinks failed the test\n');
    expect(run.stdout + run.stderr).not.toMatch(/s3cr3tpath|hooks\/certfleet/);
  });

  it('exits 1 and names the settings when no sink is configured', async () => {
    configure({});

    const run = await certfleet('alerts', 'test');

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^certfleet: no alert sink is configured \(CERTFLEET_ALERT_WEBHOOK_URL/,
    );
  });
});
