import 'reflect-metadata';
import { AccessToken, TokenCredential } from '@azure/identity';
import * as x509 from '@peculiar/x509';
import { AlertSinkFailed } from '../../../shared/app/ports';
import { EventGridSink, eventTypeOf } from '../../../shared/adapters/alerts/EventGridSink';
import { generateKeys, privateKeyPem } from '../../../shared/local/LocalCa';
import { aDeviceNotification, aFleetNotification } from './notifications';
import { recordingServer, RecordingServer } from '../../support/recordingServer';

/**
 * The Event Grid sink through the real SDK client, against a local HTTPS endpoint standing in
 * for a topic: it checks the CloudEvents 1.0 envelope and the credential the way Event Grid
 * does (`aeg-sas-key` for an access key, `Authorization: Bearer` for Entra ID), answering 401
 * to anything else. The endpoint's self-signed certificate is trusted through the client's
 * options, for this client only.
 */

const KEY = 'topic-access-key-0123456789abcdefghijklmnopqrstuv=';
const TOKEN = 'eyJ0eXAiOiJKV1Qi.fake-entra-token.for-tests';
const FAR_FUTURE_MS = Date.parse('2100-01-01T00:00:00Z');

interface WireCloudEvent {
  specversion: string;
  id: string;
  type: string;
  source: string;
  subject?: string;
  time: string;
  datacontenttype: string;
  data: unknown;
}

/** A self-signed certificate for 127.0.0.1, valid for the whole century. */
async function loopbackTls(): Promise<{ key: string; cert: string }> {
  const keys = await generateKeys('P-256');
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=127.0.0.1',
    notBefore: new Date('2000-01-01T00:00:00Z'),
    notAfter: new Date('2099-12-31T23:59:59Z'),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  return { key: await privateKeyPem(keys), cert: certificate.toString('pem') };
}

function fixedToken(scopesAsked: string[]): TokenCredential {
  return {
    getToken: (scopes: string | string[]): Promise<AccessToken> => {
      scopesAsked.push(...(Array.isArray(scopes) ? scopes : [scopes]));
      return Promise.resolve({ token: TOKEN, expiresOnTimestamp: FAR_FUTURE_MS });
    },
  };
}

function failingToken(name: string): TokenCredential {
  return {
    getToken: () =>
      Promise.reject(
        Object.assign(new Error(`${name}: no identity (client secret xyz)`), { name }),
      ),
  };
}

async function failureOf(sending: Promise<unknown>): Promise<AlertSinkFailed> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof AlertSinkFailed) return error;
    throw error;
  }
  throw new Error('expected the send to fail');
}

