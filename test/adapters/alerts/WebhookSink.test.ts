import { createHmac, timingSafeEqual } from 'node:crypto';
import { AlertSinkFailed } from '../../../shared/app/ports';
import { WebhookSink } from '../../../shared/adapters/alerts/WebhookSink';
import { aDeviceNotification, aFleetNotification } from './notifications';
import { closedOrigin, recordingServer, RecordingServer } from '../../support/recordingServer';

/**
 * The generic webhook against a real loopback receiver: the body is the notification, the
 * headers let the receiver deduplicate and verify, and a failure says nothing secret.
 */

const SECRET = 'whsec-7Hq2-signing-secret';

/** What a receiver does: recompute over the raw body, compare in constant time. */
function verifies(rawBody: string, header: string | undefined, secret: string): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(rawBody, 'utf8').digest();
  const received = Buffer.from(header.slice('sha256='.length), 'hex');
  return received.length === expected.length && timingSafeEqual(received, expected);
}

async function failureOf(sending: Promise<unknown>): Promise<AlertSinkFailed> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof AlertSinkFailed) return error;
    throw error;
  }
  throw new Error('expected the webhook to fail');
}

describe('WebhookSink', () => {
  let server: RecordingServer;

  beforeAll(async () => {
    server = await recordingServer();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.answerWith({ status: 200 });
  });

  const hookUrl = () => `${server.origin}/hooks/certfleet?token=t0k3n`;

  it('is named webhook', () => {
    expect(new WebhookSink({ url: hookUrl() }).name).toBe('webhook');
  });

  it('POSTs the notification itself as JSON, with its id as the idempotency key', async () => {
    const notification = aDeviceNotification();

    await new WebhookSink({ url: hookUrl() }).send(notification);

    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/hooks/certfleet?token=t0k3n');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['idempotency-key']).toBe(notification.id);
    expect(request?.headers['x-certfleet-event']).toBe('raised');
    expect(JSON.parse(request?.body ?? '')).toStrictEqual(notification);
  });

  it('sends a fleet alert’s count and sample, and the status of a resolution', async () => {
    const notification = aFleetNotification({ status: 'resolved' });

    await new WebhookSink({ url: hookUrl() }).send(notification);

    const [request] = server.requests;
    expect(request?.headers['x-certfleet-event']).toBe('resolved');
    expect(JSON.parse(request?.body ?? '')).toStrictEqual(notification);
  });

  it('sends only the notification’s own fields', async () => {
    const notification = { ...aDeviceNotification(), internal: 'not for receivers' };

    await new WebhookSink({ url: hookUrl() }).send(notification);

    expect(server.requests[0]?.body).not.toContain('not for receivers');
  });

  it('signs the exact body bytes with the secret, so the receiver can verify them', async () => {
    await new WebhookSink({ url: hookUrl(), secret: SECRET }).send(
      aDeviceNotification({ summary: 'Zertifikat läuft ab — “soon” <b>&</b>' }),
    );

    const [request] = server.requests;
    const signature = request?.headers['x-certfleet-signature'] as string | undefined;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifies(request?.body ?? '', signature, SECRET)).toBe(true);
    expect(verifies(request?.body ?? '', signature, 'another secret')).toBe(false);
    expect(verifies(`${request?.body ?? ''} `, signature, SECRET)).toBe(false);
    expect(JSON.stringify(request?.headers)).not.toContain(SECRET);
    expect(request?.body).not.toContain(SECRET);
  });

  it('sends no signature without a secret', async () => {
    await new WebhookSink({ url: hookUrl() }).send(aDeviceNotification());

    expect(server.requests[0]?.headers).not.toHaveProperty('x-certfleet-signature');
  });

  it('sends the same bytes and signature when a notification is retried', async () => {
    const sink = new WebhookSink({ url: hookUrl(), secret: SECRET });

    await sink.send(aDeviceNotification());
    await sink.send(aDeviceNotification());

    const [first, second] = server.requests;
    expect(second?.body).toBe(first?.body);
    expect(second?.headers['x-certfleet-signature']).toBe(first?.headers['x-certfleet-signature']);
  });

  it.each([
    [500, {}, true, { status: 500 }],
    [429, { 'Retry-After': '7' }, true, { status: 429, retryAfterMs: 7000 }],
    [404, {}, false, { status: 404 }],
  ])(
    'answers %i with a failure (retryable %s) that holds no secret, path or body',
    async (status, headers, retryable, details) => {
      server.answerWith({ status, headers, body: 'echo t0k3n' });
      const notification = aDeviceNotification();

      const failure = await failureOf(
        new WebhookSink({ url: hookUrl(), secret: SECRET }).send(notification),
      );

      expect(failure.retryable).toBe(retryable);
      expect(failure.details).toStrictEqual(details);
      expect(failure.message).toContain(`webhook sink ${server.origin}/…`);
      for (const secret of [SECRET, 't0k3n', '/hooks', notification.summary])
        expect(failure.message).not.toContain(secret);
    },
  );

  it('gives up on a receiver that never answers within its timeout, retryably', async () => {
    server.answerWith({ hang: true });

    const failure = await failureOf(
      new WebhookSink({ url: hookUrl(), secret: SECRET, timeoutMs: 150 }).send(
        aDeviceNotification(),
      ),
    );

    expect(failure.retryable).toBe(true);
    expect(failure.message).toContain('no answer within 150 ms');
    expect(failure.message).not.toContain(SECRET);
  });

  it('fails retryably when nothing listens', async () => {
    const origin = await closedOrigin();

    const failure = await failureOf(
      new WebhookSink({ url: `${origin}/hooks/certfleet?token=t0k3n`, secret: SECRET }).send(
        aDeviceNotification(),
      ),
    );

    expect(failure.retryable).toBe(true);
    expect(failure.message).not.toContain('t0k3n');
    expect(failure.message).not.toContain(SECRET);
  });
});
