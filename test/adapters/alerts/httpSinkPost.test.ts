import { AlertSinkFailed } from '../../../shared/app/ports';
import { httpSinkPost, sinkSite } from '../../../shared/adapters/alerts/httpSinkPost';
import { closedOrigin, recordingServer, RecordingServer } from '../../support/recordingServer';

/**
 * The POST every HTTP sink shares, against a real loopback server: what counts as delivered,
 * which failures the outbox retries, and that no message names more than the sink's origin.
 */

// Shaped like a Workflows URL: the signature that authorises posting is in the query.
const SECRET_PATH = '/workflows/7f3c/triggers/manual/paths/invoke';
const SECRET_QUERY = '?api-version=2016-06-01&sig=S3cr3tS1gnature';
const BODY = JSON.stringify({ summary: 'body text that must stay out of errors' });

async function failureOf(sending: Promise<unknown>): Promise<AlertSinkFailed> {
  try {
    await sending;
  } catch (error) {
    if (error instanceof AlertSinkFailed) return error;
    throw error;
  }
  throw new Error('expected the POST to fail');
}

function expectNothingSecretIn(message: string): void {
  expect(message).not.toContain('S3cr3tS1gnature');
  expect(message).not.toContain('/workflows');
  expect(message).not.toContain('sig=');
  expect(message).not.toContain('body text');
}

describe('httpSinkPost', () => {
  let server: RecordingServer;
  let url: string;

  beforeAll(async () => {
    server = await recordingServer();
    url = `${server.origin}${SECRET_PATH}${SECRET_QUERY}`;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.answerWith({ status: 200 });
  });

  const post = (timeoutMs?: number) =>
    httpSinkPost(url, BODY, { 'X-Extra': 'yes' }, { sink: 'teams', timeoutMs });

  it('POSTs the body byte for byte as JSON with the given headers, and resolves on 2xx', async () => {
    server.answerWith({ status: 202, body: 'accepted' });

    await expect(post()).resolves.toBeUndefined();

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(`${SECRET_PATH}${SECRET_QUERY}`);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-extra']).toBe('yes');
    expect(request?.body).toBe(BODY);
  });

  it('resolves on 204 No Content', async () => {
    server.answerWith({ status: 204 });
    await expect(post()).resolves.toBeUndefined();
  });

  it('fails retryably on 500, naming only the origin and the status', async () => {
    server.answerWith({ status: 500, body: `echo ${BODY} ${SECRET_QUERY}` });

    const failure = await failureOf(post());

    expect(failure.retryable).toBe(true);
    expect(failure.details).toStrictEqual({ status: 500 });
    expect(failure.message).toContain(`teams sink ${server.origin}/…`);
    expect(failure.message).toContain('500');
    expectNothingSecretIn(failure.message);
  });

  it('fails retryably on 429 and reads Retry-After in seconds', async () => {
    server.answerWith({ status: 429, headers: { 'Retry-After': '7' } });

    const failure = await failureOf(post());

    expect(failure.retryable).toBe(true);
    expect(failure.details).toStrictEqual({ status: 429, retryAfterMs: 7000 });
  });

  it('fails retryably on 408 and 503, without a Retry-After it cannot read', async () => {
    server.answerWith({ status: 408 });
    expect((await failureOf(post())).retryable).toBe(true);

    server.answerWith({ status: 503, headers: { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' } });
    const failure = await failureOf(post());
    expect(failure.retryable).toBe(true);
    expect(failure.details).toStrictEqual({ status: 503 });
  });

  it('does not retry 404 (a deleted webhook) or 401', async () => {
    server.answerWith({ status: 404, body: 'no_service' });
    const notFound = await failureOf(post());
    expect(notFound.retryable).toBe(false);
    expect(notFound.details).toStrictEqual({ status: 404 });
    expectNothingSecretIn(notFound.message);

    server.answerWith({ status: 401, headers: { 'Retry-After': '5' } });
    const unauthorised = await failureOf(post());
    expect(unauthorised.retryable).toBe(false);
    expect(unauthorised.details).toStrictEqual({ status: 401 });
  });

  it('does not follow a redirect, and does not retry it', async () => {
    server.answerWith((request) =>
      request.path.startsWith('/elsewhere')
        ? { status: 200 }
        : { status: 302, headers: { Location: '/elsewhere' } },
    );

    const failure = await failureOf(post());

    expect(failure.retryable).toBe(false);
    expect(failure.details.status).toBe(302);
    expect(server.requests.map((r) => r.path)).toStrictEqual([`${SECRET_PATH}${SECRET_QUERY}`]);
  });

  it('gives up on a receiver that never answers, retryably', async () => {
    server.answerWith({ hang: true });

    const failure = await failureOf(post(200));

    expect(failure.retryable).toBe(true);
    expect(failure.details).toStrictEqual({});
    expect(failure.message).toContain('no answer within 200 ms');
    expectNothingSecretIn(failure.message);
  });

  it('fails retryably when the connection is refused', async () => {
    const origin = await closedOrigin();

    const failure = await failureOf(
      httpSinkPost(`${origin}${SECRET_PATH}${SECRET_QUERY}`, BODY, {}, { sink: 'slack' }),
    );

    expect(failure.retryable).toBe(true);
    expect(failure.message).toContain(`slack sink ${origin}/…`);
    expect(failure.message).toContain('ECONNREFUSED');
    expectNothingSecretIn(failure.message);
  });

  it('keeps a network error’s own message, which may quote the URL, out of its message', async () => {
    const leakyFetch: typeof fetch = () =>
      Promise.reject(
        new TypeError(`fetch failed for ${url}`, {
          cause: Object.assign(new Error(`socket hang up ${url}`), { code: 'ECONNRESET' }),
        }),
      );

    const failure = await failureOf(
      httpSinkPost(url, BODY, {}, { sink: 'teams', fetch: leakyFetch }),
    );

    expect(failure.retryable).toBe(true);
    expect(failure.message).toContain('ECONNRESET');
    expect(failure.cause).toBeUndefined();
    expectNothingSecretIn(failure.message);
  });
});

describe('sinkSite', () => {
  it('names the sink and its origin, never the path or query', () => {
    expect(sinkSite('https://hooks.slack.com/services/T0/B0/XyZsecret?x=1', 'slack')).toBe(
      'slack sink https://hooks.slack.com/…',
    );
  });

  it('refuses a URL that is not absolute without quoting it', () => {
    expect(() => sinkSite('hooks.slack.com/services/T0/B0/XyZsecret', 'slack')).toThrow(
      /^slack sink: the URL is not an absolute URL$/,
    );
  });

  it('refuses credentials in the URL and schemes other than http(s)', () => {
    expect(() => sinkSite('https://user:pa55@example.com/hook', 'webhook')).toThrow(
      /user name or password/,
    );
    expect(() => sinkSite('https://user:pa55@example.com/hook', 'webhook')).not.toThrow(/pa55/);
    expect(() => sinkSite('ftp://example.com/hook', 'webhook')).toThrow(/http\(s\)/);
  });
});