describe('EventGridSink', () => {
  let server: RecordingServer;
  let cert: string;
  let endpoint: string;

  beforeAll(async () => {
    const tls = await loopbackTls();
    cert = tls.cert;
    server = await recordingServer(tls);
    endpoint = `${server.origin}/api/events`;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    // Event Grid's own checks: the topic key, or a bearer token.
    server.answerWith((request) =>
      request.headers['aeg-sas-key'] === KEY || request.headers.authorization === `Bearer ${TOKEN}`
        ? { status: 200 }
        : { status: 401, body: '{"error":{"code":"Unauthorized"}}' },
    );
  });

  const trustLocal = () => ({ tlsOptions: { ca: cert } });
  const withKey = (key = KEY, timeoutMs?: number) =>
    new EventGridSink({ endpoint, key, timeoutMs, clientOptions: trustLocal() });

  function sentEvents(): WireCloudEvent[] {
    expect(server.requests).toHaveLength(1);
    return JSON.parse(server.requests[0]?.body ?? '') as WireCloudEvent[];
  }

  it('is named eventgrid', () => {
    expect(withKey().name).toBe('eventgrid');
  });

  it('publishes one CloudEvent 1.0 with the topic key in aeg-sas-key', async () => {
    const notification = aDeviceNotification();

    await withKey().send(notification);

    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toMatch(/^\/api\/events\?api-version=/);
    expect(request?.headers['content-type']).toMatch(/^application\/cloudevents-batch\+json/);
    expect(request?.headers['aeg-sas-key']).toBe(KEY);
    expect(request?.headers).not.toHaveProperty('authorization');
    const events = sentEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toStrictEqual({
      specversion: '1.0',
      id: notification.id,
      type: 'Certfleet.CertificateNearExpiry',
      source: '/certfleet/hubs/hub-a/devices/dev-42',
      subject: 'certificate-expiring',
      time: '2026-03-01T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: notification,
    });
  });

  it('gives a fleet alert the fleet as its source', async () => {
    await withKey().send(aFleetNotification());

    expect(sentEvents()[0]).toMatchObject({
      source: '/certfleet/fleet',
      type: 'Certfleet.CertificateNearExpiry',
      data: { count: 240 },
    });
  });

  it('keeps a device id with reserved characters inside its path segment', async () => {
    await withKey().send(aDeviceNotification({ deviceId: 'line/7?a=b#c d' }));

    expect(sentEvents()[0]?.source).toBe('/certfleet/hubs/hub-a/devices/line%2F7%3Fa%3Db%23c%20d');
  });

  it('sends a bearer token for Entra ID, asked for Event Grid’s scope', async () => {
    const scopes: string[] = [];
    const sink = new EventGridSink({
      endpoint,
      credential: fixedToken(scopes),
      clientOptions: trustLocal(),
    });

    await sink.send(aDeviceNotification());

    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(server.requests[0]?.headers).not.toHaveProperty('aeg-sas-key');
    expect(scopes).toStrictEqual(['https://eventgrid.azure.net/.default']);
  });

  it('does not retry a wrong key (401), and never names the key', async () => {
    const failure = await failureOf(withKey('a-wrong-key').send(aDeviceNotification()));

    expect(failure.retryable).toBe(false);
    expect(failure.details).toStrictEqual({ status: 401 });
    expect(failure.message).toBe(
      `eventgrid sink ${server.origin}/… answered 401 (not retried: check the URL and credentials)`,
    );
    expect(failure.cause).toBeUndefined();
  });

  it('fails retryably on 500 after one attempt: the outbox does the retrying', async () => {
    server.answerWith({ status: 500 });

    const failure = await failureOf(withKey().send(aDeviceNotification()));

    expect(failure.retryable).toBe(true);
    expect(failure.details).toStrictEqual({ status: 500 });
    expect(server.requests).toHaveLength(1);
    expect(failure.message).not.toContain(KEY);
  });

  it('fails retryably on 429 with Retry-After in seconds', async () => {
    server.answerWith({ status: 429, headers: { 'Retry-After': '7' } });

    const failure = await failureOf(withKey().send(aDeviceNotification()));

    expect(failure.retryable).toBe(true);
    expect(failure.details).toStrictEqual({ status: 429, retryAfterMs: 7000 });
  });

  it('gives up on a topic that never answers, retryably', async () => {
    server.answerWith({ hang: true });

    const failure = await failureOf(withKey(KEY, 200).send(aDeviceNotification()));

    expect(failure.retryable).toBe(true);
    expect(failure.message).toContain('no answer within 200 ms');
  });

  it('fails retryably when nothing listens, without the SDK’s message', async () => {
    const closing = await recordingServer();
    const origin = closing.origin.replace('http:', 'https:');
    await closing.close();
    const sink = new EventGridSink({
      endpoint: `${origin}/api/events`,
      key: KEY,
      clientOptions: trustLocal(),
    });

    const failure = await failureOf(sink.send(aDeviceNotification()));

    expect(failure.retryable).toBe(true);
    expect(failure.message).toMatch(/network error/);
    expect(failure.message).not.toContain('/api/events');
  });

  it('does not retry when there is no identity to get a token from', async () => {
    const sink = new EventGridSink({
      endpoint,
      credential: failingToken('CredentialUnavailableError'),
      clientOptions: trustLocal(),
    });

    const failure = await failureOf(sink.send(aDeviceNotification()));

    expect(failure.retryable).toBe(false);
    expect(failure.message).toContain('CredentialUnavailableError');
    expect(failure.message).not.toContain('client secret');
    expect(server.requests).toHaveLength(0);
  });

  it('retries when the token service failed', async () => {
    const sink = new EventGridSink({
      endpoint,
      credential: failingToken('AuthenticationError'),
      clientOptions: trustLocal(),
    });

    expect((await failureOf(sink.send(aDeviceNotification()))).retryable).toBe(true);
  });

  it('refuses an endpoint that is not https', () => {
    expect(
      () => new EventGridSink({ endpoint: 'http://127.0.0.1:1/api/events', key: KEY }),
    ).toThrow(/must be https/);
  });
});

describe('eventTypeOf', () => {
  it.each([
    ['certificate-expiring', 'Certfleet.CertificateNearExpiry'],
    ['certificate-expired', 'Certfleet.CertificateExpired'],
    ['renewal-overdue', 'Certfleet.RenewalOverdue'],
    ['renewal-failed', 'Certfleet.RenewalFailed'],
    ['device-silent', 'Certfleet.DeviceSilent'],
    ['common-name-mismatch', 'Certfleet.SecurityFinding'],
    ['chain-untrusted', 'Certfleet.SecurityFinding'],
    ['private-key-reported', 'Certfleet.SecurityFinding'],
    ['key-not-rotated', 'Certfleet.SecurityFinding'],
    ['certificate-changed-unexpectedly', 'Certfleet.SecurityFinding'],
    ['renewals-throttled', 'Certfleet.RenewalsPaused'],
    ['issuer-outage', 'Certfleet.RenewalsPaused'],
    ['service-error', 'Certfleet.RenewalsPaused'],
    ['ca-expiring', 'Certfleet.CaNearExpiry'],
    ['renewal-capacity', 'Certfleet.RenewalCapacity'],
    ['digest', 'Certfleet.Digest'],
    ['some-future-rule', 'Certfleet.Alert'],
  ])('types a raised %s alert %s', (rule, type) => {
    expect(eventTypeOf(aDeviceNotification({ rule }))).toBe(type);
    expect(eventTypeOf(aDeviceNotification({ rule, status: 'escalated' }))).toBe(type);
  });

  it('types any resolution Certfleet.AlertResolved', () => {
    expect(eventTypeOf(aDeviceNotification({ rule: 'chain-untrusted', status: 'resolved' }))).toBe(
      'Certfleet.AlertResolved',
    );
  });

  it('types a test notification Certfleet.Test', () => {
    expect(eventTypeOf(aFleetNotification({ rule: 'test', test: true }))).toBe('Certfleet.Test');
  });
});
