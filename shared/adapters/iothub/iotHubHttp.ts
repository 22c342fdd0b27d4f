// Speaking to IoT Hub's REST API, shared by the direct-method and twin-query adapters: the
// request they send, and reading what the hub (or the network on the way) answered.

/**
 * The fetch options of a call to IoT Hub's REST API: a JSON POST with the hub's Authorization
 * header (IotHubAccess.authorizationFor), a JSON answer expected, given up on after
 * `timeoutMs`. `headers` adds a call's own headers, such as the twin query's paging.
 */
export function iotHubRequest(
  authorization: string,
  body: unknown,
  timeoutMs: number,
  headers: Record<string, string> = {},
): RequestInit {
  return {
    method: 'POST',
    headers: {
      authorization,
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      'user-agent': 'certfleet',
      ...headers,
    },
    body: JSON.stringify(body),
    // IoT Hub is not known to redirect; following one would hand the token to another host.
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  };
}

/** `Retry-After` as seconds or an HTTP date, or Azure's `retry-after-ms`; undefined if absent. */
export function retryAfterOf(headers: Headers, now: Date): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = headers.get(name)?.trim();
    if (ms && /^\d+$/.test(ms)) return Number(ms);
  }
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

/** Names a failed fetch: its own timeout, or the network error code under `cause`. */
export function networkFault(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError') return 'no answer in time (certfleet timed out)';
  if (e?.name === 'AbortError') return 'request aborted';
  const cause = e?.cause?.code ?? e?.cause?.name;
  return `network error (${cause ?? e?.name ?? 'unknown'}${e?.message ? `: ${shorten(e.message)}` : ''})`;
}

/**
 * Why no Entra ID token could be had. `CredentialUnavailableError` means there is no identity
 * here to use: configuration, not a hiccup.
 */
export function tokenFailure(error: unknown, hub: string): { transient: boolean; reason: string } {
  const name = (error as Error | undefined)?.name ?? 'Error';
  return {
    transient: name !== 'CredentialUnavailableError',
    reason: `no Entra ID token for hub ${hub}: ${name}: ${shorten((error as Error | undefined)?.message)}`,
  };
}

export function shorten(text: string | undefined): string {
  if (!text) return '';
  const line = text.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
