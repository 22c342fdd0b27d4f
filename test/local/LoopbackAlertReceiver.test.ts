import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { WebhookSink } from '../../shared/adapters/alerts/WebhookSink';
import { AlertSinkFailed } from '../../shared/app/ports';
import { LoopbackAlertReceiver } from '../../shared/local/LoopbackAlertReceiver';
import { aDeviceNotification, aFleetNotification } from '../adapters/alerts/notifications';

/**
 * The local run's webhook receiver, over real loopback HTTP: it takes what certfleet's webhook
 * sink sends, and turns away what a real receiver must.
 */

/** A POST as any client could make it; `secret` signs the body unless a signature is given. */
async function post(
  receiver: LoopbackAlertReceiver,
  body: string,
  options: { secret?: string; signature?: string; key?: string } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature =
    options.signature ??
    (options.secret !== undefined
      ? `sha256=${createHmac('sha256', options.secret).update(body, 'utf8').digest('hex')}`
      : undefined);
  if (signature !== undefined) headers['x-certfleet-signature'] = signature;
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  const response = await fetch(receiver.url, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe('LoopbackAlertReceiver', () => {
  let receiver: LoopbackAlertReceiver;

  beforeEach(async () => {
    receiver = new LoopbackAlertReceiver();
    await receiver.start();
  });
  afterEach(() => receiver.stop());

  it('listens on 127.0.0.1 on a free port', () => {
    expect(receiver.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/alerts$/);
    expect(receiver.url).not.toBe('http://127.0.0.1:0/alerts');
  });

  it('accepts what the webhook sink signs and sends, and keeps the notification', async () => {
    const sink = new WebhookSink(receiver.webhook());
    const device = aDeviceNotification();
    const fleet = aFleetNotification();

    await sink.send(device);
    await sink.send(fleet);

    expect(receiver.notifications).toEqual([
      expect.objectContaining({ id: device.id, alertId: device.alertId, deviceId: 'dev-42' }),
      expect.objectContaining({ id: fleet.id, scope: 'fleet', count: 240 }),
    ]);
    expect(receiver).toMatchObject({ duplicates: 0, badSignatures: 0, malformed: 0 });
  });

  it('rejects a body signed with another secret, or not signed, with 401, and keeps nothing', async () => {
    const body = JSON.stringify(aDeviceNotification());
    const key = aDeviceNotification().id;

    const wrongSecret = await post(receiver, body, { secret: 'not-the-run-secret', key });
    const unsigned = await post(receiver, body, { key });
    const notHex = await post(receiver, body, { signature: 'sha256=zz', key });

    expect([wrongSecret.status, unsigned.status, notHex.status]).toEqual([401, 401, 401]);
    expect(receiver.notifications).toEqual([]);
    expect(receiver.badSignatures).toBe(3);
  });

  it('checks the signature over the raw bytes: a body changed after signing is refused', async () => {
    const { secret } = receiver.webhook();
    const signed = JSON.stringify(aDeviceNotification());
    const signature = `sha256=${createHmac('sha256', secret).update(signed).digest('hex')}`;
    const reordered = JSON.stringify(
      aDeviceNotification(),
      Object.keys(aDeviceNotification()).reverse(),
    );

    const answer = await post(receiver, reordered, { signature, key: aDeviceNotification().id });

    expect(answer.status).toBe(401);
    expect(receiver.notifications).toEqual([]);
  });

  it('a webhook sink with the wrong secret fails for good (401 is not retried)', async () => {
    const sink = new WebhookSink({ url: receiver.url, secret: 'a-stale-secret' });

    const failure = await sink.send(aDeviceNotification()).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(AlertSinkFailed);
    expect(failure).toMatchObject({ retryable: false, details: { status: 401 } });
  });

  it('deduplicates on the Idempotency-Key: a repeated delivery is answered 200, counted, not kept', async () => {
    const sink = new WebhookSink(receiver.webhook());
    const notification = aDeviceNotification();

    await sink.send(notification);
    await sink.send(notification);
    await sink.send({ ...notification, id: 'tr-another-transition-of-the-alert' });

    expect(receiver.notifications.map((n) => n.id)).toEqual([
      notification.id,
      'tr-another-transition-of-the-alert',
    ]);
    expect(receiver.duplicates).toBe(1);
  });

  it('answers 400 to a signed body that is not JSON, or not a notification, or not under its key', async () => {
    const { secret } = receiver.webhook();
    const n = aDeviceNotification();

    const notJson = await post(receiver, 'certificate expiring!', { secret, key: n.id });
    const notNotification = await post(receiver, JSON.stringify({ id: n.id }), {
      secret,
      key: n.id,
    });
    const noKey = await post(receiver, JSON.stringify(n), { secret });
    const otherKey = await post(receiver, JSON.stringify(n), { secret, key: 'tr-other' });

    expect([notJson, notNotification, noKey, otherKey].map((a) => a.status)).toEqual([
      400, 400, 400, 400,
    ]);
    expect(receiver.notifications).toEqual([]);
    expect(receiver.malformed).toBe(4);
    expect(receiver.badSignatures).toBe(0);
  });

  it('answers 405 to other methods and 404 to other paths', async () => {
    const get = await fetch(receiver.url);
    const elsewhere = await fetch(receiver.url.replace('/alerts', '/other'), {
      method: 'POST',
      body: '{}',
    });

    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(elsewhere.status).toBe(404);
  });

  it('makes a new secret for each receiver and never shows it', async () => {
    const other = new LoopbackAlertReceiver();
    await other.start();
    const { secret } = receiver.webhook();
    const otherSecret = other.webhook().secret;
    await other.stop();

    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(otherSecret).not.toBe(secret);
    expect(inspect(receiver, { depth: 5, showHidden: true })).not.toContain(secret);
    expect(JSON.stringify(receiver)).not.toContain(secret);
    expect(String(receiver)).not.toContain(secret);
  });

  it('stops listening on stop(), and keeps what it received', async () => {
    const sink = new WebhookSink(receiver.webhook());
    await sink.send(aDeviceNotification());
    const { url } = receiver.webhook();

    await receiver.stop();

    await expect(sink.send(aFleetNotification())).rejects.toMatchObject({ retryable: true });
    expect(receiver.notifications).toHaveLength(1);
    expect(() => receiver.url).toThrow('not started');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});
