import { AlertNotification, AlertSinkFailed, AlertSinkName } from '../../app/ports';

export const DEFAULT_SINK_TIMEOUT_MS = 10_000;

export interface HttpSinkPostOptions {
  /** Names the sink in error messages. */
  sink: AlertSinkName;
  /** Given up on after this long, answer body included; 10 s by default. */
  timeoutMs?: number;
  /** Node's global fetch unless given. */
  fetch?: typeof fetch;
}

/**
 * POSTs one JSON body to a sink and resolves when the receiver accepted it (2xx). `body` is
 * JSON text, sent byte for byte: the webhook signs exactly these bytes.
 *
 * Throws `AlertSinkFailed` otherwise, retryable for a timeout, a network fault, 408, 429 and
 * 5xx (with `Retry-After` in seconds as `retryAfterMs`), not for other answers: a wrong URL or
 * a revoked webhook waits for an operator. The message names the sink's origin and the status,
 * never the URL's path or query (Teams and Slack put their secret there), the body or a
 * header, and carries no `cause`, which a logger would print with its request.
 */
export async function httpSinkPost(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: HttpSinkPostOptions,
): Promise<void> {
  const site = sinkSite(url, options.sink);
  const timeoutMs = options.timeoutMs ?? DEFAULT_SINK_TIMEOUT_MS;
  const doFetch = options.fetch ?? fetch;
  let status: number;
  let retryAfter: string | null;
  try {
    const response = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'certfleet', ...headers },
      body,
      // A redirect would carry the signed body and its headers to wherever it points.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    retryAfter = response.headers.get('retry-after');
    // Read to the end so the connection can be reused; what the receiver wrote is not kept.
    await response.arrayBuffer();
  } catch (error) {
    throw new AlertSinkFailed(`${site}: ${networkFaultOf(error, timeoutMs)}`, true);
  }
  if (status >= 200 && status < 300) return;
  throw failureForStatus(site, status, retryAfter);
}

/**
 * `teams sink https://host/…`: how a sink is named in messages. Throws (without quoting the
 * URL) when the URL is not an absolute http(s) URL, or carries a user name or password, which
 * fetch would refuse by quoting it.
 */
export function sinkSite(url: string, sink: AlertSinkName): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${sink} sink: the URL is not an absolute URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new Error(`${sink} sink: the URL must be http(s), not ${parsed.protocol}`);
  if (parsed.username || parsed.password)
    throw new Error(`${sink} sink: the URL must not carry a user name or password`);
  return `${sink} sink ${parsed.protocol}//${parsed.host}/…`;
}

/** What a status other than 2xx means for the outbox: try again later, or wait for a person. */
export function failureForStatus(
  site: string,
  status: number,
  retryAfter: string | null | undefined,
): AlertSinkFailed {
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterMs = retryable ? retryAfterMsOf(retryAfter) : undefined;
  const why =
    status >= 300 && status < 400
      ? 'a redirect, which certfleet does not follow; configure the final URL'
      : retryable
        ? 'will retry'
        : 'not retried: check the URL and credentials';
  return new AlertSinkFailed(`${site} answered ${status} (${why})`, retryable, {
    status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/**
 * `Retry-After` in seconds, as milliseconds. An HTTP date is left to the outbox's own backoff:
 * the receivers certfleet posts to (Slack, Power Automate, Event Grid) send seconds.
 */
export function retryAfterMsOf(value: string | null | undefined): number | undefined {
  const text = value?.trim();
  return text && /^\d{1,9}$/.test(text) ? Number(text) * 1000 : undefined;
}

/** A failed fetch by name: our own timeout, or the network error's code, never its message. */
function networkFaultOf(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; cause?: { code?: unknown; name?: unknown } } | undefined;
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms (will retry)`;
  if (e?.name === 'AbortError') return 'request aborted (will retry)';
  const code = e?.cause?.code ?? e?.cause?.name ?? e?.name;
  return `network error ${typeof code === 'string' ? code : 'unknown'} (will retry)`;
}

/** Where a chat sink posts, and how long it waits. */
export interface ChatSinkOptions {
  url: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * A sink that posts one JSON message per notification to a URL that authorises by itself (Teams
 * Workflows, Slack incoming webhooks): each says only how a notification looks as its message.
 */
export abstract class ChatSink {
  abstract readonly name: AlertSinkName;
  private readonly url: string;
  private readonly timeoutMs: number | undefined;
  private readonly fetch: typeof fetch | undefined;

  constructor(options: ChatSinkOptions, name: AlertSinkName) {
    sinkSite(options.url, name);
    this.url = options.url;
    this.timeoutMs = options.timeoutMs;
    this.fetch = options.fetch;
  }

  protected abstract messageOf(notification: AlertNotification): object;

  async send(notification: AlertNotification): Promise<void> {
    await httpSinkPost(
      this.url,
      JSON.stringify(this.messageOf(notification)),
      {},
      {
        sink: this.name,
        ...(this.timeoutMs !== undefined ? { timeoutMs: this.timeoutMs } : {}),
        ...(this.fetch ? { fetch: this.fetch } : {}),
      },
    );
  }
}
